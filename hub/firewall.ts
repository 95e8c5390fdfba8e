// The fleet's firewall as the hub owns it. An admin keeps rule sets; a set reaches the nodes that
// carry one of its tags, or every node when it has none. A node's rule list is the rules of every
// set that reaches it, in set order, each id prefixed with its set's (`<set id>.<rule id>`) so ids
// from different sets never collide; its revision is the configHash of that list, so it changes
// exactly when the list does (a set's rules, its tags, or the node's tags). The `firewall` job
// (hub/jobs/firewall.ts) pushes the list to every node whose plugin confirmed another revision.
import { Type } from '@fastify/type-provider-typebox';
import type { Knex } from 'knex';
import { configHash } from '../agent-core/common/config-hash.js';
import type { AgentDescription } from '../agent-core/common/description.js';
import { MAX_RULES, Rule, ruleListProblems, type Rule as RuleType } from '../plugins/firewall/contract.js';
import type { Actor } from './audit.js';
import { FirewallRuleSet, iso, Node, NodeFirewall } from './db/models.js';
import { isUniqueViolation, locked, whereNameIs } from './db/queries.js';
import { HubError } from './errors.js';

/** The node command the job pushes with; a node whose plugin lacks it is left alone. */
export const RULES_SYNC_COMMAND = 'firewall.rules.sync';

/**
 * A rule id within a set: the contract's pattern, 16 characters shorter, so that `<set id>.` in
 * front still fits the 80 the node takes.
 */
export const SetRule = Type.Object(
  {
    ...Rule.properties,
    id: Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$', description: 'Unique within the set; nodes see it as `<set id>.<id>`.' }),
  },
  { additionalProperties: false },
);

/** The most rules all sets hold together: what one node takes in one sync, whatever sets reach it. */
export const MAX_FLEET_RULES = MAX_RULES;

/** What an admin writes: the set's fields besides its id and history. */
export interface RuleSetInput {
  name: string;
  tags: string[];
  rules: RuleType[];
  comment: string;
}

/** A set reaches a node that carries one of its tags; a set without tags reaches every node. */
const reaches = (set: Pick<FirewallRuleSet, 'tags'>, nodeTags: readonly string[]) => set.tags.length === 0 || set.tags.some((t) => nodeTags.includes(t));

export interface DesiredFirewall {
  revision: string;
  rules: RuleType[];
  /** The sets the rules come from, by id. */
  sets: number[];
}

/**
 * Every node's desired list, from the sets as read once: nodes reached by the same sets share one
 * list, built and hashed once however many nodes there are.
 */
export class FirewallPlan {
  private readonly built = new Map<string, DesiredFirewall>();
  private readonly sets: FirewallRuleSet[];

  constructor(sets: readonly FirewallRuleSet[]) {
    this.sets = [...sets].sort((a, b) => a.id - b.id);
  }

  forNode(nodeTags: readonly string[]): DesiredFirewall {
    const matching = this.sets.filter((s) => reaches(s, nodeTags));
    const key = matching.map((s) => s.id).join(',');
    let desired = this.built.get(key);
    if (!desired) {
      const rules = matching.flatMap((set) => set.rules.map((rule) => ({ ...rule, id: `${set.id}.${rule.id}` })));
      desired = { revision: configHash(rules), rules, sets: matching.map((s) => s.id) };
      this.built.set(key, desired);
    }
    return desired;
  }
}

/**
 * The plan of the sets as they are now. The sets are read and the lists built again only when a
 * set was added, removed or changed what nodes get (its hash), so a tick that finds nothing new
 * reads two short columns instead of every rule.
 */
export class PlanReader {
  private last: { key: string; plan: FirewallPlan } | undefined;

