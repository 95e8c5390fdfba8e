// A subscription's life as the routes of /api/v1/subscriptions and the users' bulk actions both move
// it (the table of what each action does from each status is in hub/routes/subscriptions.ts). Each
// change runs inside the caller's transaction and answers the node tags whose revisions must rise,
// so one request raises them once however many subscriptions it changed.
import type { Knex } from 'knex';
import { Plan, Subscription, User, type SubscriptionStatus } from './db/models.js';
import { locked } from './db/queries.js';
import { HubError } from './errors.js';
import { recordRenewal } from './user-events/record.js';

const DAY_MS = 86_400_000;

/** How a subscription looks to an admin deciding what to do: `suspended (quota)`, `expired`... */
const statusOf = (s: { status: SubscriptionStatus; suspended_reason: string | null }) =>
  s.status === 'suspended' ? `suspended (${s.suspended_reason ?? 'admin'})` : s.status;

function refuse(s: Subscription, action: string, hint = ''): never {
  throw new HubError('HUB_ERR_CONFLICT', `cannot ${action} subscription ${s.id}: it is ${statusOf(s)}${hint ? `; ${hint}` : ''}`);
}

/** A user has at most one subscription that is active or suspended. */
async function refuseSecondLive(db: Knex, user: User, exceptId?: number): Promise<void> {
  const query = Subscription.query(db).where({ user_id: user.id }).whereIn('status', ['active', 'suspended']).first();
  if (exceptId !== undefined) query.whereNot('id', exceptId);
  const live = await query;
  if (live) {
    throw new HubError('HUB_ERR_CONFLICT', `user ${user.name} already has subscription ${live.id} (${statusOf(live)}); renew or cancel it first`);
  }
}

export const SUBSCRIPTION_ACTIONS = ['renew', 'suspend', 'resume', 'reset-traffic', 'cancel'] as const;
export type SubscriptionAction = (typeof SUBSCRIPTION_ACTIONS)[number];

type Change = (s: Subscription, trx: Knex, user: User) => Promise<Partial<Subscription>>;

/** What `action` changes on a subscription, or a 409 when its status does not allow it. */
function changeOf(action: SubscriptionAction, now: number, days?: number): Change {
  switch (action) {
    case 'renew':
      return async (s, trx, user) => {
        if (s.status === 'cancelled') refuse(s, 'renew', 'assign a new plan instead');
        const extra = days ?? (await Plan.query(trx).findById(s.plan_id))!.duration_days;
        const end_time = Math.max(now, Number(s.end_time)) + extra * DAY_MS;
        if (s.status === 'expired') await refuseSecondLive(trx, user, s.id);
        await recordRenewal(trx, s.id, end_time, now);
        return s.status === 'expired' ? { end_time, status: 'active', suspended_reason: null } : { end_time };
      };
    case 'suspend':
      return async (s) => {
        if (s.status !== 'active') refuse(s, 'suspend');
        return { status: 'suspended', suspended_reason: 'admin' };
      };
    case 'resume':
      return async (s) => {
        if (s.status === 'suspended' && s.suspended_reason === 'quota') refuse(s, 'resume', 'it ran out of traffic: reset its traffic to lift that');
        if (s.status !== 'suspended') refuse(s, 'resume', 'only a subscription an admin suspended can be resumed');
        return { status: 'active', suspended_reason: null };
      };
    case 'reset-traffic':
      return async (s, trx) => {
        if (s.status === 'cancelled') refuse(s, 'reset the traffic of');
        // Recorded with the plans' scheduled resets, so a subscription's history of resets is whole.
        await trx('subscription_resets').insert({ subscription_id: s.id, at: now, used_bytes: s.traffic_used_bytes, strategy: 'manual' });
        const reset = { traffic_used_bytes: 0, last_reset_at: now };
        return s.status === 'suspended' && s.suspended_reason === 'quota' ? { ...reset, status: 'active', suspended_reason: null } : reset;
      };
    case 'cancel':
      return async (s) => {
        if (s.status === 'cancelled') refuse(s, 'cancel');
        return { status: 'cancelled', suspended_reason: null };
      };
  }
}

/**
 * Applies `action` to subscription `id` inside `trx`, holding the user's row (and on MySQL the
 * subscription's); answers the changed subscription and the node tags its plan reaches.
 */
export async function applySubscriptionAction(
  trx: Knex,
  id: number,
  action: SubscriptionAction,
  { now, days }: { now: number; days?: number },
): Promise<{ subscription: Subscription; nodeTags: string[] }> {
  const found = await Subscription.query(trx).findById(id);
  if (!found) throw new HubError('HUB_ERR_NOT_FOUND', `no subscription ${id}`);
  // Always user first, then subscription: the order assign takes them in too.
  const user = (await locked(trx, User.query(trx).findById(found.user_id)))!;
  const subscription = (await locked(trx, Subscription.query(trx).findById(id)))!;
  const patch = await changeOf(action, now, days)(subscription, trx, user);
  const updated = await Subscription.query(trx).patchAndFetchById(id, patch);
  const plan = await Plan.query(trx).findById(subscription.plan_id);
  return { subscription: updated, nodeTags: plan!.node_tags };
}

/**
 * Gives the user (whose row the caller holds) a new subscription to plan `planId`, active at once,
 * its period (and quota period) counted from `start`: usually now; a customer who paid from another day
 * gets that day.
 */
export async function assignPlan(trx: Knex, user: User, planId: number, start: number): Promise<{ subscription: Subscription; nodeTags: string[] }> {
  const plan = await Plan.query(trx).findById(planId);
  if (!plan) throw new HubError('HUB_ERR_NOT_FOUND', `no plan ${planId}`);
  if (!plan.is_enabled) throw new HubError('HUB_ERR_CONFLICT', `plan ${plan.name} is disabled; enable it or choose another`);
  await refuseSecondLive(trx, user);
  const subscription = await Subscription.query(trx).insertAndFetch({
    user_id: user.id,
    plan_id: planId,
    start_time: start,
    end_time: start + plan.duration_days * DAY_MS,
    traffic_used_bytes: 0,
    traffic_total_bytes: Number(plan.traffic_limit_bytes),
    status: 'active',
    suspended_reason: null,
    last_reset_at: start,
  });
  return { subscription, nodeTags: plan.node_tags };
}
