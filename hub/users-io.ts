// Users in bulk: the export (every user with the subscription that governs them and, for admins,
// their credentials) and the import that reads the same rows back, so an export imported into an
// empty hub gives the same users, whose clients keep working. CSV and JSON share the row shape
// (users-io-csv.ts flattens it). Each row is checked on its own against the schema, the plans, the
// users already there and the rows before it; its first error names the row and the field.
import { Type, type Static } from '@fastify/type-provider-typebox';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Knex } from 'knex';
import { compileSchema, describeError } from '../agent-core/common/schema.js';
import { SyncUser } from '../plugins/singbox-config/contract.js';
import { iso, Plan, Subscription, User, type SubscriptionStatus } from './db/models.js';
import { tagsOfSubscriptions, touchNodes } from './fleet.js';
import { IsoTime, Nullable, StringEnum } from './routes/schemas.js';
import { governing, newCredentials, USER_NAME_PATTERN, USER_STATUSES } from './users.js';

/** What one import takes: 50,000 users with credentials are about 15 MB of CSV. */
export const MAX_IMPORT_ROWS = 50_000;
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
/** The most row errors an answer lists; `failed` counts them all. */
export const MAX_LISTED_ERRORS = 1000;

export const IMPORT_MODES = ['all_or_nothing', 'best_effort'] as const;
export type ImportMode = (typeof IMPORT_MODES)[number];
/** What to do with a row whose name is already a user's. */
export const ON_CONFLICT = ['error', 'skip', 'update'] as const;
export type OnConflict = (typeof ON_CONFLICT)[number];

const DAY_MS = 86_400_000;
const SUBSCRIPTION_STATUSES = ['active', 'expired', 'suspended', 'cancelled'] as const satisfies readonly SubscriptionStatus[];
const CREDENTIALS = ['uuid', 'password', 'ss_key', 'sub_token'] as const;
type CredentialName = (typeof CREDENTIALS)[number];

const SubscriptionRow = Type.Object({
  start_time: Type.Optional(IsoTime),
  end_time: Type.Optional(IsoTime),
  last_reset_at: Type.Optional(IsoTime),
  traffic_used_bytes: Type.Optional(Type.Integer({ minimum: 0 })),
  traffic_total_bytes: Type.Optional(Type.Integer({ minimum: 0 })),
  status: Type.Optional(StringEnum(SUBSCRIPTION_STATUSES)),
  suspended_reason: Type.Optional(Nullable(StringEnum(['quota', 'admin'] as const))),
});

/**
 * One user, as exported and imported. Credentials left out are generated on import (kept, on an
 * update); the patterns are the ones the nodes' users.sync accepts.
 */
export const UserRow = Type.Object({
  name: Type.String({ maxLength: 64, pattern: USER_NAME_PATTERN }),
  note: Type.Optional(Type.String({ maxLength: 500 })),
  status: Type.Optional(StringEnum(USER_STATUSES)),
  uuid: Type.Optional(Type.String({ pattern: SyncUser.properties.uuid.pattern })),
  // The column holds 64.
  password: Type.Optional(Type.String({ pattern: SyncUser.properties.password.pattern, maxLength: 64 })),
  ss_key: Type.Optional(Type.String({ pattern: SyncUser.properties.ss_key.pattern })),
  // It is a path segment of the user's subscription URL.
  sub_token: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$' })),
  /** The plan of the subscription, by name (what an export writes) or by id; with neither, no subscription. */
  plan: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 100 }))),
  plan_id: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  subscription: Type.Optional(Nullable(SubscriptionRow)),
});
export type UserRow = Static<typeof UserRow>;

export interface RowError {
  /** 1 is the first row (in CSV, the line after the header). */
  row: number;
  /** Where in the row, dotted (`subscription.end_time`); empty for the row as a whole. */
  field: string;
  message: string;
}

/** A row as read from the file: a value to check, or why it could not be read. */
export type ReadRow = { value: unknown } | { unreadable: { field: string; message: string } };

export interface ImportOptions {
  mode: ImportMode;
  onConflict: OnConflict;
  /** The values arrive as text (CSV): numbers are read from it. */
  textual: boolean;
  now: number;
}

export interface ImportReport {
  rows: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  /** The first MAX_LISTED_ERRORS, in row order. */
  errors: RowError[];
  /** True when all_or_nothing met an error: nothing was written. */
  refused: boolean;
}