  async read(db: Knex): Promise<FirewallPlan> {
    const heads: { id: number; hash: string }[] = await db('firewall_rule_sets').orderBy('id').select('id', 'hash');
    const key = heads.map((h) => `${h.id}:${h.hash}`).join(',');
    if (this.last?.key === key) return this.last.plan;
    // Read after the key: a change in between is in this plan, and the next read's key differs.
    const plan = new FirewallPlan(await FirewallRuleSet.query(db).orderBy('id'));
    this.last = { key, plan };
    return plan;
  }
}

/** What of a set the nodes' lists depend on. */
const setHash = (input: RuleSetInput) => configHash({ tags: input.tags, rules: input.rules });

/**
 * Whether a node can take the hub's rules, from what its agent last described: `ready` (its
 * firewall plugin has rules.sync), `missing` (no firewall plugin), `disabled` (turned off in its
 * agent.yaml), `outdated` (a firewall plugin from before rules.sync) or `unknown` (not described yet).
 */
export type FirewallSupport = 'ready' | 'missing' | 'disabled' | 'outdated' | 'unknown';
export const FIREWALL_SUPPORT: readonly FirewallSupport[] = ['ready', 'missing', 'disabled', 'outdated', 'unknown'];

export function firewallSupport(agent: AgentDescription | null): FirewallSupport {
  if (!agent) return 'unknown';
  const plugin = agent.plugins.find((p) => p.id === 'firewall');
  if (!plugin) return 'missing';
  if (plugin.state === 'disabled') return 'disabled';
  return plugin.commands.some((c) => c.name === RULES_SYNC_COMMAND) ? 'ready' : 'outdated';
}

/**
 * Every node's FirewallSupport from the node-status job's record. A description is most of a
 * node_status row (about 12 KB), so one is read and parsed only when its described_at moved since
 * this reader last saw it; a tick then reads two columns per node.
 */
export class SupportReader {
  private readonly known = new Map<string, { describedAt: number; support: FirewallSupport }>();

  async read(db: Knex): Promise<Map<string, FirewallSupport>> {
    const rows: { node_id: string; described_at: number | string | null }[] = await db('node_status').select('node_id', 'described_at');
    const stale = rows.filter((r) => r.described_at !== null && this.known.get(r.node_id)?.describedAt !== Number(r.described_at)).map((r) => r.node_id);
    for (let i = 0; i < stale.length; i += 500) {
      const described = await db('node_status').whereIn('node_id', stale.slice(i, i + 500)).select('node_id', 'agent', 'described_at');
      for (const row of described as { node_id: string; agent: string | null; described_at: number | string | null }[]) {
        const support = firewallSupport(row.agent === null ? null : (JSON.parse(row.agent) as AgentDescription));
        this.known.set(row.node_id, { describedAt: Number(row.described_at), support });
      }
    }
    const listed = new Set(rows.map((r) => r.node_id));
    for (const id of this.known.keys()) if (!listed.has(id)) this.known.delete(id);
    return new Map(rows.map((r) => [r.node_id, r.described_at === null ? 'unknown' : (this.known.get(r.node_id)?.support ?? 'unknown')]));
  }
}

export async function findRuleSet(db: Knex, id: number, lock = false): Promise<FirewallRuleSet> {
  const query = FirewallRuleSet.query(db).findById(id);
  const set = await (lock ? locked(db, query) : query);
  if (!set) throw new HubError('HUB_ERR_NOT_FOUND', `no firewall rule set ${id}`);
  return set;
}

/**
 * Refuses what must not be stored: a rule the node would refuse, a name taken, or more rules in
 * all sets together than one node takes. Reads every set locked (MySQL), so two saves cannot both
 * pass the total.
 */
