// singbox-config's contract: what the hub and the dashboard may know of this plugin without its
// implementation. The command and event schemas (TypeBox = JSON Schema; types come from Static<>),
// the rules a base config must follow, and how a user's shadowsocks key is derived. The hub checks
// a base config when it is saved and builds subscriptions with the same keys the node serves, so
// both sides read these rules from here. Dependency-free (TypeBox only): the dashboard bundles it.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
/** A sing-box config as JSON: sing-box itself checks the inside. */
const ConfigObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'A sing-box config (JSON).' });

/** A user as users.sync takes it. */
export const SyncUser = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$' }),
  uuid: Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' }),
  password: Type.String({ pattern: '^[A-Za-z0-9._~-]{16,128}$', description: 'URL-safe, 16 to 128 characters.' }),
  ss_key: Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$', description: 'Standard base64 of 32 random bytes.' }),
  flow: Type.Optional(Type.Unsafe<'' | 'xtls-rprx-vision'>({ type: 'string', enum: ['', 'xtls-rprx-vision'], default: '' })),
  remaining_bytes: Nullable(Type.Integer({ minimum: 0, description: 'null = unlimited' })),
  expires_at: Nullable(DateTime),
});

export const LocalRemoval = Type.Object({
  name: Type.String(),
  reason: Type.String(),
  at: DateTime,
});

export const LimitsStatus = Type.Object(
  {
    check_s: Type.Integer({ description: 'Seconds between checks (limit_check_s).' }),
    checked_at: Nullable(DateTime),
    took_ms: Nullable(Type.Number({ minimum: 0, description: "Reading the usage (a ledger sample and its totals) and comparing it, in the last check; a removal's apply is in last_apply" })),
    error: Nullable(Type.String({ description: 'Why the last check failed; checks back off (up to 5 min) while they do.' })),
  },
  { description: 'The local check of served users against their remaining bytes and expiry.' },
);

export const ExitInfo = Type.Object({
  pid: Type.Integer(),
  time: DateTime,
  code: Nullable(Type.Integer()),
  signal: Nullable(Type.String()),
  reason: Type.String(),
  stderr_tail: Type.String(),
  // When the supervisor starts it again; null when systemd does it.
  restart_in_ms: Nullable(Type.Integer()),
});

export const LastApply = Type.Object({
  time: DateTime,
  action: Type.String({ description: 'config.apply, users.sync, reload, restart, config.rollback, limits, start' }),
  ok: Type.Boolean(),
  message: Type.String(),
  timings_ms: Type.Optional(Type.Object(
    {
      render: Type.Number({ minimum: 0 }),
      check: Type.Number({ minimum: 0, description: '`sing-box check` of the new file; 0 when the file did not change' }),
      reload: Type.Number({ minimum: 0, description: 'reload or start, and the verification after it; 0 without a reload' }),
    },
    { description: 'Where the time of a successful apply went.' },
  )),
});

const Empty = Type.Object({});

