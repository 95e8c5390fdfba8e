// The quota job: set-based SQL over subscriptions, never a loop over rows. In order:
//   1. active or suspended past end_time (the hub's clock)          → expired
//   2. traffic reset due, suspended for quota                       → active, used := 0
//   3. traffic reset due, the others (active, suspended by an admin) → used := 0
//   4. active with traffic_used_bytes >= traffic_total_bytes         → suspended ('quota')
// A reset is due when last_reset_at < the plan's latest boundary ≤ now, and last_reset_at becomes
// that boundary, so resets neither drift with the job's interval nor repeat within a period. The
// calendar policies' boundaries (hub/reset-policies.ts) are one instant per policy, and per reset
// day for monthly: each is passed to one UPDATE per rule (only for policies some plan has). rolling_30d's boundary is each row's own (every 30
// days from its last reset), computed in SQL. Each reset is recorded in subscription_resets with
// the traffic used before it, in the transaction that resets.
// Each rule first raises desired_revision on the nodes its subscriptions' plans reach, then updates
// those subscriptions, in one transaction: the reconciler sees both or neither. Nodes are locked
// before subscriptions, as the traffic job does, so the two never wait on each other in a cycle.
// With user events on, the expiry and suspension rules record theirs in the same transaction, and
// the thresholds and expiring windows are looked for after the resets (hub/user-events/record.ts).
import type { Knex } from 'knex';
import { isMysql } from '../db/queries.js';
import { touchNodes } from '../fleet.js';
import { latestBoundary, RESET_PERIOD_MS, type CalendarPolicy, type ResetPolicy } from '../reset-policies.js';
import { recordConditions, recordTransitions, type TransitionKind, type UserEventRules } from '../user-events/record.js';
import { withRetry } from './common.js';

