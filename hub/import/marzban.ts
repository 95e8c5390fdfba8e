// `boxfleet import marzban`: reads a Marzban database, decides what it becomes (marzban-map.ts) and,
// unless it is a dry run, writes it in one transaction of the hub's database: plans, users with
// their subscriptions, admins (who must set a new password first), one audit row per record, and
// a raised revision on the nodes the plans reach. A failure anywhere writes nothing. What already
// exists (by name) is left as it is, so a second import adds only what is new.
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import { validate } from '../../agent-core/common/schema.js';
import { hashPassword } from '../admins.js';
import { writeAudit } from '../audit.js';
import { touchNodes } from '../fleet.js';
import { NodeTags } from '../routes/plans.js';
import { connectMarzban, readMarzban, type MarzbanData } from './marzban-source.js';
import { planImport, UNLIMITED_BYTES, type Existing, type ImportPlan } from './marzban-map.js';
import type { PlanMapRule } from './marzban-plan-map.js';

export interface MarzbanImportOptions {
  /** The Marzban database: a SQLite file or a mysql:// URL. */
  from: string;
  dryRun: boolean;
  planMap: readonly PlanMapRule[];
  /** The node tags of the plans the import creates. */
  nodeTags: readonly string[];
  now: number;
  logger: AppLogger;
  /** A line of progress, for large databases. */
  progress(line: string): void;
}

export interface MarzbanImport {
  read: { users: number; admins: number };
  plan: ImportPlan;
}

/** Progress is told every this many users. */
const PROGRESS_EVERY = 1000;
const ACTOR = 'boxfleet import marzban';

async function existingRecords(db: Knex): Promise<Existing> {
  const [users, admins, plans] = await Promise.all([
    db('users').select('name', 'uuid'),
    db('admins').select('username'),
    db('plans').select('id', 'name', 'traffic_limit_bytes', 'duration_days', 'reset_policy'),
  ]);
  return {
    userNames: new Set(users.map((u: { name: string }) => u.name.toLowerCase())),
    adminNames: new Set(admins.map((a: { username: string }) => a.username.toLowerCase())),
    uuids: new Map(users.map((u: { name: string; uuid: string }) => [u.uuid.toLowerCase(), u.name])),
    plans: new Map(
      plans.map((p: Record<string, string | number>) => [
        String(p.name).toLowerCase(),
        { id: Number(p.id), name: String(p.name), traffic_limit_bytes: Number(p.traffic_limit_bytes), duration_days: Number(p.duration_days), reset_policy: p.reset_policy as never },
      ]),
    ),
  };
}

async function readSource(from: string): Promise<MarzbanData> {
  const source = connectMarzban(from);
  try {
    return await readMarzban(source);
  } catch (error) {
    throw new Error(`cannot read the Marzban database ${from.startsWith('mysql:') ? '(mysql)' : from}: ${(error as Error).message}`);
  } finally {
    await source.destroy();
  }
}

async function write(trx: Knex, plan: ImportPlan, options: MarzbanImportOptions): Promise<void> {
  const { now, logger } = options;
  const audit = (action: string, target: string, input: Record<string, unknown>) =>
    writeAudit(trx, logger, { time: now, admin_id: null, admin: ACTOR, action, target, input, result: 'ok', status_code: 200, error: null, duration_ms: 0, ip: '' });

  const planIds = new Map<string, number>();
  const tags = new Set<string>();
  for (const p of plan.plans) {
    let id = p.id;
    if (id === null) {
      const [inserted] = await trx('plans').insert({
        name: p.name,
        traffic_limit_bytes: p.traffic_limit_bytes,
        duration_days: p.duration_days,
        price: 0,
        is_enabled: true,
        node_tags: JSON.stringify(options.nodeTags),
        reset_policy: p.reset_policy,
        reset_day: null,
        created_at: now,
        updated_at: now,
      });
      id = Number(inserted);
      options.nodeTags.forEach((t) => tags.add(t));
      await audit('marzban.import.plan', `plan:${p.name}`, { traffic_limit_bytes: p.traffic_limit_bytes, duration_days: p.duration_days, reset_policy: p.reset_policy });
    } else {
      const [row] = await trx('plans').where({ id }).select('node_tags');
      (JSON.parse(String(row.node_tags)) as string[]).forEach((t) => tags.add(t));
    }
    planIds.set(p.name, Number(id));
  }

  for (const [i, u] of plan.users.entries()) {
    const [id] = await trx('users').insert({
      name: u.name, note: u.note, status: u.status, uuid: u.uuid, password: u.password, ss_key: u.ss_key, sub_token: u.sub_token, created_at: now, updated_at: now,
    });
    await trx('subscriptions').insert({ user_id: Number(id), plan_id: planIds.get(u.plan)!, ...u.subscription, created_at: now, updated_at: now });
    await audit('marzban.import.user', `user:${u.name}`, { plan: u.plan, status: u.status, subscription_status: u.subscription.status });
    if ((i + 1) % PROGRESS_EVERY === 0) options.progress(`imported ${i + 1} of ${plan.users.length} users`);
  }

  for (const a of plan.admins) {
    // No usable hash: one nobody knows, until an owner sets a password.
    const password_hash = a.password_hash ?? (await hashPassword(randomBytes(24).toString('base64url')));
    await trx('admins').insert({ username: a.username, password_hash, role: a.role, disabled: false, must_change_password: true, token_version: 0, created_at: now, updated_at: now, last_login_at: null });
    await audit('marzban.import.admin', `admin:${a.username}`, { role: a.role, must_change_password: true });
  }
  await touchNodes(trx, [...tags]);
}

