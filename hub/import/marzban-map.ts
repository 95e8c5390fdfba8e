// What a Marzban database becomes in boxfleet, decided before anything is written (pure: the
// dry run prints it, the import writes it). The rules, also in the README ("Moving from Marzban"):
// - A user keeps its credentials: the VLESS id (else the VMess id) as uuid, the Trojan password
//   (else the Shadowsocks one) as password, each only if boxfleet's patterns (SyncUser) accept it.
//   A credential that cannot be kept is replaced by a new one and reported; a user none of whose
//   credentials can be kept is not imported (its clients could not connect anyway).
// - Status: disabled → user disabled; limited → subscription suspended for quota; expired →
//   subscription expired; on_hold (a period that starts at first use, which boxfleet has not) →
//   active, its period starting at the import, so the user still gets all of it.
// - Unlimited traffic → the largest limit a plan holds; no expiry → a period of MAX_DAYS.
// - Users, plans and admins that already exist (by name, compared without case) are left as they are.
import { SS_LEGACY_METHODS, SyncUser } from '../../plugins/singbox-config/contract.js';
import { USERNAME_PATTERN } from '../admins.js';
import { newCredentials } from '../users.js';
import type { SubscriptionStatus } from '../db/models.js';
import type { ResetPolicy } from '../reset-policies.js';
import type { MarzbanData, MarzbanReset, MarzbanUser } from './marzban-source.js';
import type { PlanMapRule } from './marzban-plan-map.js';

export const DAY_MS = 86_400_000;
/** The longest plan a boxfleet plan holds (its duration_days maximum): a user who never expires gets it. */
export const MAX_DAYS = 3650;
/** The largest traffic limit a plan holds: an unlimited user gets it. */
export const UNLIMITED_BYTES = Number.MAX_SAFE_INTEGER;

export const RESET_OF: Record<MarzbanReset, ResetPolicy> = {
  no_reset: 'none',
  day: 'daily',
  week: 'weekly',
  // Marzban's month is 30 days from the last reset.
  month: 'rolling_30d',
  year: 'yearly',
};

const matches = (pattern: string) => {
  const re = new RegExp(pattern);
  return (value: unknown): value is string => typeof value === 'string' && re.test(value);
};
const validName = matches(SyncUser.properties.name.pattern!);
const validUuid = matches(SyncUser.properties.uuid.pattern!);
const validPassword = matches(SyncUser.properties.password.pattern!);
const validAdminName = matches(USERNAME_PATTERN);
/** Marzban hashes admin passwords with bcrypt, which boxfleet checks too. */
const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
/** Marzban's name for what sing-box calls xchacha20-ietf-poly1305. */
const SS_METHOD_NAMES: Record<string, string> = { 'xchacha20-poly1305': 'xchacha20-ietf-poly1305' };

export interface PlanShape {
  traffic_limit_bytes: number;
  duration_days: number;
  reset_policy: ResetPolicy;
}

export interface PlannedPlan extends PlanShape {
  name: string;
  /** Set when the plan exists in boxfleet already (mapped by --plan-map, or made by an earlier import). */
  id: number | null;
  users: number;
}

export interface PlannedUser {
  name: string;
  note: string;
  status: 'active' | 'disabled';
  uuid: string;
  password: string;
  ss_key: string;
  sub_token: string;
  plan: string;
  subscription: {
    start_time: number;
    end_time: number;
    traffic_used_bytes: number;
    traffic_total_bytes: number;
    status: SubscriptionStatus;
    suspended_reason: 'quota' | null;
    last_reset_at: number;
  };
}

export interface PlannedAdmin {
  username: string;
  role: 'owner' | 'operator';
  /** Marzban's bcrypt hash, which proves the admin when they set a new password; null: none usable. */
  password_hash: string | null;
}

/** A record named by kind and name, with why it is reported. */
export interface Finding {
  record: string;
  reason: string;
}

export interface ImportPlan {
  users: PlannedUser[];
  plans: PlannedPlan[];
  admins: PlannedAdmin[];
  /** Already in boxfleet, left as they are. */
  present: { users: string[]; admins: string[] };
  /** Not imported, and why. */
  unmappable: Finding[];
  /** Imported, with something that could not be kept as it was. */
  changed: Finding[];
  /** Shadowsocks users by method: boxfleet sets the method per inbound. */
  ssMethods: Record<string, number>;
}

