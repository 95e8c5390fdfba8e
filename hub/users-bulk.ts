// One action on many users (the users table's bulk actions): each user in a transaction of their own,
// through the same changes the single-user and subscription routes make (hub/user-changes.ts,
// hub/subscription-changes.ts), so one user's refusal (a 409 as the single route would answer)
// leaves the others done. The node tags of every change are collected for the caller to raise once.
import type { Knex } from 'knex';
import { Subscription, User } from './db/models.js';
import { locked } from './db/queries.js';
import { HubError } from './errors.js';
import { applySubscriptionAction, assignPlan, type SubscriptionAction } from './subscription-changes.js';
import { deleteUser, setUserStatus } from './user-changes.js';
import { governing } from './users.js';
import { matchingUsers, type TableFilters } from './users-table.js';

export const BULK_ACTIONS = ['extend', 'reset_traffic', 'change_plan', 'suspend', 'resume', 'disable', 'enable', 'delete'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];
export const MAX_BULK_USERS = 10_000;

export type BulkTarget = { ids: number[] } | { filter: TableFilters };
export interface BulkOptions {
  now: number;
  days?: number;
  plan_id?: number;
}
export interface BulkRowResult {
  id: number;
  name: string;
  ok: boolean;
  error?: string;
}

/** The subscription action each subscription-level bulk action runs on the governing subscription. */
const ON_SUBSCRIPTION: Partial<Record<BulkAction, SubscriptionAction>> = {
  extend: 'renew',
  reset_traffic: 'reset-traffic',
  suspend: 'suspend',
  resume: 'resume',
};

/** The users `target` names, by id; ids of no user are listed apart. */
export async function bulkTargets(db: Knex, target: BulkTarget): Promise<{ users: { id: number; name: string }[]; missing: number[] }> {
  if ('ids' in target) {
    const ids = [...new Set(target.ids)];
    const users = (await db('users').whereIn('id', ids).orderBy('id').select('id', 'name')) as { id: number; name: string }[];
    const found = new Set(users.map((u) => u.id));
    return { users, missing: ids.filter((id) => !found.has(id)) };
  }
  const users = (await matchingUsers(db, target.filter).orderBy('u.id').limit(MAX_BULK_USERS + 1).select('u.id', 'u.name')) as { id: number; name: string }[];
  if (users.length > MAX_BULK_USERS) throw new HubError('HUB_ERR_TOO_LARGE', `the filter matches more than ${MAX_BULK_USERS} users; narrow it`);
  return { users, missing: [] };
}

/** Runs `action` on one user in its own transaction; answers the node tags it changed. */
async function runOne(db: Knex, userId: number, action: BulkAction, options: BulkOptions): Promise<string[]> {
  return db.transaction(async (trx) => {
    const user = await locked(trx, User.query(trx).findById(userId));
    if (!user) throw new HubError('HUB_ERR_NOT_FOUND', `no user ${userId}`);
    if (action === 'delete') return (await deleteUser(trx, user)).nodeTags;
    if (action === 'disable' || action === 'enable') return (await setUserStatus(trx, user, action === 'disable' ? 'disabled' : 'active')).nodeTags;
    const current = governing(await Subscription.query(trx).where({ user_id: user.id }).whereNot('status', 'cancelled').orderBy('id', 'desc'));
    if (action === 'change_plan') {
      // The live subscription ends (cancelled) and the new plan starts now.
      const live = current && (current.status === 'active' || current.status === 'suspended') ? current : null;
      const ended = live ? (await applySubscriptionAction(trx, live.id, 'cancel', options)).nodeTags : [];
      return [...ended, ...(await assignPlan(trx, user, options.plan_id!, options.now)).nodeTags];
    }
    if (!current) throw new HubError('HUB_ERR_CONFLICT', `user ${user.name} has no subscription; assign a plan first`);
    return (await applySubscriptionAction(trx, current.id, ON_SUBSCRIPTION[action]!, options)).nodeTags;
  });
}

/**
 * Runs `action` on each user in turn; `onRow` hears each result, when it started (performance.now())
 * and its error (the caller audits it). Answers the
 * per-row results, in id order, and the node tags to raise.
 */
export async function runBulk(
  db: Knex,
  users: readonly { id: number; name: string }[],
  action: BulkAction,
  options: BulkOptions,
  onRow: (row: BulkRowResult, started: number, error: unknown) => Promise<void>,
): Promise<{ results: BulkRowResult[]; nodeTags: string[] }> {
  const results: BulkRowResult[] = [];
  const tags = new Set<string>();
  for (const { id, name } of users) {
    const started = performance.now();
    let row: BulkRowResult;
    let failure: unknown;
    try {
      for (const tag of await runOne(db, id, action, options)) tags.add(tag);
      row = { id, name, ok: true };
    } catch (error) {
      // Any failure is this user's alone: the rows before it are committed, the ones after still run.
      failure = error;
      row = { id, name, ok: false, error: (error as Error).message };
    }
    results.push(row);
    await onRow(row, started, failure);
  }
  return { results, nodeTags: [...tags] };
}