export const commands = {
  status: {
    description: 'sing-box binary and version, whether it runs, its config version and users, the last apply, the local limit check, degraded mode.',
    input: Empty,
    output: Type.Object({
      found: Type.Boolean(),
      binary: Nullable(Type.String()),
      version: Nullable(Type.String()),
      tags: Type.Array(Type.String()),
      config_path: Type.String(),
      message: Type.String(),
      mode: Type.String(),
      running: Type.Boolean(),
      pid: Nullable(Type.Integer()),
      since: Nullable(DateTime),
      restarts: Type.Integer({ description: 'Times sing-box was started again after it died on its own.' }),
      reloads: Type.Integer({ description: 'Reloads and starts done by this plugin since it started.' }),
      last_exit: Nullable(ExitInfo),
      config: Type.Object({
        version: Nullable(Type.Integer()),
        hash: Nullable(Type.String({ description: 'sha256 of the base config' })),
        rendered_hash: Nullable(Type.String({ description: 'sha256 of the served config file' })),
      }),
      users: Type.Object({
        revision: Nullable(Type.Integer()),
        count: Type.Integer(),
        served: Type.Integer({ description: 'count minus the locally removed' }),
        locally_removed: Type.Array(LocalRemoval),
      }),
      last_apply: Nullable(LastApply),
      limits: LimitsStatus,
      degraded: Type.Boolean({ description: 'The hub has not called for longer than degraded_after_s.' }),
    }),
  },
  process: {
    description: 'Whether sing-box runs, its restarts and reloads: the part of status that needs no `sing-box version`, for frequent polling (Prometheus scrapes).',
    input: Empty,
    output: Type.Object({
      running: Type.Boolean(),
      since: Nullable(DateTime),
      restarts: Type.Integer({ description: 'Times sing-box was started again after it died on its own.' }),
      reloads: Type.Integer({ description: 'Reloads and starts done by this plugin since it started.' }),
      last_apply_ok: Nullable(Type.Boolean({ description: 'Whether the last apply succeeded; null before the first.' })),
    }),
  },
  'config.get': {
    description: 'The base config and the served config (users\' credentials and API secrets redacted).',
    input: Empty,
    output: Type.Object({
      version: Nullable(Type.Integer()),
      base: Nullable(ConfigObject),
      rendered: Nullable(ConfigObject),
    }),
    // The base config holds server keys (REALITY private key, shadowsocks PSK).
    role: 'operator' as const,
  },
  'config.apply': {
    description: 'Checks, serves and verifies a new base config; rolls back to the last good one on any failure.',
    input: Type.Object({ config: ConfigObject, comment: Type.Optional(Type.String({ maxLength: 500 })) }),
    output: Type.Object({ version: Type.Integer(), hash: Type.String(), reloaded: Type.Boolean() }),
    mutates: true,
    // Replaces what the node serves: the hub's config versions (admin) own it, not an operator.
    role: 'admin' as const,
    timeoutMs: 60_000,
  },
  'users.sync': {
    description: 'The users this node serves (a full snapshot). Calls within coalesce_ms share one reload.',
    input: Type.Object({
      revision: Type.Integer({ minimum: 0 }),
      users: Type.Array(SyncUser),
      ledger_seq: Type.Optional(
        Type.Integer({
          minimum: 0,
          description: "The hub's committed clash-stats ledger position that remaining_bytes already reflect: usage after it counts against them.",
        }),
      ),
    }),
    output: Type.Object({
      revision: Type.Integer(),
      changed: Type.Boolean(),
      reloaded: Type.Boolean(),
      locally_removed: Type.Array(LocalRemoval, {
        description: 'Users this node had cut off by itself under the previous snapshot; those still past the limits of this one stay cut off.',
      }),
    }),
    mutates: true,
    // Sets which users the node serves: the hub's reconciler owns that, an operator does not.
    role: 'admin' as const,
    timeoutMs: 90_000,
  },
  'users.list': {
    description: 'The synced users with their limits and whether they were removed locally (never credentials).',
    input: Empty,
    output: Type.Object({
      revision: Nullable(Type.Integer()),
      synced_at: Nullable(DateTime),
      users: Type.Array(
        Type.Object({
          name: Type.String(),
          remaining_bytes: Nullable(Type.Integer()),
          expires_at: Nullable(Type.String()),
          removed_locally: Type.Boolean(),
          removed_reason: Nullable(Type.String()),
          removed_at: Nullable(DateTime),
        }),
      ),
    }),
  },
  reload: {
    description: 'Renders the config again (with fresh contributions from other plugins) and reloads sing-box on it.',
    input: Empty,
    output: Type.Object({ changed: Type.Boolean(), reloaded: Type.Boolean(), rendered_hash: Type.String() }),
    mutates: true,
    timeoutMs: 60_000,
  },
  restart: {
    description: 'Stops and starts sing-box on the served config.',
    input: Empty,
    output: Type.Object({ running: Type.Boolean(), pid: Nullable(Type.Integer()) }),
    mutates: true,
    timeoutMs: 60_000,
  },
  'config.history': {
    description: 'The kept versions of the base config, newest first.',
    input: Empty,
    output: Type.Object({
      current: Nullable(Type.Integer()),
      versions: Type.Array(Type.Object({ version: Type.Integer(), time: DateTime, hash: Type.String(), comment: Type.String() })),
    }),
  },
  'config.rollback': {
    description: 'Serves an earlier version of the base config again, as a new version. Default: the one before the current.',
    input: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }),
    output: Type.Object({ version: Type.Integer(), restored: Type.Integer(), hash: Type.String(), reloaded: Type.Boolean() }),
    mutates: true,
    // Like config.apply: changes which base config the node serves.
    role: 'admin' as const,
    timeoutMs: 60_000,
  },
  'ssm.endpoints': {
    description: 'The SSM API base URL of each managed shadowsocks inbound (for clash-stats). The URLs are secrets.',
    input: Empty,
    output: Type.Object({ endpoints: Type.Array(Type.Object({ inbound: Type.String(), url: Type.String() })) }),
    // The secret is inside a URL, where the hub's redaction (by field name) cannot see it: only admins read node secrets.
    role: 'admin' as const,
  },
};

