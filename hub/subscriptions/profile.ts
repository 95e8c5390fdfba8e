// The user behind a subscription token and what they may use now: the one lookup every /sub route
// (the client formats, the QR codes, the JSON info) starts from.
//
// A user who is not served (suspended, expired, disabled, without a plan, or with no node up) still
// gets a profile: one stand-in entry that reaches nothing and whose name says why, and a status
// code with its English phrase.
import type { FastifyInstance } from 'fastify';
import { readConfigVersion } from '../config-versions.js';
import { Node, Plan, Subscription, User } from '../db/models.js';
import { buildEntries, placeholderEntry, type Entry } from './entries.js';
import type { Usage } from './format.js';

/** Why the user is or is not served, as a machine-readable code. */
export const STATUSES = ['active', 'no_node', 'disabled', 'no_plan', 'suspended_quota', 'suspended', 'expired'] as const;
export type Status = (typeof STATUSES)[number];

/** In English: what profile-title adds to the name when the user is not served; clients show it as it is. */
export const STATUS_TEXT: Record<Status, string> = {
  active: 'active',
  no_node: 'no node available',
  disabled: 'account disabled',
  no_plan: 'no active plan',
  suspended_quota: 'traffic quota used up',
  suspended: 'subscription suspended',
  expired: 'subscription expired',
};

export interface Profile {
  user: User;
  plan: Plan | null;
  /** The nodes the user reaches; else one stand-in entry. */
  entries: Entry[];
  usage: Usage;
  status: Status;
}

/** Immutable, so cached for the process; a bound keeps a long-lived hub's memory flat. */
const CONFIG_CACHE_MAX = 512;

/** Returns the loader: the profile behind a token, or null for an unknown token. */
export function profileLoader(app: FastifyInstance): (token: string) => Promise<Profile | null> {
  const configs = new Map<number, Record<string, unknown>>();
  const baseConfig = async (version: number) => {
    let config = configs.get(version);
    if (!config) {
      config = (await readConfigVersion(app.db, app.objects, version)).config;
      if (configs.size >= CONFIG_CACHE_MAX) configs.delete(configs.keys().next().value!);
      configs.set(version, config);
    }
    return config;
  };

  return async (token) => {
    if (!/^[A-Za-z0-9_-]{20,200}$/.test(token)) return null;
    const user = await User.query(app.db).findOne({ sub_token: token });
    if (!user) return null;
    // As the admin API: the active or suspended subscription, else the newest not cancelled.
    const subscriptions = await Subscription.query(app.db).where({ user_id: user.id }).whereNot('status', 'cancelled').orderBy('id', 'desc');
    const subscription = subscriptions.find((s) => s.status === 'active' || s.status === 'suspended') ?? subscriptions[0];
    const now = app.now();
    const usage: Usage = {
      used: Number(subscription?.traffic_used_bytes ?? 0),
      total: Number(subscription?.traffic_total_bytes ?? 0),
      expire: subscription ? Math.floor(Number(subscription.end_time) / 1000) : 0,
    };
    const plan = subscription ? ((await Plan.query(app.db).findById(subscription.plan_id)) ?? null) : null;
    const standIn = (status: Exclude<Status, 'active'>, name = STATUS_TEXT[status]): Profile => ({
      user,
      plan,
      entries: [placeholderEntry(`⛔ ${name}`)],
      usage,
      status,
    });
    if (user.status !== 'active') return standIn('disabled');
    if (!subscription) return standIn('no_plan');
    if (subscription.status === 'suspended') return standIn(subscription.suspended_reason === 'quota' ? 'suspended_quota' : 'suspended');
    if (subscription.status !== 'active' || Number(subscription.end_time) <= now) return standIn('expired');

    const planTags = plan?.node_tags ?? [];
    // Only nodes that serve this user now: enabled, online, running a known base config. A drifted
    // node serves another config than applied_config_version, so entries built from it would be wrong.
    const nodes = (
      await Node.query(app.db)
        .select('id', 'name', 'address', 'public_host', 'inbound_overrides', 'tags', 'multiplier', 'applied_config_version')
        .where('enabled', true)
        .andWhere('health', 'online')
        .whereNotNull('applied_config_version')
        .whereNull('config_drift_since')
        .orderBy(['name', 'id'])
    ).filter((n) => n.tags.some((t) => planTags.includes(t)));
    const withConfigs = [];
    for (const node of nodes) {
      const config = await baseConfig(node.applied_config_version!).catch(() => undefined);
      if (config) withConfigs.push({ node, config });
    }
    const entries = buildEntries(withConfigs, planTags, user);
    if (entries.length === 0) return standIn('no_node', 'no node available right now');
    return { user, plan, entries, usage, status: 'active' };
  };
}
