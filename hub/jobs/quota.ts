// The quota job: set-based SQL over subscriptions, never a loop over rows. In order:
//   1. active or suspended past end_time (the hub's clock)          → expired
//   2. monthly reset due, suspended for quota                       → active, used := 0
//   3. monthly reset due, the others (active, suspended by an admin) → used := 0
//   4. active with traffic_used_bytes >= traffic_total_bytes         → suspended ('quota')
// "Monthly" is every 30 days from the subscription's last reset, anchored: last_reset_at moves on
// by whole 30-day periods, so resets do not drift with the job's interval. (A calendar month
// would need per-row date arithmetic that SQLite and MySQL do differently.)
// Each rule first raises desired_revision on the nodes its subscriptions' plans reach, then updates
// those subscriptions, in one transaction: the reconciler sees both or neither. Nodes are locked
// before subscriptions, as the traffic job does, so the two never wait on each other in a cycle.
import type { Knex } from 'knex';
import { isMysql } from '../db/queries.js';
import { touchNodes } from '../fleet.js';
import { withRetry } from './common.js';

export const RESET_PERIOD_MS = 30 * 24 * 3_600_000;

export interface QuotaDeps {
  db: Knex;
  now(): number;
}

export interface QuotaSummary {
  expired: number;
  reactivated: number;
  reset: number;
  suspended: number;
  /** Nodes whose desired_revision was raised. */
  touched_nodes: string[];
}

type Where = (q: Knex.QueryBuilder) => void;

async function tagsOfPlans(trx: Knex.Transaction, planIds: number[]): Promise<string[]> {
  const rows = await trx('plans').whereIn('id', planIds).select('node_tags');
  return [...new Set(rows.flatMap((r: { node_tags: string }) => JSON.parse(r.node_tags) as string[]))];
}

/** Applies `patch` to the subscriptions `where` selects; returns how many and which nodes were touched. */
async function applyRule(db: Knex, where: Where, patch: (trx: Knex.Transaction) => Record<string, unknown>) {
  return withRetry(() =>
    db.transaction(async (trx) => {
      const plans = (await trx('subscriptions').where(where).distinct('plan_id')).map((r: { plan_id: number }) => Number(r.plan_id));
      if (plans.length === 0) return { count: 0, nodes: [] as string[] };
      const nodes = await touchNodes(trx, await tagsOfPlans(trx, plans));
      // Only the plans whose nodes were touched: a row that started to match meanwhile waits for the next tick.
      const count = await trx('subscriptions').where(where).whereIn('plan_id', plans).update({ ...patch(trx), updated_at: Date.now() });
      return { count, nodes };
    }),
  );
}

export async function runQuotaJob({ db, now: clock }: QuotaDeps): Promise<QuotaSummary> {
  const now = clock();
  const mysql = isMysql(db);
  const live = ['active', 'suspended'];
  const monthly = (q: Knex.QueryBuilder) =>
    q.whereIn('plan_id', db('plans').select('id').where('reset_policy', 'monthly')).andWhere('last_reset_at', '<=', now - RESET_PERIOD_MS);
  const anchored = (trx: Knex.Transaction) =>
    mysql
      ? trx.raw('last_reset_at + ? * ((? - last_reset_at) DIV ?)', [RESET_PERIOD_MS, now, RESET_PERIOD_MS])
      : // SQLite binds JS numbers as REAL: truncate the quotient explicitly.
        trx.raw('CAST(last_reset_at + ? * CAST((? - last_reset_at) / ? AS INTEGER) AS INTEGER)', [RESET_PERIOD_MS, now, RESET_PERIOD_MS]);

  const expired = await applyRule(
    db,
    (q) => q.whereIn('status', live).andWhere('end_time', '<=', now),
    () => ({ status: 'expired', suspended_reason: null }),
  );
  const reactivated = await applyRule(
    db,
    (q) => monthly(q.where({ status: 'suspended', suspended_reason: 'quota' }).andWhere('end_time', '>', now)),
    (trx) => ({ status: 'active', suspended_reason: null, traffic_used_bytes: 0, last_reset_at: anchored(trx) }),
  );
  const reset = await applyRule(
    db,
    (q) => monthly(q.whereIn('status', live).andWhere('end_time', '>', now)),
    (trx) => ({ traffic_used_bytes: 0, last_reset_at: anchored(trx) }),
  );
  const suspended = await applyRule(
    db,
    (q) => q.where('status', 'active').andWhere('end_time', '>', now).andWhereRaw('traffic_used_bytes >= traffic_total_bytes'),
    () => ({ status: 'suspended', suspended_reason: 'quota' }),
  );
  return {
    expired: expired.count,
    reactivated: reactivated.count,
    reset: reset.count,
    suspended: suspended.count,
    touched_nodes: [...new Set([expired, reactivated, reset, suspended].flatMap((r) => r.nodes))].sort(),
  };
}
