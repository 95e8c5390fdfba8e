// The reconciler: every enabled node whose applied config version or users revision is behind
// what the hub wants gets singbox-config.config.apply (the version's content from the object store)
// and then singbox-config.users.sync {revision, users, ledger_seq}. Success records applied_*
// (what the node confirmed) and health; a failure records last_error and backs that node off
// (jobs/backoff.ts), so a node that was offline catches up when it returns without the hub
// hammering it meanwhile. Config and users back off separately: a config the node keeps refusing
// never holds back the removal of a suspended user.
//
// Every push is written to the audit log (architecture §6: every command sent to a node) and to
// the node's config history (hub/config-versions.ts), which the node's config rollback reads. A
// drifted node (hub/jobs/served-config.ts) is not pushed to by the tick: its applied version did
// not change, so it is not behind; an admin's apply pushes even the version it already had.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { UsersSyncOutput } from '../../plugins/singbox-config/contract.js';
import type { AgentPool } from '../agents.js';
import { recordAudit, type Actor } from '../audit.js';
import { readConfigVersion, recordConfigEvent } from '../config-versions.js';
import { Node, type ConfigEventAction } from '../db/models.js';
import { HubError } from '../errors.js';
import { entitlements, usersOnNode, type Entitlement } from '../fleet.js';
import type { ObjectStore } from '../object-store.js';
import { Backoff } from './backoff.js';
import { failure, mapLimit, recordNodeError, recordNodeSeen, type PartResult } from './common.js';

/** The audit action of a config pushed to a node; its input names the version. */
export const CONFIG_APPLY_ACTION = 'node.config.apply';
export const USERS_SYNC_ACTION = 'node.users.sync';
const USERS_SYNC_COMMAND = 'singbox-config.users.sync';

export interface ReconcileDeps {
  db: Knex;
  agents: AgentPool;
  objects: ObjectStore;
  now(): number;
  logger: AppLogger;
}

export interface NodeReconcileResult {
  node_id: string;
  /** null when the node already runs the desired config version (or none is set). */
  config: (PartResult & { version: number }) | null;
  /** null when the node already has the desired users revision. */
  users: (PartResult & { revision: number; users?: number; changed?: boolean; locally_removed?: UsersSyncOutput['locally_removed'] }) | null;
  ok: boolean;
}

export interface ReconcileSummary {
  behind: number;
  synced: number;
  failed: number;
  waiting: number;
  results: NodeReconcileResult[];
}

/**
 * The users and ledger positions of the nodes a tick pushes users to, read in one transaction
 * at its start, so a tick reads the users once for the whole fleet instead of once per node.
 */
interface UsersSnapshot {
  entitled: Entitlement[];
  /** By node: the desired revision and ledger position read with `entitled`. */
  nodes: Map<string, { revision: number; ledgerSeq: number }>;
}