export const events = {
  'singbox.exited': { description: 'sing-box died without boxfleet asking (and is being restarted).', schema: ExitInfo },
  'config.applied': {
    description: 'A new config is in service.',
    schema: Type.Object({ action: Type.String(), version: Nullable(Type.Integer()), rendered_hash: Type.String(), reloaded: Type.Boolean() }),
  },
  'users.removed-locally': {
    description: 'Users cut off by this node itself: over their remaining bytes, or expired (hub or no hub).',
    schema: Type.Object({ users: Type.Array(LocalRemoval) }),
  },
};

export type SyncUser = Static<typeof SyncUser>;
export type UsersSyncInput = Static<(typeof commands)['users.sync']['input']>;
export type UsersSyncOutput = Static<(typeof commands)['users.sync']['output']>;
export type StatusOutput = Static<(typeof commands)['status']['output']>;
export type UsersListOutput = Static<(typeof commands)['users.list']['output']>;
export type LocalRemoval = Static<typeof LocalRemoval>;
export type LimitsStatus = Static<typeof LimitsStatus>;
export type ExitInfo = Static<typeof ExitInfo>;
export type LastApply = Static<typeof LastApply>;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Inbound types whose `users` come from users.sync, besides shadowsocks (which is by method). */
export const USER_PROTOCOLS = ['vless', 'vmess', 'trojan', 'hysteria2', 'tuic', 'anytls'] as const;
export type UserProtocol = (typeof USER_PROTOCOLS)[number];
const USER_PROTOCOL_SET: ReadonlySet<string> = new Set(USER_PROTOCOLS);

/** Shadowsocks 2022 methods that take several users, by key length in bytes. */
const SS_2022_KEY_BYTES: Readonly<Record<string, number>> = {
  '2022-blake3-aes-128-gcm': 16,
  '2022-blake3-aes-256-gcm': 32,
};

/** The key length of a multi-user Shadowsocks 2022 method; undefined for any other string ("constructor" included). */
export const ss2022KeyBytes = (method: string): number | undefined =>
  Object.hasOwn(SS_2022_KEY_BYTES, method) ? SS_2022_KEY_BYTES[method] : undefined;

/** Legacy AEAD methods; their users have plain string passwords. */
export const SS_LEGACY_METHODS: ReadonlySet<string> = new Set([
  'aes-128-gcm',
  'aes-192-gcm',
  'aes-256-gcm',
  'chacha20-ietf-poly1305',
  'xchacha20-ietf-poly1305',
]);

/** An inbound whose users come from users.sync (in the config or, when managed, through the SSM API). */
export function takesUsers(inbound: Json): boolean {
  if (inbound.type === 'shadowsocks') return !Array.isArray(inbound.destinations); // relay mode has no users
  return typeof inbound.type === 'string' && USER_PROTOCOL_SET.has(inbound.type);
}

/** A shadowsocks inbound whose users go through the SSM API instead of the config file. */
export function isManaged(inbound: Json): boolean {
  return inbound.type === 'shadowsocks' && inbound.managed === true;
}

/**
 * The key a user gets on a shadowsocks inbound with this method: the 32-byte ss_key for
 * 2022-blake3-aes-256-gcm, its first 16 bytes for 2022-blake3-aes-128-gcm, the password for legacy
 * AEAD; undefined for a method that takes no users. atob/btoa rather than Buffer: the dashboard
 * compiles this file without Node's types.
 */
export function shadowsocksUserKey(method: string, user: Pick<SyncUser, 'password' | 'ss_key'>): string | undefined {
  const bytes = ss2022KeyBytes(method);
  if (bytes !== undefined) return btoa(atob(user.ss_key).slice(0, bytes));
  return SS_LEGACY_METHODS.has(method) ? user.password : undefined;
}