export interface Existing {
  /** Lower-cased names. */
  userNames: Set<string>;
  adminNames: Set<string>;
  /** Lower-cased uuid → the boxfleet user that has it. */
  uuids: Map<string, string>;
  /** Lower-cased name → the plan. */
  plans: Map<string, { id: number; name: string } & PlanShape>;
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
function bytesText(bytes: number): string {
  if (bytes === UNLIMITED_BYTES) return 'unlimited';
  if (bytes % GIB === 0) return `${bytes / GIB} GiB`;
  if (bytes % MIB === 0) return `${bytes / MIB} MiB`;
  return `${bytes} B`;
}

/** A derived plan's name, readable in the plan list: "Marzban 50 GiB · 30 days · rolling_30d". */
export function planName(shape: PlanShape): string {
  const days = shape.duration_days === MAX_DAYS ? 'no expiry' : `${shape.duration_days} days`;
  return `Marzban ${bytesText(shape.traffic_limit_bytes)} · ${days} · ${shape.reset_policy}`;
}

/** Where the user's period starts and ends, and its length in days (a plan's duration). */
function period(user: MarzbanUser, now: number): { start: number; end: number; days: number } {
  if (user.status === 'on_hold') {
    const seconds = user.on_hold_expire_duration ?? 0;
    const days = seconds > 0 ? Math.min(MAX_DAYS, Math.max(1, Math.ceil((seconds * 1000) / DAY_MS))) : MAX_DAYS;
    return { start: now, end: seconds > 0 ? now + seconds * 1000 : now + MAX_DAYS * DAY_MS, days };
  }
  const start = user.created_at ?? now;
  if (!user.expire) return { start, end: now + MAX_DAYS * DAY_MS, days: MAX_DAYS };
  const end = user.expire * 1000;
  return { start, end, days: Math.min(MAX_DAYS, Math.max(1, Math.round((end - start) / DAY_MS))) };
}

interface Credentials {
  uuid?: string;
  password?: string;
  /** Why each credential the user had could not be kept. */
  lost: string[];
  /** The user had at least one credential. */
  had: boolean;
  /** The user's Shadowsocks method, by sing-box's name. */
  ssMethod?: string;
}

function credentials(user: MarzbanUser, changed: Finding[], record: string): Credentials {
  const settings = (type: string) => user.proxies.find((p) => p.type === type)?.settings;
  const vless = settings('vless');
  const vmess = settings('vmess');
  const trojan = settings('trojan');
  const ss = settings('shadowsocks');
  const lost: string[] = [];
  const had = user.proxies.length > 0;

  let uuid: string | undefined;
  for (const [type, id] of [['vless', vless?.id], ['vmess', vmess?.id]] as const) {
    if (id === undefined) continue;
    if (!validUuid(id)) lost.push(`${type} id ${JSON.stringify(id)} is not a UUID`);
    else if (uuid === undefined) uuid = id.toLowerCase();
    else if (id.toLowerCase() !== uuid) lost.push(`vmess id ${id} differs from the vless id (boxfleet has one uuid per user; the vless id is kept)`);
  }

  let password: string | undefined;
  for (const [type, value] of [['trojan', trojan?.password], ['shadowsocks', ss?.password]] as const) {
    if (value === undefined) continue;
    if (!validPassword(value)) lost.push(`${type} password is refused by boxfleet (${SyncUser.properties.password.description})`);
    else if (password === undefined) password = value;
    else if (value !== password) lost.push('shadowsocks password differs from the trojan password (boxfleet has one password per user; the trojan one is kept)');
  }

  let ssMethod: string | undefined;
  if (ss) {
    const given = String(ss.method ?? 'chacha20-ietf-poly1305');
    ssMethod = SS_METHOD_NAMES[given] ?? given;
    if (!SS_LEGACY_METHODS.has(ssMethod)) lost.push(`shadowsocks method ${given} takes no per-user password here`);
  }
  if (vless && typeof vless.flow === 'string' && vless.flow !== '') {
    changed.push({ record, reason: `vless flow ${vless.flow}: boxfleet sets the flow per VLESS inbound ("flow" on the inbound); serve this user on such an inbound, or its client must drop the flow` });
  }
  return { uuid, password, lost, had, ssMethod };
}

/** The boxfleet plan a user's shape goes to: the first --plan-map rule it matches, else a derived one. */
function planFor(user: MarzbanUser, shape: PlanShape, rules: readonly PlanMapRule[], existing: Existing): { name: string; id: number | null; shape: PlanShape } {
  const limit = user.data_limit && user.data_limit > 0 ? user.data_limit : null;
  const rule = rules.find(
    (r) =>
      (r.data_limit === undefined || r.data_limit === limit) &&
      (r.duration_days === undefined || r.duration_days === shape.duration_days) &&
      (r.reset === undefined || r.reset === user.data_limit_reset_strategy),
  );
  if (rule) {
    const plan = existing.plans.get(rule.plan.toLowerCase())!;
    return { name: plan.name, id: plan.id, shape: plan };
  }
  const name = planName(shape);
  const plan = existing.plans.get(name.toLowerCase());
  return { name: plan?.name ?? name, id: plan?.id ?? null, shape };
}

export function planImport(data: MarzbanData, existing: Existing, options: { now: number; planMap: readonly PlanMapRule[] }): ImportPlan {
  const { now, planMap } = options;
  const plan: ImportPlan = { users: [], plans: [], admins: [], present: { users: [], admins: [] }, unmappable: [], changed: [], ssMethods: {} };
  const plans = new Map<string, PlannedPlan>();
  const uuids = new Map(existing.uuids);
  const names = new Set<string>();

  for (const user of data.users) {
    const record = `user ${user.username}`;
    const key = user.username.toLowerCase();
    if (existing.userNames.has(key)) {
      plan.present.users.push(user.username);
      continue;
    }
    if (!validName(user.username) || names.has(key)) {
      plan.unmappable.push({ record, reason: names.has(key) ? 'another Marzban user has this name (names are compared without case)' : `the name is refused by boxfleet (${SyncUser.properties.name.pattern})` });
      continue;
    }
    const changed: Finding[] = [];
    const kept = credentials(user, changed, record);
    const owner = kept.uuid && uuids.get(kept.uuid);
    if (owner) {
      plan.unmappable.push({ record, reason: `its uuid ${kept.uuid} is already boxfleet user ${owner}'s` });
      continue;
    }
    if (kept.had && kept.uuid === undefined && kept.password === undefined) {
      plan.unmappable.push({ record, reason: `no credential can be kept: ${kept.lost.join('; ')}` });
      continue;
    }
    if (!kept.had) changed.push({ record, reason: 'had no proxies in Marzban; gets new credentials' });
    for (const reason of kept.lost) changed.push({ record, reason: `${reason}; its clients using it need the new config` });
    plan.changed.push(...changed);
    if (kept.ssMethod) plan.ssMethods[kept.ssMethod] = (plan.ssMethods[kept.ssMethod] ?? 0) + 1;

    const { start, end, days } = period(user, now);
    const limit = user.data_limit && user.data_limit > 0 ? user.data_limit : UNLIMITED_BYTES;
    const target = planFor(user, { traffic_limit_bytes: limit, duration_days: days, reset_policy: RESET_OF[user.data_limit_reset_strategy] }, planMap, existing);
    const planned = plans.get(target.name) ?? plans.set(target.name, { name: target.name, id: target.id, ...target.shape, users: 0 }).get(target.name)!;
    planned.users += 1;

    // Marzban has no Shadowsocks 2022 keys: a new one, for 2022 inbounds, like every secret it lacks.
    const fresh = newCredentials();
    const uuid = kept.uuid ?? fresh.uuid;
    uuids.set(uuid, user.username);
    names.add(key);
    plan.users.push({
      name: user.username,
      note: user.note.slice(0, 500),
      status: user.status === 'disabled' ? 'disabled' : 'active',
      uuid,
      password: kept.password ?? fresh.password,
      ss_key: fresh.ss_key,
      sub_token: fresh.sub_token,
      plan: target.name,
      subscription: {
        start_time: start,
        end_time: end,
        traffic_used_bytes: Math.max(0, user.used_traffic),
        traffic_total_bytes: limit,
        status: user.status === 'expired' ? 'expired' : user.status === 'limited' ? 'suspended' : 'active',
        suspended_reason: user.status === 'limited' ? 'quota' : null,
        last_reset_at: user.status === 'on_hold' ? now : (user.last_reset_at ?? start),
      },
    });
  }
  plan.plans = [...plans.values()];

  for (const admin of data.admins) {
    if (existing.adminNames.has(admin.username.toLowerCase())) {
      plan.present.admins.push(admin.username);
    } else if (!validAdminName(admin.username)) {
      plan.unmappable.push({ record: `admin ${admin.username}`, reason: `the name is refused by boxfleet (${USERNAME_PATTERN})` });
    } else {
      const usable = admin.hashed_password !== null && BCRYPT_HASH.test(admin.hashed_password);
      if (!usable) plan.changed.push({ record: `admin ${admin.username}`, reason: 'its Marzban password hash is not bcrypt: an owner must set a password (PATCH /api/v1/admins/:id) before it can choose its own' });
      plan.admins.push({ username: admin.username, role: admin.is_sudo ? 'owner' : 'operator', password_hash: usable ? admin.hashed_password : null });
    }
  }
  return plan;
}
