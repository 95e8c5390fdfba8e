// What a token's holder may use now: the status, the usage and the entries every /sub route (the
// client formats, the QR codes, the JSON info) starts from.
//
// A user who is not served (suspended, expired, disabled, without a plan, or with no node up) still
// gets a profile: one stand-in entry that reaches nothing and whose name says why, and a status
// code with its English phrase.
import { LRUCache } from 'lru-cache';
import type { FastifyInstance } from 'fastify';
import { readConfigVersion } from '../config-versions.js';
import { entriesFor, entryTemplates, placeholderEntry, type Entry, type EntryTemplate } from './entries.js';
import type { Usage } from './format.js';
import type { Holder, Lookup, ServedNodes } from './lookup.js';

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

/** The statuses the holder's own rows decide; the others (active, no_node) depend on the nodes. */
export type Refusal = Exclude<Status, 'active' | 'no_node'>;

export interface Profile {
  user: Holder['user'];
  plan: Holder['plan'];
  /** The nodes the user reaches; else one stand-in entry. */
  entries: Entry[];
  usage: Usage;
  status: Status;
}

export function usageOf({ subscription }: Holder): Usage {
  return {
    used: subscription?.traffic_used_bytes ?? 0,
    total: subscription?.traffic_total_bytes ?? 0,
    expire: subscription ? Math.floor(subscription.end_time / 1000) : 0,
  };
}

/** Why the holder is not served, from their own rows; undefined when the nodes decide. */
export function refusalOf({ user, subscription }: Holder, now: number): Refusal | undefined {
  if (user.status !== 'active') return 'disabled';
  if (!subscription) return 'no_plan';
  if (subscription.status === 'suspended') return subscription.suspended_reason === 'quota' ? 'suspended_quota' : 'suspended';
  if (subscription.status !== 'active' || subscription.end_time <= now) return 'expired';
  return undefined;
}

/** The stand-in profile of a holder who is not served. */
export function standInProfile(holder: Holder, status: Exclude<Status, 'active'>): Profile {
  const name = status === 'no_node' ? 'no node available right now' : STATUS_TEXT[status];
  return { user: holder.user, plan: holder.plan, entries: [placeholderEntry(`⛔ ${name}`)], usage: usageOf(holder), status };
}

export interface BuiltProfile {
  profile: Profile;
  /** False when a node's base config could not be read, and the node was left out for this once. */
  complete: boolean;
}

/** Base configs are immutable, so cached for the process; a bound keeps a long-lived hub's memory flat. */
const CONFIG_CACHE_MAX = 512;

/**
 * Returns the builder: the profile of a looked-up holder, refused or not as the caller decided
 * (refusalOf); `nameTemplate` is sub_entry_name_template, which a profile template's own name
 * pattern replaces for its format.
 */
export function profileBuilder(
  app: FastifyInstance,
  nameTemplate = '',
): (lookup: Lookup, refusal: Refusal | undefined, namePattern?: string) => Promise<BuiltProfile> {
  const configs = new LRUCache<number, Record<string, unknown>>({
    max: CONFIG_CACHE_MAX,
    fetchMethod: async (version) => (await readConfigVersion(app.db, app.objects, version)).config,
  });
  // Every user of a plan gets the same entries but for their credentials: built once per served
  // nodes' read (the same object until they change, then dropped with it), plan tags and name pattern.
  const shared = new WeakMap<ServedNodes, Map<string, EntryTemplate[]>>();

  const templatesOf = async (served: ServedNodes, planTags: string[], pattern: string) => {
    const byTags = shared.get(served) ?? new Map<string, EntryTemplate[]>();
    shared.set(served, byTags);
    const key = JSON.stringify([pattern, planTags]);
    const kept = byTags.get(key);
    if (kept) return { templates: kept, complete: true };
    const withConfigs = [];
    let complete = true;
    for (const node of served.nodes.filter((n) => n.tags.some((t) => planTags.includes(t)))) {
      const config = await configs.fetch(node.applied_config_version).catch(() => undefined);
      if (config) withConfigs.push({ node, config });
      else complete = false;
    }
    const templates = entryTemplates(withConfigs, planTags, pattern);
    if (complete) byTags.set(key, templates);
    return { templates, complete };
  };

  return async ({ holder, served }, refusal, namePattern) => {
    if (refusal) return { profile: standInProfile(holder, refusal), complete: true };
    const { templates, complete } = await templatesOf(served, holder.plan?.node_tags ?? [], namePattern || nameTemplate);
    const entries = entriesFor(templates, holder.user);
    if (entries.length === 0) return { profile: standInProfile(holder, 'no_node'), complete };
    return { profile: { user: holder.user, plan: holder.plan, entries, usage: usageOf(holder), status: 'active' }, complete };
  };
}
