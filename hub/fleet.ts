// Which users belong on which node, and telling nodes that what belongs on them changed.
// A node carries tags; a plan reaches the nodes that share a tag with it; a user belongs on a
// node while the user is active and has an active subscription to a plan that reaches it.
import type { Knex } from 'knex';
import type { SyncUser } from '../plugins/singbox-config/contract.js';
import { Node } from './db/models.js';

const reaches = (planTags: string[], nodeTags: string[]) => planTags.some((t) => nodeTags.includes(t));

/** Raises desired_revision on every node whose tags meet `tags`, so the reconciler pushes users again. */
export async function touchNodes(db: Knex, tags: readonly string[]): Promise<string[]> {
  if (tags.length === 0) return [];
  const nodes = await Node.query(db).select('id', 'tags');
  const ids = nodes.filter((n) => reaches([...tags], n.tags)).map((n) => n.id);
  if (ids.length > 0) await db('nodes').whereIn('id', ids).increment('desired_revision', 1);
  return ids;
}

/** The node tags reached by the plans of these subscriptions. */
export async function tagsOfSubscriptions(db: Knex, subscriptionIds: readonly number[]): Promise<string[]> {
  if (subscriptionIds.length === 0) return [];
  const rows = await db('subscriptions')
    .join('plans', 'plans.id', 'subscriptions.plan_id')
    .whereIn('subscriptions.id', subscriptionIds)
    .distinct('plans.node_tags');
  return [...new Set(rows.flatMap((r: { node_tags: string }) => JSON.parse(r.node_tags) as string[]))];
}

/** A user's active subscription now, with the node tags its plan reaches. */
export interface Entitlement {
  name: string;
  uuid: string;
  password: string;
  ss_key: string;
  planTags: string[];
  endTime: number;
  usedBytes: number;
  totalBytes: number;
}

/**
 * Every active subscription of an active user now, by user name: read once, it gives the users
 * of every node (usersOnNode), so a push to the whole fleet reads the users once, not per node.
 */
export async function entitlements(db: Knex, now: number): Promise<Entitlement[]> {
  const rows = await db('subscriptions')
    .join('users', 'users.id', 'subscriptions.user_id')
    .join('plans', 'plans.id', 'subscriptions.plan_id')
    .where('subscriptions.status', 'active')
    .andWhere('subscriptions.end_time', '>', now)
    .andWhere('users.status', 'active')
    .select(
      'users.name',
      'users.uuid',
      'users.password',
      'users.ss_key',
      'plans.node_tags',
      'subscriptions.end_time',
      'subscriptions.traffic_used_bytes',
      'subscriptions.traffic_total_bytes',
    )
    .orderBy('users.name');
  // Few plans, many users: each plan's tags are parsed once.
  const tags = new Map<string, string[]>();
  const tagsOf = (json: string) => tags.get(json) ?? tags.set(json, JSON.parse(json) as string[]).get(json)!;
  return rows.map((r: Record<string, string | number>) => ({
    name: String(r.name),
    uuid: String(r.uuid),
    password: String(r.password),
    ss_key: String(r.ss_key),
    planTags: tagsOf(String(r.node_tags)),
    endTime: Number(r.end_time),
    usedBytes: Number(r.traffic_used_bytes),
    totalBytes: Number(r.traffic_total_bytes),
  }));
}

/** The users of `entitled` that belong on `node`, with the bytes and time they have left there. */
export function usersOnNode(entitled: readonly Entitlement[], node: Pick<Node, 'tags' | 'multiplier'>): SyncUser[] {
  const multiplier = Number(node.multiplier);
  const seen = new Set<string>();
  return entitled
    .filter((e) => reaches(e.planTags, node.tags) && !seen.has(e.name) && seen.add(e.name))
    .map((e) => ({
      name: e.name,
      uuid: e.uuid,
      password: e.password,
      ss_key: e.ss_key,
      flow: '' as const,
      // A node with multiplier 0 is free: nothing used there counts, so nothing runs out there.
      remaining_bytes: multiplier > 0 ? Math.max(0, Math.floor((e.totalBytes - e.usedBytes) / multiplier)) : null,
      expires_at: new Date(e.endTime).toISOString(),
    }));
}

/** How many users of `entitled` belong on each node, by node id (usersOnNode's count without building its users). */
export function usersExpected(entitled: readonly Entitlement[], nodes: readonly Pick<Node, 'id' | 'tags'>[]): Map<string, number> {
  // Few plans, many users: users are grouped by their plans' tags once, and each group is matched against each node.
  const byTags = new Map<string, { tags: string[]; names: Set<string> }>();
  for (const e of entitled) {
    const key = JSON.stringify(e.planTags);
    const group = byTags.get(key) ?? byTags.set(key, { tags: e.planTags, names: new Set() }).get(key)!;
    group.names.add(e.name);
  }
  const groups = [...byTags.values()];
  return new Map(
    nodes.map((node) => {
      const reaching = groups.filter((g) => reaches(g.tags, node.tags));
      if (reaching.length === 1) return [node.id, reaching[0]!.names.size];
      return [node.id, new Set(reaching.flatMap((g) => [...g.names])).size];
    }),
  );
}
