// The `batches` job: runs the pending nodes of unfinished batches, at most `concurrency` at once per
// batch, under the fleet lease (hub/jobs/scheduler.ts), so one hub runs batches at a time.
//
// A tick drains the queue: it starts nodes as slots free up, looks for new batches while nodes
// run, and ends when nothing runs. So when a tick starts, no node of this hub is running: a row
// still `running` was left by a hub that died mid-call (the lease expired, or it is this hub
// restarted). Whether that command ran is unknown, so it is marked failed and never sent again;
// `pending` rows are simply picked up. Each node is claimed with a conditional update, so a cancel
// (which skips pending rows) and the runner never both act on one row.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import { commandRole, isRole, type Role } from '../../agent-core/common/roles.js';
import type { AgentPool } from '../agents.js';
import { clip, recordAudit } from '../audit.js';
import { roleRefusal } from '../command-rules.js';
import { Node } from '../db/models.js';
import { HubError } from '../errors.js';
import { CANCELLED_REASON, finishIfDone, UNFINISHED, type BatchNodeStatus, type BatchRow } from './index.js';

export const BATCH_COMMAND_ACTION = 'batch.command';
export const ORPHANED_ERROR = 'the hub stopped while the command ran; not re-run';
/** The most of a node's answer kept, as JSON; a longer one is cut and marked. */
export const BATCH_OUTPUT_MAX_BYTES = 64 * 1024;
const MAX_ERROR = 1000;

export interface BatchRunnerDeps {
  db: Knex;
  agents: AgentPool;
  now(): number;
  logger: AppLogger;
  /** How often a tick with nodes running looks for new batches and cancellations. */
  pollMs: number;
}

export interface BatchTickSummary {
  /** Rows a dead hub left running, now failed. */
  orphaned: number;
  /** Nodes this tick ran. */
  ran: number;
}

type Outcome = { status: Extract<BatchNodeStatus, 'succeeded' | 'failed' | 'skipped'>; output?: string; error?: string };

/** The answer as stored: its JSON, or past the cap its head with the full size, marked `_truncated`. */
export function capOutput(result: unknown): string {
  const json = JSON.stringify(result ?? null);
  const bytes = Buffer.byteLength(json);
  if (bytes <= BATCH_OUTPUT_MAX_BYTES) return json;
  return JSON.stringify({ _truncated: true, bytes, head: clip(json, BATCH_OUTPUT_MAX_BYTES - 1024) });
}

export class BatchRunner {
  private stopping = false;

  constructor(private readonly deps: BatchRunnerDeps) {}

  /** Starts no more nodes; the tick in progress waits for the running ones and ends. */
  stop(): void {
    this.stopping = true;
  }

  async tick(): Promise<BatchTickSummary> {
    const { db, now } = this.deps;
    const t = now();
    // Read first: most ticks find none, and an UPDATE would take SQLite's write lock every second.
    const orphaned = (await db('batch_nodes').where({ status: 'running' }).first('batch_id'))
      ? await db('batch_nodes').where({ status: 'running' }).update({ status: 'failed', error: ORPHANED_ERROR, finished_at: t, updated_at: t })
      : 0;
    if (orphaned > 0) {
      const ids: number[] = await db('batch_nodes').where({ error: ORPHANED_ERROR, finished_at: t }).distinct('batch_id').pluck('batch_id');
      await db('batches').whereIn('id', ids).update({ updated_at: t });
      this.deps.logger.warn('batch nodes left running by a stopped hub marked failed', { nodes: orphaned, batches: ids });
    }
    const running = new Map<number, Set<Promise<void>>>();
    const roles = new Map<number, Role | string>();
    let ran = 0;
    for (;;) {
      const batches: BatchRow[] = await db('batches').whereIn('status', UNFINISHED).orderBy('id');
      for (const batch of batches) {
        const id = Number(batch.id);
        const active = running.get(id) ?? new Set();
        running.set(id, active);
        const claimed = this.stopping ? [] : await this.claim(batch, Number(batch.concurrency) - active.size);
        if (claimed.length > 0 && !roles.has(id)) roles.set(id, await this.creatorRole(batch));
        for (const nodeId of claimed) {
          ran++;
          const task: Promise<void> = this.runNode(batch, nodeId, roles.get(id)!)
            .catch((error: Error) => this.deps.logger.error('batch node failed to run', { batch: id, node_id: nodeId, error: error.message }))
            .finally(() => active.delete(task));
          active.add(task);
        }
        if (active.size === 0) {
          running.delete(id);
          if (!this.stopping) await finishIfDone(this.deps, id);
        }
      }
      const tasks = [...running.values()].flatMap((set) => [...set]);
      if (tasks.length === 0) break;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([...tasks, new Promise((resolve) => (timer = setTimeout(resolve, this.deps.pollMs)))]);
      clearTimeout(timer);
    }
    return { orphaned, ran };
  }