export class Reconciler {
  private readonly backoff: Backoff;
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: ReconcileDeps) {
    this.backoff = new Backoff(deps.now);
  }

  /** One tick: every enabled node that is behind, a few at a time. */
  async tick(): Promise<ReconcileSummary> {
    const nodes = await Node.query(this.deps.db)
      .where('enabled', true)
      .andWhere((q) =>
        q
          .whereRaw('applied_revision < desired_revision')
          .orWhere((c) =>
            c.whereNotNull('desired_config_version').andWhere((v) => v.whereNull('applied_config_version').orWhereRaw('applied_config_version <> desired_config_version')),
          ),
      )
      .orderBy('id');
    const usersDue = nodes.filter((n) => n.applied_revision < n.desired_revision && this.backoff.waitingUntil(`${n.id}:users`, false, n.last_seen_at) === undefined);
    const snapshot = usersDue.length > 0 ? await this.usersSnapshot(usersDue.map((n) => n.id)) : undefined;
    const results = await mapLimit(nodes, 8, (node) => this.reconcileNode(node, { snapshot }));
    const waiting = (r: NodeReconcileResult) => [r.config, r.users].some((p) => p?.status === 'waiting');
    return {
      behind: nodes.length,
      synced: results.filter((r) => r.ok).length,
      failed: results.filter((r) => [r.config, r.users].some((p) => p?.status === 'failed')).length,
      waiting: results.filter((r) => !r.ok && waiting(r) && ![r.config, r.users].some((p) => p?.status === 'failed')).length,
      results,
    };
  }

  /**
   * Brings one node to its desired config version and users revision. `force` ignores the
   * backoff and pushes the config to a drifted node even if the hub applied that version before
   * (an admin asked now); `action` names the push in the node's config history. Pushes to one
   * node never overlap on this hub.
   */
  reconcileNode(
    node: Pick<Node, 'id'>,
    options: { force?: boolean; actor?: Actor; action?: ConfigEventAction; snapshot?: UsersSnapshot } = {},
  ): Promise<NodeReconcileResult> {
    const previous = this.busy.get(node.id) ?? Promise.resolve();
    const actor = options.actor ?? { id: null, name: 'reconciler' };
    const run = previous.then(() => this.push(node.id, options.force ?? false, actor, options.action ?? 'apply', options.snapshot));
    const settled = run.catch(() => undefined);
    this.busy.set(node.id, settled);
    void settled.then(() => {
      if (this.busy.get(node.id) === settled) this.busy.delete(node.id);
    });
    return run;
  }

  /** One transaction: remaining_bytes and each ledger_seq describe one moment (see pushUsers). */
  private usersSnapshot(nodeIds: string[]): Promise<UsersSnapshot> {
    return this.deps.db.transaction(async (trx) => {
      const positions = await trx('nodes').whereIn('id', nodeIds).select('id', 'desired_revision', 'ledger_seq');
      const nodes = new Map(positions.map((p: { id: string; desired_revision: number; ledger_seq: number }) => [p.id, { revision: Number(p.desired_revision), ledgerSeq: Number(p.ledger_seq) }]));
      return { entitled: await entitlements(trx, this.deps.now()), nodes };
    });
  }

  private async push(nodeId: string, force: boolean, actor: Actor, action: ConfigEventAction, snapshot?: UsersSnapshot): Promise<NodeReconcileResult> {
    const { db } = this.deps;
    const node = await Node.query(db).findById(nodeId);
    if (!node) throw new HubError('HUB_ERR_NOT_FOUND', `no node ${nodeId}`);
    const result: NodeReconcileResult = { node_id: node.id, config: null, users: null, ok: true };

    const desiredConfig = node.desired_config_version;
    const drifted = node.config_drift_since !== null;
    if (desiredConfig !== null && (desiredConfig !== node.applied_config_version || (force && drifted))) {
      result.config = { version: desiredConfig, ...(await this.pushConfig(node, desiredConfig, force, actor, action)) };
    }
    const revision = node.desired_revision;
    if (node.applied_revision < revision) {
      result.users = { revision, ...(await this.pushUsers(node, revision, force, actor, snapshot)) };
    }
    result.ok = [result.config, result.users].every((p) => p === null || p.status === 'applied');
    return result;
  }

  private async pushConfig(node: Node, versionId: number, force: boolean, actor: Actor, action: ConfigEventAction): Promise<PartResult> {
    const { db, agents, objects, now, logger } = this.deps;
    const key = `${node.id}:config`;
    const retryAt = this.backoff.waitingUntil(key, force, node.last_seen_at);
    if (retryAt !== undefined) return { status: 'waiting', retry_at: new Date(retryAt).toISOString() };

    let content: Awaited<ReturnType<typeof readConfigVersion>>;
    try {
      content = await readConfigVersion(db, objects, versionId);
    } catch (error) {
      this.backoff.failed(key);
      await recordNodeError(db, node.id, `config: version ${versionId}`, error, now(), false);
      logger.error('config version unreadable', { node_id: node.id, version: versionId, error: (error as Error).message });
      return failure(error);
    }
    const { version, config } = content;
    const started = performance.now();
    try {
      const comment = `boxfleet config version ${version.id}${version.comment ? `: ${version.comment}` : ''}`.slice(0, 500);
      await agents.execute(node, 'singbox-config.config.apply', { config, comment });
      // What the node runs now, even if desired moved meanwhile (then it differs, and the next tick
      // pushes that); the node confirmed it, so it serves this hash and any drift is over.
      await db('nodes')
        .where({ id: node.id })
        .update({ applied_config_version: version.id, served_config_hash: version.hash, served_checked_at: now(), config_drift_since: null });
      this.backoff.succeeded(key);
      await recordNodeSeen(db, node.id, 'config', now());
      await this.audit(actor, CONFIG_APPLY_ACTION, node.id, { version: version.id, hash: version.hash }, started);
      await recordConfigEvent(db, logger, { node_id: node.id, version_id: version.id, hash: version.hash, action, admin: actor.name, time: now() });
      logger.info('config applied', { node_id: node.id, version: version.id });
      return { status: 'applied' };
    } catch (error) {
      this.backoff.failed(key, error);
      await recordNodeError(db, node.id, `config: version ${version.id}`, error, now());
      await this.audit(actor, CONFIG_APPLY_ACTION, node.id, { version: version.id, hash: version.hash }, started, error);
      await recordConfigEvent(db, logger, { node_id: node.id, version_id: version.id, hash: version.hash, action, admin: actor.name, error, time: now() });
      logger.warn('config not applied', { node_id: node.id, version: version.id, error: (error as Error).message });
      return failure(error);
    }
  }

  private async pushUsers(
    node: Node,
    revision: number,
    force: boolean,
    actor: Actor,
    snapshot?: UsersSnapshot,
  ): Promise<PartResult & { users?: number; changed?: boolean; locally_removed?: UsersSyncOutput['locally_removed'] }> {
    const { db, agents, now, logger } = this.deps;
    const key = `${node.id}:users`;
    const retryAt = this.backoff.waitingUntil(key, force, node.last_seen_at);
    if (retryAt !== undefined) return { status: 'waiting', retry_at: new Date(retryAt).toISOString() };

    // One transaction, so that remaining_bytes and ledger_seq describe one moment: the node counts
    // the usage after ledger_seq against remaining_bytes. (On MySQL, InnoDB's default REPEATABLE
    // READ gives both reads one snapshot; a SQLite transaction reads one state of the file.) The
    // tick's snapshot serves while it was read at this revision: users read before a later change
    // that raised the revision would lack that change.
    const taken = snapshot?.nodes.get(node.id);
    const { users, ledgerSeq } =
      taken?.revision === revision
        ? { users: usersOnNode(snapshot!.entitled, node), ledgerSeq: taken.ledgerSeq }
        : await db.transaction(async (trx) => {
            const position = await trx('nodes').where({ id: node.id }).first('ledger_seq');
            if (!position) throw new HubError('HUB_ERR_NOT_FOUND', `no node ${node.id}`);
            return { users: usersOnNode(await entitlements(trx, now()), node), ledgerSeq: Number(position.ledger_seq) };
          });
    const started = performance.now();
    const input: { revision: number; users: typeof users; ledger_seq?: number } = { revision, users };
    /** The audit record names the users by their count. */
    const sent = () => ({ ...input, users: users.length });
    try {
      // An older singbox-config refuses the field; it counts usage from the sync instead.
      if (await agents.takesInput(node, USERS_SYNC_COMMAND, 'ledger_seq')) input.ledger_seq = ledgerSeq;
      const { result } = await agents.execute(node, USERS_SYNC_COMMAND, input);
      const answer = (result ?? {}) as Partial<UsersSyncOutput>;
      // Never backwards: a slower push of an older revision must not undo a newer one's record.
      await db('nodes').where({ id: node.id }).andWhere('applied_revision', '<', revision).update({ applied_revision: revision });
      this.backoff.succeeded(key);
      await recordNodeSeen(db, node.id, 'users.sync', now());
      await this.audit(actor, USERS_SYNC_ACTION, node.id, sent(), started);
      if (answer.locally_removed?.length) {
        logger.info('node had cut off users past their limits since the last sync', { node_id: node.id, users: answer.locally_removed.slice(0, 50) });
      }
      return { status: 'applied', users: users.length, changed: answer.changed, locally_removed: answer.locally_removed };
    } catch (error) {
      this.backoff.failed(key, error);
      await recordNodeError(db, node.id, `users.sync: revision ${revision}`, error, now());
      await this.audit(actor, USERS_SYNC_ACTION, node.id, sent(), started, error);
      logger.warn('users not synced', { node_id: node.id, revision, error: (error as Error).message });
      return failure(error);
    }
  }

  private audit(actor: Actor, action: string, target: string, input: Record<string, unknown>, started: number, error?: unknown): Promise<void> {
    return recordAudit(this.deps.db, this.deps.logger, { actor, action, target, input, started, error });
  }
}