export async function importMarzban(db: Knex, options: MarzbanImportOptions): Promise<MarzbanImport> {
  validate(NodeTags, options.nodeTags, '--node-tags');
  const data = await readSource(options.from);
  options.progress(`read ${data.users.length} users and ${data.admins.length} admins from Marzban`);
  const run = async (q: Knex) => {
    const existing = await existingRecords(q);
    const missing = options.planMap.filter((r) => !existing.plans.has(r.plan.toLowerCase())).map((r) => r.plan);
    if (missing.length > 0) throw new Error(`--plan-map names plans boxfleet does not have: ${[...new Set(missing)].join(', ')}; create them first`);
    const plan = planImport(data, existing, { now: options.now, planMap: options.planMap });
    if (!options.dryRun) await write(q, plan, options);
    return plan;
  };
  const plan = options.dryRun ? await run(db) : await db.transaction(run);
  return { read: { users: data.users.length, admins: data.admins.length }, plan };
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
const limitText = (bytes: number) => (bytes === UNLIMITED_BYTES ? 'unlimited traffic' : `${bytes} bytes`);

/** What the import did (or, on a dry run, would do), as the command prints it. */
export function formatReport({ read, plan }: MarzbanImport, options: Pick<MarzbanImportOptions, 'dryRun' | 'nodeTags'>): string {
  const lines = [
    `Marzban: ${plural(read.users, 'user')}, ${plural(read.admins, 'admin')}`,
    `${options.dryRun ? 'would create' : 'created'}: ${plural(plan.users.length, 'user')} with a subscription each, ` +
      `${plural(plan.plans.filter((p) => p.id === null).length, 'new plan')}, ` +
      `${plural(plan.admins.length, 'admin')} (who must set a new password before using the hub)`,
    `already in boxfleet, left as they are: ${plural(plan.present.users.length, 'user')}, ${plural(plan.present.admins.length, 'admin')}`,
  ];
  if (plan.plans.length > 0) lines.push('plans:');
  for (const p of plan.plans) {
    const what = `${limitText(p.traffic_limit_bytes)}, ${p.duration_days} days, reset ${p.reset_policy}`;
    lines.push(`  ${p.id === null ? 'new ' : 'kept'} "${p.name}" (${what}${p.id === null ? `, node tags ${options.nodeTags.join(',') || 'none'}` : ''}): ${plural(p.users, 'user')}`);
  }
  const methods = Object.entries(plan.ssMethods);
  if (methods.length > 0) {
    lines.push(`shadowsocks users by method (boxfleet sets the method per inbound; serve them on inbounds with it): ${methods.map(([m, n]) => `${m} ${n}`).join(', ')}`);
  }
  if (plan.changed.length > 0) lines.push(`imported with changes (${plan.changed.length}):`, ...plan.changed.map((f) => `  ${f.record}: ${f.reason}`));
  if (plan.unmappable.length > 0) lines.push(`cannot map, not imported (${plan.unmappable.length}):`, ...plan.unmappable.map((f) => `  ${f.record}: ${f.reason}`));
  return `${lines.join('\n')}\n`;
}