  /** The creator's role now (an admin demoted or removed since may not run what they started), or why none. */
  private async creatorRole(batch: BatchRow): Promise<Role | string> {
    if (batch.created_by_id === null) return `${batch.created_by} has no admin account`;
    const admin: { role: string; disabled: boolean | number } | undefined = await this.deps.db('admins').where({ id: batch.created_by_id }).first('role', 'disabled');
    if (!admin) return `${batch.created_by}'s admin account was removed`;
    if (admin.disabled) return `${batch.created_by}'s admin account is disabled`;
    return isRole(admin.role) ? admin.role : `${batch.created_by} has an unknown role ${admin.role}`;
  }

  /**
   * Marks the batch running, skips its pending nodes when it was cancelled or failed too often,
   * and claims up to `free` pending nodes; answers the ids claimed.
   */
  private async claim(batch: BatchRow, free: number): Promise<string[]> {
    const { db, now } = this.deps;
    const id = Number(batch.id);
    const t = now();
    if (batch.status === 'pending') await db('batches').where({ id, status: 'pending' }).update({ status: 'running', started_at: t, updated_at: t });
    const skipRest = async (reason: string) => {
      const skipped = await db('batch_nodes').where({ batch_id: id, status: 'pending' }).update({ status: 'skipped', error: reason, finished_at: t, updated_at: t });
      if (skipped > 0) await db('batches').where({ id }).update({ updated_at: t });
    };
    if (batch.cancel_requested) {
      await skipRest(CANCELLED_REASON);
      return [];
    }
    const limit = Number(batch.stop_after_failures);
    if (limit > 0) {
      const [{ n }] = (await db('batch_nodes').where({ batch_id: id, status: 'failed' }).count({ n: '*' })) as [{ n: number | string }];
      if (Number(n) >= limit) {
        await skipRest(`not run: ${n} node${Number(n) === 1 ? '' : 's'} failed (stop_after_failures ${limit})`);
        return [];
      }
    }
    if (free <= 0) return [];
    const pending: string[] = await db('batch_nodes').where({ batch_id: id, status: 'pending' }).orderBy('node_id').limit(free).pluck('node_id');
    const claimed: string[] = [];
    for (const nodeId of pending) {
      const taken = await db('batch_nodes')
        .where({ batch_id: id, node_id: nodeId, status: 'pending' })
        .update({ status: 'running', started_at: t, updated_at: t });
      if (taken > 0) claimed.push(nodeId);
    }
    if (claimed.length > 0) await db('batches').where({ id }).update({ updated_at: t });
    return claimed;
  }

  private async runNode(batch: BatchRow, nodeId: string, creatorRole: Role | string): Promise<void> {
    const { db, now } = this.deps;
    const started = performance.now();
    const outcome = await this.outcome(batch, nodeId, creatorRole, started);
    const t = now();
    await db('batch_nodes')
      .where({ batch_id: batch.id, node_id: nodeId, status: 'running' })
      .update({
        status: outcome.status,
        output: outcome.output ?? null,
        error: outcome.error === undefined ? null : clip(outcome.error, MAX_ERROR),
        finished_at: t,
        duration_ms: Math.round(performance.now() - started),
        updated_at: t,
      });
    await db('batches').where({ id: batch.id }).update({ updated_at: t });
  }

  /** Runs the command on one node (checking again that it offers it and who may run it) and audits the call. */
  private async outcome(batch: BatchRow, nodeId: string, creatorRole: Role | string, started: number): Promise<Outcome> {
    const { db, agents, logger } = this.deps;
    const node = await Node.query(db).findById(nodeId);
    if (!node) return { status: 'skipped', error: 'the node was deleted' };
    if (!node.enabled) return { status: 'skipped', error: 'the node is disabled' };
    let needed: Role;
    try {
      needed = commandRole((await agents.command(node, batch.command)).role);
    } catch (error) {
      // The agent answered that it has no such command (or its plugin is disabled): nothing to run there.
      if (error instanceof HubError && (error.code === 'HUB_ERR_NOT_FOUND' || error.code === 'HUB_ERR_CONFLICT')) return { status: 'skipped', error: error.message };
      return { status: 'failed', error: (error as Error).message };
    }
    const actor = { id: batch.created_by_id === null ? null : Number(batch.created_by_id), name: batch.created_by };
    const audit = (error?: unknown) =>
      recordAudit(db, logger, {
        actor,
        action: BATCH_COMMAND_ACTION,
        target: `${nodeId} ${batch.command}`,
        input: { batch_id: Number(batch.id), input: JSON.parse(batch.input) },
        started,
        error,
      });
    const refused = isRole(creatorRole) ? roleRefusal(batch.command, needed, { name: batch.created_by, role: creatorRole }) : creatorRole;
    if (refused) {
      await audit(new HubError('HUB_ERR_FORBIDDEN', refused));
      return { status: 'failed', error: refused };
    }
    try {
      const { result } = await agents.execute(node, batch.command, JSON.parse(batch.input), `batch-${batch.id}-${nodeId}`);
      await audit();
      return { status: 'succeeded', output: capOutput(result) };
    } catch (error) {
      await audit(error);
      return { status: 'failed', error: (error as Error).message };
    }
  }
}