/**
 * Why a base config cannot be served, naming the path, or undefined when it can: it must not carry
 * what boxfleet manages (users on user-taking inbounds, the Clash/V2Ray APIs, an ssm-api service),
 * its shadowsocks inbounds must take several users, and an inbound's `flow` must be
 * xtls-rprx-vision on a VLESS inbound that can carry it (visionProblem).
 */
export function baseConfigProblem(config: unknown): string | undefined {
  if (!isObject(config)) return 'config: must be a sing-box config object';
  if (config.inbounds !== undefined && !Array.isArray(config.inbounds)) return 'config.inbounds: must be an array';
  const inbounds = (config.inbounds as unknown[] | undefined) ?? [];
  for (const [i, inbound] of inbounds.entries()) {
    const problem = inboundProblem(inbound, `config.inbounds[${i}]`);
    if (problem) return problem;
  }
  const experimental = config.experimental;
  if (experimental !== undefined && !isObject(experimental)) return 'config.experimental: must be an object';
  for (const api of ['clash_api', 'v2ray_api'] as const) {
    if (experimental && api in experimental) return `config.experimental.${api}: managed by clash-stats; remove it from the base config`;
  }
  if (config.services !== undefined && !Array.isArray(config.services)) return 'config.services: must be an array';
  const services = (config.services as unknown[] | undefined) ?? [];
  const ssmApi = services.findIndex((service) => isObject(service) && service.type === 'ssm-api');
  if (ssmApi >= 0) return `config.services[${ssmApi}]: the ssm-api service is managed by singbox-config; remove it from the base config`;
  const route = config.route;
  if (route !== undefined && (!isObject(route) || (route.rules !== undefined && !Array.isArray(route.rules)))) {
    return 'config.route.rules: must be an array';
  }
  return undefined;
}

/** The one VLESS flow an inbound may carry (boxfleet's extension of a sing-box inbound). */
const VISION_FLOW = 'xtls-rprx-vision';

/**
 * Why this inbound cannot take `flow` (whatever its value), or undefined when it can: a VLESS
 * inbound on TLS (plain or REALITY) with no transport and no multiplex, because Vision reads the TLS
 * records of the raw connection (sing-box checks none of this; the connection fails at run time).
 */
export function visionProblem(inbound: Json): string | undefined {
  if (inbound.type !== 'vless') return 'only a VLESS inbound takes a flow';
  if (!isObject(inbound.tls) || inbound.tls.enabled !== true) return `${VISION_FLOW} needs TLS (tls.enabled, plain or REALITY)`;
  if (isObject(inbound.transport)) return `${VISION_FLOW} runs on the TLS connection itself; remove the transport or the flow`;
  if (isObject(inbound.multiplex) && inbound.multiplex.enabled === true) return `${VISION_FLOW} does not work with multiplex; disable multiplex or remove the flow`;
  return undefined;
}

function inboundProblem(inbound: unknown, at: string): string | undefined {
  if (!isObject(inbound)) return `${at}: must be an object`;
  if ('flow' in inbound) {
    // Moved onto every user of the inbound when served (render.ts); sing-box has no inbound-level flow.
    if (inbound.flow !== VISION_FLOW) return `${at}.flow: must be ${JSON.stringify(VISION_FLOW)}; leave it out for no flow`;
    const problem = visionProblem(inbound);
    if (problem) return `${at}.flow: ${problem}`;
  }
  if (!takesUsers(inbound)) return undefined;
  if ('users' in inbound) return `${at}.users: users are managed by users.sync; remove them from the base config`;
  if (inbound.type !== 'shadowsocks') return undefined;
  const method = String(inbound.method ?? '');
  if (method === '2022-blake3-chacha20-poly1305') {
    return `${at}.method: 2022-blake3-chacha20-poly1305 does not support multiple users; use 2022-blake3-aes-128-gcm or 2022-blake3-aes-256-gcm`;
  }
  if (ss2022KeyBytes(method) === undefined && !SS_LEGACY_METHODS.has(method)) {
    return `${at}.method: ${JSON.stringify(method)} cannot take users; use 2022-blake3-aes-128-gcm, 2022-blake3-aes-256-gcm or a legacy AEAD method`;
  }
  if (isManaged(inbound) && (typeof inbound.tag !== 'string' || inbound.tag === '')) {
    return `${at}.tag: a managed shadowsocks inbound needs a tag (the SSM API is mapped to it)`;
  }
  return undefined;
}