const checks = new Map<boolean, ValidateFunction>();
const checkOf = (textual: boolean) => {
  let check = checks.get(textual);
  if (!check) checks.set(textual, (check = compileSchema(UserRow, { coerce: textual })));
  return check;
};

/** `describeError`'s message, split into the field it names and what is wrong with it. */
function schemaError(error: ErrorObject): { field: string; message: string } {
  const text = describeError(error, 'row');
  const cut = text.indexOf(': ');
  return { field: text.slice('row.'.length, cut), message: text.slice(cut + 2) };
}

/** Every user's governing subscription, by user id. */
async function governingSubscriptions(db: Knex): Promise<Map<number, Subscription>> {
  const byUser = new Map<number, Subscription[]>();
  for (const s of await Subscription.query(db).whereNot('status', 'cancelled').orderBy('id', 'desc')) {
    const list = byUser.get(s.user_id) ?? [];
    list.push(s);
    byUser.set(s.user_id, list);
  }
  return new Map([...byUser].map(([userId, list]) => [userId, governing(list)!]));
}

/** Every user, oldest first, as import rows; with their credentials only when `credentials`. */
export async function exportUsers(db: Knex, { credentials }: { credentials: boolean }): Promise<UserRow[]> {
  const [users, plans, current] = await Promise.all([User.query(db).orderBy('id'), Plan.query(db), governingSubscriptions(db)]);
  const planNames = new Map(plans.map((p) => [p.id, p.name]));
  return users.map((u) => {
    const s = current.get(u.id);
    return {
      name: u.name,
      note: u.note,
      status: u.status,
      ...(s && {
        plan: planNames.get(s.plan_id)!,
        subscription: {
          start_time: iso(s.start_time),
          end_time: iso(s.end_time),
          last_reset_at: iso(s.last_reset_at),
          traffic_used_bytes: Number(s.traffic_used_bytes),
          traffic_total_bytes: Number(s.traffic_total_bytes),
          status: s.status,
          suspended_reason: s.suspended_reason,
        },
      }),
      ...(credentials && { uuid: u.uuid, password: u.password, ss_key: u.ss_key, sub_token: u.sub_token }),
    };
  });
}

/** An accepted row: what to write. */
interface Accepted {
  row: UserRow;
  /** The user of that name, for an update. */
  user?: User;
  plan?: Plan;
  /** The subscription's fields as given, in ms. */
  subscription: Partial<Pick<Subscription, 'start_time' | 'end_time' | 'last_reset_at' | 'traffic_used_bytes' | 'traffic_total_bytes' | 'status' | 'suspended_reason'>>;
}

/** What the rows are checked against: the hub's users and plans, and what the rows before claimed. */
class ImportContext {
  private readonly users = new Map<string, User>();
  private readonly plansByName = new Map<string, Plan>();
  private readonly plansById = new Map<number, Plan>();
  /** Lower-cased name → the row that has it. */
  private readonly rowOfName = new Map<string, number>();
  /** Per credential, its value → who holds it (`user alice`, `row 3`) and that user's lower-cased name. */
  private readonly holders = new Map<CredentialName, Map<string, { who: string; name: string }>>(CREDENTIALS.map((c) => [c, new Map()]));

  constructor(
    users: readonly User[],
    plans: readonly Plan[],
    readonly current: Map<number, Subscription>,
    private readonly options: ImportOptions,
  ) {
    for (const u of users) {
      this.users.set(u.name.toLowerCase(), u);
      for (const c of CREDENTIALS) this.holders.get(c)!.set(key(c, u[c]), { who: `user ${u.name}`, name: u.name.toLowerCase() });
    }
    for (const p of plans) {
      this.plansByName.set(p.name, p);
      this.plansById.set(p.id, p);
    }
  }