export interface QuotaDeps {
  db: Knex;
  now(): number;
  /** The IANA time zone whose midnights the calendar reset policies fall on (reset_timezone). */
  timeZone: string;
  /** Record user events (hub/user-events) with these rules; none without. */
  userEvents?: UserEventRules;
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
type Value = (trx: Knex.Transaction) => Knex.Raw;

/** The subscriptions of some plans whose reset is due, and the instant their new period starts. */
interface ResetGroup {
  strategy: ResetPolicy;
  due: Where;
  periodStart: Value;
}

async function tagsOfPlans(trx: Knex.Transaction, planIds: number[]): Promise<string[]> {
  const rows = await trx('plans').whereIn('id', planIds).select('node_tags');
  return [...new Set(rows.flatMap((r: { node_tags: string }) => JSON.parse(r.node_tags) as string[]))];
}

/**
 * Applies `patch` to the subscriptions `where` selects; returns how many and which nodes were
 * touched. With `record`, each of them first gets a subscription_resets row.
 */
async function applyRule(
  db: Knex,
  where: Where,
  patch: (trx: Knex.Transaction) => Record<string, unknown>,
  record?: { strategy: ResetPolicy; at: Value },
  event?: (trx: Knex.Transaction, rows: Knex.QueryBuilder) => Promise<void>,
) {
  return withRetry(() =>
    db.transaction(async (trx) => {
      const plans = (await trx('subscriptions').where(where).distinct('plan_id')).map((r: { plan_id: number }) => Number(r.plan_id));
      if (plans.length === 0) return { count: 0, nodes: [] as string[] };
      const nodes = await touchNodes(trx, await tagsOfPlans(trx, plans));
      // Only the plans whose nodes were touched: a row that started to match meanwhile waits for the next tick.
      const rows = () => trx('subscriptions').where(where).whereIn('plan_id', plans);
      // InnoDB: lock the rows before INSERT … SELECT reads them with shared locks, which the
      // UPDATE would then have to upgrade while the traffic job waits for the same rows.
      if (isMysql(trx) && (record || event)) await rows().select('id').forUpdate();
      if (record) {
        await trx
          .into(trx.raw('?? (??, ??, ??, ??)', ['subscription_resets', 'subscription_id', 'at', 'used_bytes', 'strategy']))
          .insert(rows().select('id', record.at(trx), 'traffic_used_bytes', trx.raw('?', [record.strategy])));
      }
      if (event) await event(trx, rows());
      const count = await rows().update({ ...patch(trx), updated_at: Date.now() });
      return { count, nodes };
    }),
  );
}

/** Every group of subscriptions whose plans reset together, as of `now`: only for the policies some plan has. */
async function resetGroups(db: Knex, now: number, timeZone: string): Promise<ResetGroup[]> {
  const ofPlans = (q: Knex.QueryBuilder, where: Record<string, unknown>) => q.whereIn('plan_id', db('plans').select('id').where(where));
  const rolling: ResetGroup = {
    strategy: 'rolling_30d',
    due: (q) => ofPlans(q, { reset_policy: 'rolling_30d' }).andWhere('last_reset_at', '<=', now - RESET_PERIOD_MS),
    periodStart: (trx) =>
      isMysql(trx)
        ? trx.raw('last_reset_at + ? * ((? - last_reset_at) DIV ?)', [RESET_PERIOD_MS, now, RESET_PERIOD_MS])
        : // SQLite binds JS numbers as REAL: truncate the quotient explicitly.
          trx.raw('CAST(last_reset_at + ? * CAST((? - last_reset_at) / ? AS INTEGER) AS INTEGER)', [RESET_PERIOD_MS, now, RESET_PERIOD_MS]),
  };
  const calendar = (strategy: CalendarPolicy, resetDay: number | null): ResetGroup => {
    const boundary = latestBoundary(strategy, now, timeZone, resetDay ?? undefined);
    const plans = strategy === 'monthly' ? { reset_policy: strategy, reset_day: resetDay } : { reset_policy: strategy };
    return {
      strategy,
      due: (q) => ofPlans(q, plans).andWhere('last_reset_at', '<', boundary),
      periodStart: (trx) => trx.raw('?', [boundary]),
    };
  };
  const used: { reset_policy: ResetPolicy; reset_day: number | null }[] = await db('plans')
    .whereNot('reset_policy', 'none')
    .distinct('reset_policy', 'reset_day')
    .orderBy(['reset_policy', 'reset_day']);
  return used.map(({ reset_policy, reset_day }) =>
    reset_policy === 'rolling_30d' ? rolling : calendar(reset_policy as CalendarPolicy, reset_day === null ? null : Number(reset_day)),
  );
}

export async function runQuotaJob({ db, now: clock, timeZone, userEvents }: QuotaDeps): Promise<QuotaSummary> {
  const now = clock();
  const eventOf = (kind: TransitionKind) => userEvents && ((trx: Knex.Transaction, rows: Knex.QueryBuilder) => recordTransitions(trx, kind, rows, now));
  const live = ['active', 'suspended'];
  const groups = await resetGroups(db, now, timeZone);

  const expired = await applyRule(
    db,
    (q) => q.whereIn('status', live).andWhere('end_time', '<=', now),
    () => ({ status: 'expired', suspended_reason: null }),
    undefined,
    eventOf('subscription.expired'),
  );
  const reactivated = [];
  for (const { strategy, due, periodStart } of groups) {
    reactivated.push(
      await applyRule(
        db,
        (q) => due(q.where({ status: 'suspended', suspended_reason: 'quota' }).andWhere('end_time', '>', now)),
        (trx) => ({ status: 'active', suspended_reason: null, traffic_used_bytes: 0, last_reset_at: periodStart(trx) }),
        { strategy, at: periodStart },
      ),
    );
  }
  const reset = [];
  for (const { strategy, due, periodStart } of groups) {
    reset.push(
      await applyRule(
        db,
        (q) => due(q.whereIn('status', live).andWhere('end_time', '>', now)),
        (trx) => ({ traffic_used_bytes: 0, last_reset_at: periodStart(trx) }),
        { strategy, at: periodStart },
      ),
    );
  }
  // After the resets (a new period is below every threshold), before the suspensions (a user who
  // ran out in one go crossed the thresholds first).
  if (userEvents) await withRetry(() => recordConditions(db, userEvents, now));
  const suspended = await applyRule(
    db,
    (q) => q.where('status', 'active').andWhere('end_time', '>', now).andWhereRaw('traffic_used_bytes >= traffic_total_bytes'),
    () => ({ status: 'suspended', suspended_reason: 'quota' }),
    undefined,
    eventOf('subscription.suspended'),
  );
  const total = (rules: { count: number }[]) => rules.reduce((sum, r) => sum + r.count, 0);
  return {
    expired: expired.count,
    reactivated: total(reactivated),
    reset: total(reset),
    suspended: suspended.count,
    touched_nodes: [...new Set([expired, ...reactivated, ...reset, suspended].flatMap((r) => r.nodes))].sort(),
  };
}
