// Recording user events: set-based INSERT … SELECT over subscriptions (one statement per kind and
// tick, never a loop over users), ignoring rows whose key (subscription, kind, crossing,
// threshold_percent) exists, so a re-run, a retried transaction or a second hub on the same
// database records each event once. The `user-events` job (deliver.ts) sends them.
//
//   kind                     recorded when                                     crossing (its key)
//   usage.threshold          the quota job finds used ≥ p % of total (active)  last_reset_at, per p
//   subscription.expiring    the quota job finds end_time within N days        end_time
//   subscription.suspended   the quota job suspends it for its quota           last_reset_at
//   subscription.expired     the quota job expires it                          end_time
//   subscription.renewed     POST /api/v1/subscriptions/:id/renew              the new end_time
// A traffic reset (scheduled or an admin's) starts a new period, so each threshold and a quota
// suspension can happen again once; a renewal moves end_time, so expiring and expired can too.
import type { Knex } from 'knex';
import type { HubConfig } from '../config.js';
import { isMysql } from '../db/queries.js';

export const USER_EVENT_KINDS = ['usage.threshold', 'subscription.expiring', 'subscription.suspended', 'subscription.expired', 'subscription.renewed'] as const;
export type UserEventKind = (typeof USER_EVENT_KINDS)[number];
export type TransitionKind = Extract<UserEventKind, 'subscription.suspended' | 'subscription.expired'>;

const DAY_MS = 86_400_000;

/** Which conditions the quota job looks for (from the hub settings). */
export interface UserEventRules {
  /** Percents of the traffic total, ascending; empty: no usage.threshold events. */
  thresholds: number[];
  /** 0: no subscription.expiring events. */
  expiringDays: number;
}

export function userEventRules(config: Pick<HubConfig, 'user_event_usage_thresholds' | 'user_event_expiring_days'>): UserEventRules {
  const thresholds = config.user_event_usage_thresholds
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map(Number);
  return { thresholds: [...new Set(thresholds)].sort((a, b) => a - b), expiringDays: config.user_event_expiring_days };
}

const COLUMNS = ['user_id', 'subscription_id', 'kind', 'crossing', 'threshold_percent', 'end_time', 'traffic_used_bytes', 'traffic_total_bytes', 'queued', 'created_at'];

/**
 * INSERT … SELECT `select` (its columns in COLUMNS' order), skipping the events already recorded
 * (knex has no ON CONFLICT for an INSERT … SELECT on SQLite: both databases' IGNORE, written out).
 */
async function insertNew(db: Knex, select: Knex.QueryBuilder): Promise<void> {
  const { sql, bindings } = select.toSQL();
  await db.raw(`INSERT ${isMysql(db) ? 'IGNORE' : 'OR IGNORE'} INTO user_events (${COLUMNS.join(', ')}) ${sql}`, bindings);
}

/**
 * The event columns of subscriptions `s` for `kind`: keyed on a column of theirs or a value, with
 * their end_time unless another is given.
 */
function eventsOf(db: Knex, kind: UserEventKind, now: number, key: { crossing: string | number; thresholdPercent?: Knex.Raw; endTime?: number }) {
  const value = (v: string | number) => db.raw('?', [v]);
  return [
    's.user_id',
    's.id',
    value(kind),
    typeof key.crossing === 'number' ? value(key.crossing) : `s.${key.crossing}`,
    key.thresholdPercent ?? value(0),
    key.endTime === undefined ? 's.end_time' : value(key.endTime),
    's.traffic_used_bytes',
    's.traffic_total_bytes',
    value(0),
    value(now),
  ];
}

/**
 * Records `kind` for the subscriptions `rows` selects, inside the quota job's transaction that
 * changes them (called before its UPDATE, so it sees the rows it is about to change).
 */
export async function recordTransitions(trx: Knex.Transaction, kind: TransitionKind, rows: Knex.QueryBuilder, now: number): Promise<void> {
  const crossing = kind === 'subscription.suspended' ? 'last_reset_at' : 'end_time';
  await insertNew(trx, trx.from(rows.as('s')).select(eventsOf(trx, kind, now, { crossing })));
}

/** Records a renewal of subscription `id` to `endTime`, inside the transaction that renews it. */
export async function recordRenewal(trx: Knex, id: number, endTime: number, now: number): Promise<void> {
  const key = { crossing: endTime, endTime };
  await insertNew(trx, trx.from('subscriptions as s').where('s.id', id).select(eventsOf(trx, 'subscription.renewed', now, key)));
}

/**
 * The event of `s` already recorded with this key: a condition that holds for many ticks is then
 * read through the unique index, not inserted again and ignored at every tick.
 */
const recorded = (db: Knex, kind: UserEventKind, crossing: string, thresholdPercent?: string) =>
  db
    .from('user_events as e')
    .whereRaw('e.subscription_id = s.id')
    .andWhere('e.kind', kind)
    .andWhereRaw('e.crossing = ??', [crossing])
    .andWhereRaw(thresholdPercent ? 'e.threshold_percent = ??' : 'e.threshold_percent = 0', thresholdPercent ? [thresholdPercent] : [])
    .select(db.raw('1'));

/**
 * The conditions the quota job looks for at each tick, one statement per kind: every active
 * subscription at or above a usage threshold in its current period, and every live one ending
 * within the expiring window.
 */
export async function recordConditions(db: Knex, rules: UserEventRules, now: number): Promise<void> {
  if (rules.thresholds.length > 0) {
    const thresholds = db.raw(`(${rules.thresholds.map(() => 'SELECT ? AS threshold_percent').join(' UNION ALL ')}) t`, rules.thresholds);
    await insertNew(
      db,
      db
        .from('subscriptions as s')
        .crossJoin(thresholds)
        .where('s.status', 'active')
        .andWhere('s.end_time', '>', now)
        .andWhere('s.traffic_total_bytes', '>', 0)
        .andWhereRaw('s.traffic_used_bytes * 100 >= s.traffic_total_bytes * t.threshold_percent')
        .whereNotExists(recorded(db, 'usage.threshold', 's.last_reset_at', 't.threshold_percent'))
        .select(eventsOf(db, 'usage.threshold', now, { crossing: 'last_reset_at', thresholdPercent: db.raw('t.threshold_percent') })),
    );
  }
  if (rules.expiringDays > 0) {
    await insertNew(
      db,
      db
        .from('subscriptions as s')
        .whereIn('s.status', ['active', 'suspended'])
        .andWhere('s.end_time', '>', now)
        .andWhere('s.end_time', '<=', now + rules.expiringDays * DAY_MS)
        .whereNotExists(recorded(db, 'subscription.expiring', 's.end_time'))
        .select(eventsOf(db, 'subscription.expiring', now, { crossing: 'end_time' })),
    );
  }
}