  /** The row accepted, `skip`, or its first error. */
  check(read: ReadRow, n: number): Accepted | 'skip' | { field: string; message: string } {
    if ('unreadable' in read) return read.unreadable;
    const check = checkOf(this.options.textual);
    if (!check(read.value)) return schemaError(check.errors![0]!);
    const row = read.value as UserRow;
    const name = row.name.toLowerCase();
    const earlier = this.rowOfName.get(name);
    if (earlier !== undefined) return { field: 'name', message: `is also in row ${earlier}` };
    this.rowOfName.set(name, n);
    const user = this.users.get(name);
    if (user && this.options.onConflict === 'error') {
      return { field: 'name', message: `user ${user.name} already exists; import with on_conflict=skip or update` };
    }
    if (user && this.options.onConflict === 'skip') return 'skip';

    const plan = this.planOf(row);
    if (plan && 'message' in plan) return plan;
    const subscription = subscriptionFields(row, plan, user && this.current.get(user.id), this.options.now);
    if ('message' in subscription) return subscription;
    for (const c of CREDENTIALS) {
      const value = row[c];
      const holder = value === undefined ? undefined : this.holders.get(c)!.get(key(c, value));
      if (holder && holder.name !== name) return { field: c, message: `is already ${holder.who}'s` };
    }
    for (const c of CREDENTIALS) if (row[c] !== undefined) this.holders.get(c)!.set(key(c, row[c]!), { who: `row ${n}`, name });
    return { row, user, plan, subscription };
  }

  private planOf(row: UserRow): Plan | undefined | { field: string; message: string } {
    const hasName = row.plan !== undefined && row.plan !== null;
    const hasId = row.plan_id !== undefined && row.plan_id !== null;
    if (hasName && hasId) return { field: 'plan_id', message: 'give plan or plan_id, not both' };
    if (hasName) return this.plansByName.get(row.plan!) ?? { field: 'plan', message: `no plan is named ${row.plan}` };
    if (hasId) return this.plansById.get(row.plan_id!) ?? { field: 'plan_id', message: `no plan ${row.plan_id}` };
    if (row.subscription) return { field: 'plan', message: 'is required with a subscription' };
    return undefined;
  }
}

/** Credentials compare as the nodes compare them: a UUID in any case is the same UUID. */
const key = (c: CredentialName, value: string) => (c === 'uuid' ? value.toLowerCase() : value);

