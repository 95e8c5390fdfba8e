// The `firewall` job: every enabled node whose firewall plugin confirmed a revision other than its
// desired one (hub/firewall.ts) gets firewall.rules.sync {revision, rules}. A job of its own beside
// the reconciler, on the same interval: it reads rule sets instead of users, its pushes never wait
// behind a slow config apply, and it has its own lease, figures and last error.
//
// Success records the revision the node confirmed (node_firewall) and what it could not enforce;
// a refusal or a node that does not answer records last_error there and backs that node off
// (jobs/backoff.ts). Nodes whose agent describes no firewall plugin with rules.sync are skipped and
// listed as such (the node-status job's record says which). Every push is written to the audit log.
// The node keeps its rules across restarts and takes the same revision again as a no-op, so a push
// repeated after a lost answer costs nothing.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { RulesSyncInput, RulesSyncOutput } from '../../plugins/firewall/contract.js';
import type { AgentPool } from '../agents.js';
import { recordAudit } from '../audit.js';
import { Node, NodeFirewall } from '../db/models.js';
import { PlanReader, RULES_SYNC_COMMAND, SupportReader, type DesiredFirewall, type FirewallSupport } from '../firewall.js';
import { Backoff } from './backoff.js';
import { failure, mapLimit, recordNodeError, recordNodeSeen, type PartResult } from './common.js';

const JOB = 'firewall';
export const FIREWALL_SYNC_ACTION = 'node.firewall.sync';

export interface FirewallDeps {
  db: Knex;
  agents: AgentPool;
  now(): number;
  logger: AppLogger;
}

export type NodeFirewallResult = { node_id: string; revision: string } & (
  | (PartResult & { rules?: number; changed?: boolean; warnings?: string[] })
  /** The node cannot take the rules; `firewall` says why. */
  | { status: 'skipped'; firewall: Exclude<FirewallSupport, 'ready'> }
);

export interface FirewallSummary {
  /** Enabled nodes, and how many of them had confirmed their desired revision already. */
  nodes: number;
  in_sync: number;
  applied: number;
  failed: number;
  waiting: number;
  skipped: number;
  /** Every node that was not in sync. */
  results: NodeFirewallResult[];
}

export class FirewallPusher {
  private readonly backoff: Backoff;
  private readonly plans = new PlanReader();
  private readonly support = new SupportReader();

  constructor(private readonly deps: FirewallDeps) {
    this.backoff = new Backoff(deps.now);
  }

  async tick(): Promise<FirewallSummary> {
    const { db } = this.deps;
    // Most ticks find every node in sync: the whole row (address, credentials) is read only for the others.
    const [nodes, plan, states, support] = await Promise.all([
      Node.query(db).where('enabled', true).orderBy('id').select('id', 'tags'),
      this.plans.read(db),
      NodeFirewall.query(db).select('node_id', 'revision'),
      this.support.read(db),
    ]);
    const confirmed = new Map(states.map((s) => [s.node_id, s.revision]));
    const desired = new Map(nodes.map((node) => [node.id, plan.forNode(node.tags)]));
    const behind = nodes.filter((node) => confirmed.get(node.id) !== desired.get(node.id)!.revision).map((node) => node.id);
    const rows = new Map<string, Node>();
    for (let i = 0; i < behind.length; i += 500) for (const node of await Node.query(db).findByIds(behind.slice(i, i + 500))) rows.set(node.id, node);
    // A node deleted since the first read has nothing to be pushed.
    const due = behind.filter((id) => rows.has(id));
    const results = await mapLimit(due, 8, (id) => this.push(rows.get(id)!, desired.get(id)!, support.get(id) ?? 'unknown'));
    const count = (status: NodeFirewallResult['status']) => results.filter((r) => r.status === status).length;
    return {
      nodes: nodes.length,
      in_sync: nodes.length - behind.length,
      applied: count('applied'),
      failed: count('failed'),
      waiting: count('waiting'),
      skipped: count('skipped'),
      results,
    };
  }

  private async push(node: Node, desired: DesiredFirewall, support: FirewallSupport): Promise<NodeFirewallResult> {
    const { db, agents, now, logger } = this.deps;
    const { revision, rules } = desired;
    if (support !== 'ready') return { node_id: node.id, revision, status: 'skipped', firewall: support };
    const retryAt = this.backoff.waitingUntil(node.id, false, node.last_seen_at);
    if (retryAt !== undefined) return { node_id: node.id, revision, status: 'waiting', retry_at: new Date(retryAt).toISOString() };

    const started = performance.now();
    // The audit record names the rules by their count and the sets they come from.
    const audited = { revision, rules: rules.length, sets: desired.sets };
    const audit = (error?: unknown) =>
      recordAudit(db, logger, { actor: { id: null, name: JOB }, action: FIREWALL_SYNC_ACTION, target: node.id, input: audited, started, error });
    try {
      const input: RulesSyncInput = { revision, rules };
      const answer = (await agents.execute(node, RULES_SYNC_COMMAND, input)).result as RulesSyncOutput;
      const row = { revision, synced_at: now(), warnings: JSON.stringify(answer.warnings), last_error: null, error_revision: null, error_at: null };
      await db('node_firewall').insert({ node_id: node.id, ...row }).onConflict('node_id').merge(row);
      this.backoff.succeeded(node.id);
      await recordNodeSeen(db, node.id, JOB, now());
      await audit();
      logger.info('firewall rules synced', { node_id: node.id, revision, rules: rules.length, changed: answer.changed });
      return { node_id: node.id, revision, status: 'applied', rules: rules.length, changed: answer.changed, warnings: answer.warnings };
    } catch (error) {
      this.backoff.failed(node.id, error);
      const row = { last_error: (error as Error).message.slice(0, 1000), error_revision: revision, error_at: now() };
      await db('node_firewall')
        .insert({ node_id: node.id, ...row })
        .onConflict('node_id')
        .merge(row)
        .catch((e: Error) => logger.warn('firewall state not stored', { node_id: node.id, error: e.message }));
      await recordNodeError(db, node.id, `${JOB}: revision ${revision}`, error, now());
      await audit(error);
      logger.warn('firewall rules not synced', { node_id: node.id, revision, error: (error as Error).message });
      return { node_id: node.id, revision, ...failure(error) };
    }
  }
}