async function refuseBadSet(trx: Knex.Transaction, input: RuleSetInput, exceptId?: number): Promise<void> {
  // The node's own check, so the hub stores no rule a node would refuse; ids as the admin wrote them.
  const problems = ruleListProblems(input.rules);
  if (problems.length > 0) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw new HubError('HUB_ERR_BAD_REQUEST', `body.rules: ${problems.slice(0, 5).join('; ')}${more}`);
  }
  const named = FirewallRuleSet.query(trx).first();
  whereNameIs(named, 'name', input.name);
  if (exceptId !== undefined) named.whereNot('id', exceptId);
  if (await named) throw new HubError('HUB_ERR_CONFLICT', `a firewall rule set named ${input.name} already exists (names are compared without case)`);
  const others = await locked(trx, FirewallRuleSet.query(trx).select('id', 'rules'));
  const total = others.filter((s) => s.id !== exceptId).reduce((n, s) => n + s.rules.length, input.rules.length);
  if (total > MAX_FLEET_RULES) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `body.rules: all rule sets together would hold ${total} rules; a node takes at most ${MAX_FLEET_RULES}`);
  }
}

const saving = async <T>(name: string, write: () => PromiseLike<T>): Promise<T> => {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw new HubError('HUB_ERR_CONFLICT', `a firewall rule set named ${name} already exists`);
    throw error;
  }
};

export function createRuleSet(db: Knex, input: RuleSetInput, actor: Actor): Promise<FirewallRuleSet> {
  return saving(input.name, () =>
    db.transaction(async (trx) => {
      await refuseBadSet(trx, input);
      return FirewallRuleSet.query(trx).insertAndFetch({ ...input, hash: setHash(input), created_by: actor.name, updated_by: actor.name });
    }),
  );
}

/** Replaces the set's fields; its id, and so its rules' ids on the nodes, stay. */
export function replaceRuleSet(db: Knex, id: number, input: RuleSetInput, actor: Actor): Promise<FirewallRuleSet> {
  return saving(input.name, () =>
    db.transaction(async (trx) => {
      await findRuleSet(trx, id, true);
      await refuseBadSet(trx, input, id);
      return FirewallRuleSet.query(trx).patchAndFetchById(id, { ...input, hash: setHash(input), updated_by: actor.name });
    }),
  );
}

export async function deleteRuleSet(db: Knex, id: number): Promise<void> {
  await db.transaction(async (trx) => {
    await findRuleSet(trx, id, true);
    await FirewallRuleSet.query(trx).deleteById(id);
  });
}

/** One node as the firewall screen shows it: what it should enforce, what it confirmed, what went wrong. */
export interface NodeFirewallView {
  node_id: string;
  name: string;
  tags: string[];
  enabled: boolean;
  firewall: FirewallSupport;
  desired_revision: string;
  /** Rules in the desired list, and the sets they come from. */
  rules: number;
  sets: number[];
  confirmed_revision: string | null;
  synced_at: string | null;
  in_sync: boolean;
  /** What the node said it could not enforce with the revision it confirmed (no nft, say). */
  warnings: string[];
  last_error: { message: string; revision: string | null; at: string } | null;
}


export async function nodeFirewalls(db: Knex, readers: { plan: PlanReader; support: SupportReader }): Promise<NodeFirewallView[]> {
  const [nodes, plan, states, supported] = await Promise.all([
    Node.query(db).select('id', 'name', 'tags', 'enabled').orderBy('id'),
    readers.plan.read(db),
    NodeFirewall.query(db),
    readers.support.read(db),
  ]);
  const stateOf = new Map(states.map((s) => [s.node_id, s]));
  return nodes.map((node) => {
    const desired = plan.forNode(node.tags);
    const state = stateOf.get(node.id);
    const confirmed = state?.revision ?? null;
    return {
      node_id: node.id,
      name: node.name,
      tags: node.tags,
      enabled: Boolean(node.enabled),
      firewall: supported.get(node.id) ?? 'unknown',
      desired_revision: desired.revision,
      rules: desired.rules.length,
      sets: desired.sets,
      confirmed_revision: confirmed,
      synced_at: iso(state?.synced_at ?? null),
      in_sync: confirmed === desired.revision,
      warnings: state?.warnings ?? [],
      last_error: state?.last_error ? { message: state.last_error, revision: state.error_revision, at: iso(state.error_at)! } : null,
    };
  });
}