/** The subscription's given fields in ms, checked against each other and, on an update, the current subscription. */
function subscriptionFields(row: UserRow, plan: Plan | undefined, current: Subscription | undefined, now: number): Accepted['subscription'] | { field: string; message: string } {
  if (!plan) return {};
  const given = row.subscription ?? {};
  const ms = (time: string | undefined) => (time === undefined ? undefined : Date.parse(time));
  const fields = {
    start_time: ms(given.start_time),
    end_time: ms(given.end_time),
    last_reset_at: ms(given.last_reset_at),
    traffic_used_bytes: given.traffic_used_bytes,
    traffic_total_bytes: given.traffic_total_bytes,
    status: given.status,
    suspended_reason: given.suspended_reason,
  };
  const status = fields.status ?? current?.status ?? 'active';
  if (fields.suspended_reason && status !== 'suspended') {
    return { field: 'subscription.suspended_reason', message: 'is only for a suspended subscription' };
  }
  const start = fields.start_time ?? Number(current?.start_time ?? now);
  const end = fields.end_time ?? (current ? Number(current.end_time) : start + plan.duration_days * DAY_MS);
  if (end < start) return { field: 'subscription.end_time', message: 'is before start_time' };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

const CHUNK = 500;
const chunks = <T>(list: readonly T[]) => Array.from({ length: Math.ceil(list.length / CHUNK) }, (_, i) => list.slice(i * CHUNK, (i + 1) * CHUNK));

/**
 * Imports the rows in one transaction. all_or_nothing writes nothing when any row fails;
 * best_effort writes the rows that pass. The nodes the new or changed users reach sync again.
 */
export async function importUsers(db: Knex, rows: readonly ReadRow[], options: ImportOptions): Promise<ImportReport> {
  return db.transaction(async (trx) => {
    const [users, plans, current] = await Promise.all([User.query(trx), Plan.query(trx), governingSubscriptions(trx)]);
    const context = new ImportContext(users, plans, current, options);
    const accepted: Accepted[] = [];
    const errors: RowError[] = [];
    let skipped = 0;
    rows.forEach((read, i) => {
      const result = context.check(read, i + 1);
      if (result === 'skip') skipped++;
      else if ('message' in result) errors.push({ row: i + 1, ...result });
      else accepted.push(result);
    });
    const refused = options.mode === 'all_or_nothing' && errors.length > 0;
    const report = { rows: rows.length, skipped, failed: errors.length, errors: errors.slice(0, MAX_LISTED_ERRORS), refused };
    if (refused) return { ...report, created: 0, updated: 0, skipped: 0 };

    const creates = accepted.filter((a) => !a.user);
    const updates = accepted.filter((a) => a.user);
    const tags = new Set<string>();
    await createUsers(trx, creates, options.now, tags);
    await updateUsers(trx, updates, current, options.now, tags);
    await touchNodes(trx, [...tags]);
    return { ...report, created: creates.length, updated: updates.length };
  });
}

const credentialsOf = (row: UserRow) => Object.fromEntries(CREDENTIALS.filter((c) => row[c] !== undefined).map((c) => [c, row[c]!]));
const userFieldsOf = (row: UserRow) => Object.fromEntries((['note', 'status'] as const).filter((f) => row[f] !== undefined).map((f) => [f, row[f]!]));

/**
 * The status and suspension reason a subscription gets from the row: the current ones where the row
 * is silent, and a suspension without a reason is an admin's.
 */
function statusOf(given: Accepted['subscription'], current?: Subscription): Pick<Subscription, 'status' | 'suspended_reason'> {
  const status = given.status ?? current?.status ?? 'active';
  if (status !== 'suspended') return { status, suspended_reason: null };
  return { status, suspended_reason: given.suspended_reason ?? (current?.status === 'suspended' ? current.suspended_reason : null) ?? 'admin' };
}

/** A new subscription: the fields given, the rest from the plan as an assignment would set them. */
function newSubscription(a: Accepted, userId: number, now: number) {
  const start = a.subscription.start_time ?? now;
  return {
    user_id: userId,
    plan_id: a.plan!.id,
    start_time: start,
    end_time: a.subscription.end_time ?? start + a.plan!.duration_days * DAY_MS,
    last_reset_at: a.subscription.last_reset_at ?? start,
    traffic_used_bytes: a.subscription.traffic_used_bytes ?? 0,
    traffic_total_bytes: a.subscription.traffic_total_bytes ?? Number(a.plan!.traffic_limit_bytes),
    ...statusOf(a.subscription),
    created_at: now,
    updated_at: now,
  };
}

async function createUsers(trx: Knex, creates: readonly Accepted[], now: number, tags: Set<string>): Promise<void> {
  for (const chunk of chunks(creates)) {
    await trx('users').insert(
      chunk.map((a) => ({ name: a.row.name, note: '', status: 'active', ...userFieldsOf(a.row), ...newCredentials(), ...credentialsOf(a.row), created_at: now, updated_at: now })),
    );
    const subscribed = chunk.filter((a) => a.plan);
    if (subscribed.length === 0) continue;
    const ids = new Map(
      ((await trx('users').whereIn('name', subscribed.map((a) => a.row.name)).select('id', 'name')) as { id: number; name: string }[]).map((u) => [u.name.toLowerCase(), u.id]),
    );
    await trx('subscriptions').insert(subscribed.map((a) => newSubscription(a, ids.get(a.row.name.toLowerCase())!, now)));
    for (const a of subscribed) for (const tag of a.plan!.node_tags) tags.add(tag);
  }
}

/** Given fields replace the user's; a plan updates the governing subscription, or gives them one. */
async function updateUsers(trx: Knex, updates: readonly Accepted[], current: Map<number, Subscription>, now: number, tags: Set<string>): Promise<void> {
  for (const a of updates) {
    const user = a.user!;
    const patch = { ...userFieldsOf(a.row), ...credentialsOf(a.row) };
    if (Object.keys(patch).length > 0) await User.query(trx).patch(patch).findById(user.id);
    const governing = current.get(user.id);
    // Before the change, so the nodes of a plan the user leaves sync too.
    const ids = (await Subscription.query(trx).where({ user_id: user.id }).select('id')).map((s) => s.id);
    for (const tag of await tagsOfSubscriptions(trx, ids)) tags.add(tag);
    if (a.plan) for (const tag of a.plan.node_tags) tags.add(tag);
    if (a.plan && governing) {
      await Subscription.query(trx).patch({ ...a.subscription, ...statusOf(a.subscription, governing), plan_id: a.plan.id }).findById(governing.id);
    } else if (a.plan) {
      await trx('subscriptions').insert(newSubscription(a, user.id, now));
    }
  }
}
