// The traffic job: drains every enabled node's ledger (clash-stats.traffic.drain) and bills it
// exactly once (architecture §5, §7).
//
// Each drained batch is applied in ONE transaction, shared with the batches of the other nodes the
// tick drains at the same time (group commit: groupingApplier). It moves each node's
// nodes.ledger_seq from the position read before the drain to its batch's last seq
// (compare-and-set; these are the transaction's first writes, so a second applier waits on the node
// row and then finds it moved, and skips that batch), adds the billed bytes to the users'
// subscriptions (summed over the group's nodes first) and the bytes to the nodes' running totals,
// and stores the per-node, per-user detail as one usage_pending row per node and hour, which the
// usage-rollup job folds into usage_hourly later (hub/billing/usage-pending.ts): writing a million
// usage_hourly cells a tick is what a small database cannot do in a minute. Only after the commit
// is a batch acknowledged.
// So a repeated drain is a no-op, a hub that dies between commit and ack re-drains from the
// committed position (the agent still holds those entries, and they are after it), and two hubs
// never both apply a batch: the one that finds ledger_seq moved writes nothing for it.
//
// A position counts in one ledger: nodes.ledger_id names it (clash-stats 0.4.0 sends it with each
// drain). A node whose agent was reinstalled or lost its state has a new ledger, with another id
// and seqs from 1 again; the old position would be refused there, or, once the new ledger grew
// past it, skip its first entries. So when the node names another ledger than the one the hub's
// position is in, the job moves the node to the new ledger's acknowledged position (compare-and-set
// on ledger_seq and ledger_id, like a batch), says so in the log, the audit log and its result, and
// drains the new ledger from there in the same tick. Each batch applies only while ledger_id is
// still the ledger its entries came from, so a hub that drained the old ledger never bills into the
// new one. Entries the old ledger held beyond the hub's position were lost with it. An older
// clash-stats names no ledger: its node is drained by position alone, as before.
//
// Entries for a user the hub does not know (deleted, or added on the node by hand) cannot be
// stored (a usage row names a user): they are skipped with a warning and counted in the
// job's result, and the ledger position still moves past them so they do not block the node.
// Bytes of a user without an active or suspended subscription are kept in the usage detail and
// billed to no subscription. Who is billed what (multiplier, which subscription): hub/billing/policy.ts.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { LedgerPosition, TrafficDrainOutput, TrafficEntry } from '../../plugins/clash-stats/contract.js';
import type { AgentPool } from '../agents.js';
import { recordAudit } from '../audit.js';
import { addUsed, concurrentWriters, readChargeables } from '../billing/ledger-store.js';
import { insertPending, type PendingUsage } from '../billing/usage-pending.js';
import { billedBytes, chooseSubscriptions } from '../billing/policy.js';
import { Node } from '../db/models.js';
import { HubError } from '../errors.js';
import { healthSince, isTransient, mapLimit, recordNodeError, recordNodeSeen, withRetry } from './common.js';

/** The audit action of a node moved to a new ledger (its old one was lost). */
export const LEDGER_REPLACED_ACTION = 'node.ledger.replaced';

export interface TrafficDeps {
  db: Knex;
  agents: AgentPool;
  now(): number;
  logger: AppLogger;
}

export interface TrafficOptions {
  /**
   * Entries per drain call (the agent's limit is 10,000). Default 5,000: a node's sample of 5,000
   * users in one batch.
   */
  batchSize?: number;
  /** Batches per node per tick, so one node with a huge backlog cannot hold the tick forever. */
  maxBatchesPerNode?: number;
  /**
   * Nodes drained at once. Default 64: their batches are applied in groups (two at once on MySQL, so
   * one group is written while the other commits), and every group reads and updates the
   * subscriptions of all its users once, so the more nodes a group holds, the fewer times a tick
   * writes the same subscriptions (200 nodes of 5,000 users: a handful of groups, not some 25 as at 16).
   * Each node drained holds its batch's entries in memory until it is applied.
   */
  concurrency?: number;
}

/** One ledger entry as clash-stats.traffic.drain returns it; the hub also takes epoch ms as its time. */
export type LedgerEntry = Omit<TrafficEntry, 'time'> & { time: string | number };

/** A position or drain answer; clash-stats before 0.4.0 names no ledger in it. */
type AnyLedgerPosition = Omit<LedgerPosition, 'ledger_id'> & { ledger_id?: string };
type DrainResult = Omit<TrafficDrainOutput, 'entries' | 'ledger_id'> & { ledger_id?: string; entries: LedgerEntry[] };

export interface LedgerBatch {
  nodeId: string;
  /** The node's traffic multiplier (billing/policy.ts billedBytes). */
  multiplier: number;
  /** Tags of the node, to prefer a subscription whose plan reaches it. */
  nodeTags: readonly string[];
  /** nodes.ledger_seq as read before the drain; the batch applies only if it is still that. */
  afterSeq: number;
  /**
   * The ledger the entries came from: the batch applies only if nodes.ledger_id is still it.
   * Undefined for a clash-stats that does not name its ledger (then ledger_seq alone decides).
   */
  ledgerId?: string;
  /** Entries with seq > afterSeq, in increasing seq order. */
  entries: readonly LedgerEntry[];
  /** The hub's clock, for last_seen_at and for entries with an unreadable time. */
  now: number;
}

export interface BatchOutcome {
  /** False when another hub had already applied it (ledger_seq had moved): nothing was written. */
  applied: boolean;
  /** The batch's last seq: the node's ledger position after it. */
  seq: number;
  /** Usage cells (user and hour) the batch stored. */
  usageRows: number;
  billedBytes: number;
  unknownUsers: { entries: number; bytes: number; names: string[] };
}

const HOUR_MS = 3_600_000;

export const hourOf = (time: number) => Math.floor(time / HOUR_MS) * HOUR_MS;

/** A user's bytes in one hour; `other` chains the user's other hours in the batch (rarely any). */
interface HourBytes {
  hour: number;
  upload: number;
  download: number;
  other?: HourBytes;
}

/** A user's entries in one batch: how many, and their bytes by hour (one object for the usual single hour). */
interface UserTraffic extends HourBytes {
  entries: number;
}

const isByteCount = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;

/** A batch's bytes summed by user name and hour (names keep the order they first appear in). */
function sumByUser(batch: LedgerBatch): Map<string, UserTraffic> {
  const users = new Map<string, UserTraffic>();
  // Entries of one sample share their time: parse each run of equal times once.
  let lastTime: string | number | undefined;
  let lastHour = 0;
  for (const entry of batch.entries) {
    if (entry.time !== lastTime) {
      const ms = typeof entry.time === 'number' ? entry.time : Date.parse(entry.time);
      // Bytes are not moved after the drain that returns them: a node clock running ahead of the
      // hub's would otherwise bill them into an hour that has not begun.
      lastHour = hourOf(Number.isFinite(ms) ? Math.min(ms, batch.now) : batch.now);
      lastTime = entry.time;
    }
    const { upload_bytes: upload, download_bytes: download } = entry;
    if (!isByteCount(upload) || !isByteCount(download)) {
      throw new HubError('HUB_ERR_AGENT_FAILED', `node ${batch.nodeId}: traffic.drain returned entry ${entry.seq} with a byte count that is not a whole number; nothing applied`);
    }
    const user = users.get(entry.user);
    if (!user) {
      users.set(entry.user, { entries: 1, hour: lastHour, upload, download });
      continue;
    }
    user.entries += 1;
    let cell: HourBytes | undefined = user;
    while (cell && cell.hour !== lastHour) cell = cell.other;
    if (cell) {
      cell.upload += upload;
      cell.download += download;
    } else user.other = { hour: lastHour, upload, download, other: user.other };
  }
  return users;
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Applies one drained batch in one transaction (see the file comment). Exported for the
 * benchmark and the tests; the job hands its batches to a groupingApplier.
 */
export async function applyLedgerBatch(db: Knex, batch: LedgerBatch): Promise<BatchOutcome> {
  return (await applyLedgerBatches(db, [batch]))[0]!;
}

/**
 * Applies batches of different nodes in one transaction: each moves its own node's position
 * (compare-and-set, the transaction's first writes, nodes in id order so concurrent appliers take
 * them alike); a batch another hub applied first is skipped and the others apply. One transaction
 * for several nodes is what makes a tick over many nodes cheap: the users they share have their
 * subscriptions read and updated once for all of them, not once per node. Retries on deadlocks
 * and busy databases.
 */
export async function applyLedgerBatches(db: Knex, batches: readonly LedgerBatch[]): Promise<BatchOutcome[]> {
  if (new Set(batches.map((b) => b.nodeId)).size !== batches.length) throw new Error('applyLedgerBatches: two batches of one node');
  const traffic = batches.map(sumByUser);
  const order = batches.map((_, i) => i).sort((a, b) => byId(batches[a]!.nodeId, batches[b]!.nodeId));
  return withRetry(() =>
    db.transaction(async (trx): Promise<BatchOutcome[]> => {
      const outcomes = batches.map((batch): BatchOutcome => {
        const last = batch.entries.at(-1);
        if (!last) throw new Error('applyLedgerBatch: an empty batch');
        return { applied: false, seq: last.seq, usageRows: 0, billedBytes: 0, unknownUsers: { entries: 0, bytes: 0, names: [] } };
      });
      const applied: number[] = [];
      for (const i of order) {
        const batch = batches[i]!;
        const moved = await trx('nodes')
          .where({ id: batch.nodeId, ledger_seq: batch.afterSeq, ...(batch.ledgerId === undefined ? {} : { ledger_id: batch.ledgerId }) })
          .update({ ledger_seq: outcomes[i]!.seq, last_seen_at: batch.now, health: 'online', health_since: healthSince(trx, 'online', batch.now) });
        if (moved > 0) applied.push(i);
      }
      if (applied.length === 0) return outcomes;

      const names = new Set<string>();
      for (const i of applied) for (const name of traffic[i]!.keys()) names.add(name);
      const { ids, candidates } = await readChargeables(trx, [...names]);
      // Each known user's slot in the arrays below.
      const slots = new Map<string, number>();
      const userIds: number[] = [];
      for (const [name, userId] of ids) {
        slots.set(name, userIds.length);
        userIds.push(userId);
      }
      // Billed bytes per user, summed over the nodes with the same tags (which charge a user to the
      // same subscription), so each subscription is updated once per group.
      const billedByTags = new Map<string, { tags: readonly string[]; billed: Float64Array }>();
      const pending: PendingUsage[] = [];
      for (const i of applied) {
        const batch = batches[i]!;
        const outcome = outcomes[i]!;
        outcome.applied = true;
        const tagsKey = JSON.stringify(batch.nodeTags);
        let billedByUser = billedByTags.get(tagsKey)?.billed;
        if (!billedByUser) billedByTags.set(tagsKey, { tags: batch.nodeTags, billed: (billedByUser = new Float64Array(userIds.length)) });
        // The node's usage in this batch, one pending row per hour.
        const rows = new Map<number, PendingUsage>();
        let row: PendingUsage | undefined;
        for (const [name, user] of traffic[i]!) {
          const slot = slots.get(name);
          if (slot === undefined) {
            outcome.unknownUsers.entries += user.entries;
            for (let cell: HourBytes | undefined = user; cell; cell = cell.other) outcome.unknownUsers.bytes += cell.upload + cell.download;
            outcome.unknownUsers.names.push(name);
            continue;
          }
          for (let cell: HourBytes | undefined = user; cell; cell = cell.other) {
            const billed = billedBytes(cell.upload, cell.download, batch.multiplier);
            if (row?.hour !== cell.hour) {
              row = rows.get(cell.hour);
              if (!row) rows.set(cell.hour, (row = { nodeId: batch.nodeId, hour: cell.hour, upload: 0, download: 0, billed: 0, cells: [] }));
            }
            row.cells.push(userIds[slot]!, cell.upload, cell.download, billed);
            row.upload += cell.upload;
            row.download += cell.download;
            row.billed += billed;
            billedByUser[slot]! += billed;
            outcome.usageRows += 1;
          }
        }
        if (rows.size === 0) continue;
        const totals = { upload: 0, download: 0 };
        for (const r of rows.values()) {
          pending.push(r);
          totals.upload += r.upload;
          totals.download += r.download;
          outcome.billedBytes += r.billed;
        }
        // The node's running totals (the hub's /metrics counters), in the same transaction.
        await trx('nodes')
          .where({ id: batch.nodeId })
          .update({
            upload_bytes_total: trx.raw('?? + ?', ['upload_bytes_total', totals.upload]),
            download_bytes_total: trx.raw('?? + ?', ['download_bytes_total', totals.download]),
            billed_bytes_total: trx.raw('?? + ?', ['billed_bytes_total', outcome.billedBytes]),
          });
      }
      await insertPending(trx, pending);
      const used = new Map<number, number>();
      for (const { tags, billed } of billedByTags.values()) {
        const chargedTo = chooseSubscriptions(candidates, tags);
        billed.forEach((bytes, slot) => {
          const subscriptionId = chargedTo.get(userIds[slot]!);
          if (subscriptionId !== undefined && bytes > 0) used.set(subscriptionId, (used.get(subscriptionId) ?? 0) + bytes);
        });
      }
      // Subscriptions in id order, so concurrent appliers lock them alike.
      const increments = [...used].sort((a, b) => a[0] - b[0]);
      if (increments.length > 0) await addUsed(trx, increments, Date.now());
      return outcomes;
    }),
  );
}

interface Waiting {
  batch: LedgerBatch;
  resolve(outcome: BatchOutcome): void;
  reject(error: unknown): void;
}

/**
 * Applies the batches handed to it in groups (group commit): a batch that arrives while every
 * group the database can take is being applied waits, and goes with every other batch that arrived
 * meanwhile. A tick drains several nodes at once, so their batches share transactions. MySQL takes
 * two groups at once (one writes its usage rows while the other updates the subscriptions both
 * touch and commits); SQLite has one writer. A group that fails is applied again batch by batch,
 * so one node's batch that cannot apply never holds back another's.
 */
export function groupingApplier(db: Knex): (batch: LedgerBatch) => Promise<BatchOutcome> {
  const slots = concurrentWriters(db) ? 2 : 1;
  let waiting: Waiting[] = [];
  let running = 0;
  const applyGroup = async (group: Waiting[]) => {
    try {
      const outcomes = await applyLedgerBatches(db, group.map((w) => w.batch));
      group.forEach((w, i) => w.resolve(outcomes[i]!));
    } catch (error) {
      if (group.length === 1) group[0]!.reject(error);
      else for (const w of group) await applyLedgerBatch(db, w.batch).then(w.resolve, w.reject);
    }
  };
  const start = () => {
    while (running < slots && waiting.length > 0) {
      const group = waiting;
      waiting = [];
      running += 1;
      void applyGroup(group).finally(() => {
        running -= 1;
        start();
      });
    }
  };
  return (batch) =>
    new Promise<BatchOutcome>((resolve, reject) => {
      waiting.push({ batch, resolve, reject });
      // The other nodes' answers that arrived with this one join it.
      if (waiting.length === 1) setImmediate(start);
    });
}

export interface NodeTrafficResult {
  node_id: string;
  entries: number;
  batches: number;
  billed_bytes: number;
  /** ledger_seq after this tick. */
  seq: number;
  /** Batches another hub had applied first. */
  conflicts: number;
  unknown_user_entries: number;
  /** Set when this tick found the node on a new ledger and moved its position there. */
  ledger_replaced?: LedgerReplaced;
  error?: string;
}

/** A node moved from the ledger the hub's position was in to a new one (audit input, job result). */
export interface LedgerReplaced {
  /** null when the hub had not learnt the old ledger's id (drained before it kept them). */
  old_ledger_id: string | null;
  new_ledger_id: string;
  /** The hub's position in the old ledger: everything up to it was billed. */
  old_seq: number;
  /** The new ledger's acknowledged position, billed from here on. */
  new_seq: number;
}

/** The hub's committed place in a node's ledger: nodes.ledger_seq in the ledger nodes.ledger_id. */
interface LedgerMark {
  seq: number;
  id: string | null;
}

/**
 * Whether the node's answer names another ledger than the one `mark` is in. With no id recorded
 * yet, only a head below the position shows it (seqs never go back within one ledger).
 */
function isOtherLedger(mark: LedgerMark, answer: AnyLedgerPosition): answer is LedgerPosition {
  if (typeof answer.ledger_id !== 'string') return false;
  return mark.id === null ? Number(answer.head_seq) < mark.seq : answer.ledger_id !== mark.id;
}

/**
 * Drains one node from its committed position until its ledger is empty (or the batch cap); `apply`
 * stores each batch (the job's groupingApplier, shared by the nodes it drains at once).
 */
export async function drainNode(
  deps: TrafficDeps,
  node: Node,
  options: TrafficOptions = {},
  apply: (batch: LedgerBatch) => Promise<BatchOutcome> = (batch) => applyLedgerBatch(deps.db, batch),
): Promise<NodeTrafficResult> {
  const { db, agents, logger } = deps;
  const limit = options.batchSize ?? 5000;
  const maxBatches = options.maxBatchesPerNode ?? 100;
  let mark: LedgerMark = { seq: Number(node.ledger_seq), id: node.ledger_id ?? null };
  const result: NodeTrafficResult = { node_id: node.id, entries: 0, batches: 0, billed_bytes: 0, seq: mark.seq, conflicts: 0, unknown_user_entries: 0 };
  const tags = Array.isArray(node.tags) ? node.tags : [];

  const ack = async (seq: number) => {
    try {
      await agents.execute(node, 'clash-stats.traffic.ack', { seq });
      return true;
    } catch (error) {
      // Committed but not acknowledged: the next tick drains from the committed position, past
      // these entries, and acknowledges them then. Nothing is billed twice.
      logger.warn('traffic ack failed; the entries stay on the node until the next tick acknowledges them', { node_id: node.id, seq, error: (error as Error).message });
      await recordNodeError(db, node.id, 'traffic', error, deps.now());
      result.error = `traffic.ack: ${(error as Error).message}`;
      return false;
    }
  };

  /**
   * Moves the committed place to `to` if it is still what this tick read (compare-and-set, as a
   * batch does); false, and the result says why, when another hub moved it first or the database failed.
   */
  const move = async (to: { seq: number; id: string }) => {
    try {
      const where = { id: node.id, ledger_seq: mark.seq, ledger_id: mark.id };
      if ((await withRetry(() => db('nodes').where(where).update({ ledger_seq: to.seq, ledger_id: to.id }))) > 0) {
        mark = to;
        result.seq = to.seq;
        return true;
      }
      result.conflicts += 1;
      logger.info('ledger position already moved by another hub', { node_id: node.id, after_seq: mark.seq, ledger_id: mark.id });
    } catch (error) {
      logger.error('ledger position not moved', { node_id: node.id, after_seq: mark.seq, error: (error as Error).message, transient: isTransient(error) });
      result.error = `database: ${(error as Error).message}`;
    }
    return false;
  };

  /** The node has a new ledger: bill it from what it already counts as acknowledged (normally 0). */
  const replace = async (found: LedgerPosition) => {
    const started = performance.now();
    const from = mark;
    if (!(await move({ seq: Number(found.acked_seq), id: found.ledger_id }))) return false;
    const replaced: LedgerReplaced = { old_ledger_id: from.id, new_ledger_id: found.ledger_id, old_seq: from.seq, new_seq: mark.seq };
    logger.warn("node's traffic ledger was replaced (agent reinstalled or its state lost): billing the new ledger from its acknowledged position; entries the old one held after old_seq, if any, were lost with it", {
      node_id: node.id,
      ...replaced,
    });
    await recordAudit(db, logger, { actor: { id: null, name: 'traffic' }, action: LEDGER_REPLACED_ACTION, target: node.id, input: { ...replaced }, started });
    // Push the users again: the node's last users.sync counted usage from a position in the old
    // ledger (degraded mode would fall back), and the state it lost may have held its users too.
    await withRetry(() => db('nodes').where({ id: node.id }).increment('desired_revision', 1));
    result.ledger_replaced = replaced;
    return true;
  };

  for (let i = 0; i < maxBatches; i++) {
    let drained: DrainResult;
    try {
      drained = (await agents.execute(node, 'clash-stats.traffic.drain', { after_seq: mark.seq, limit })).result as DrainResult;
    } catch (error) {
      // The agent refuses an after_seq it already compacted or beyond its head: fine if another hub
      // moved the position meanwhile, and a new ledger on the node if it names another one.
      if (error instanceof HubError && error.code === 'HUB_ERR_CONFLICT') {
        const current = await db('nodes').where({ id: node.id }).first('ledger_seq', 'ledger_id');
        if (current && (Number(current.ledger_seq) !== mark.seq || current.ledger_id !== mark.id)) {
          result.conflicts += 1;
          return result;
        }
        const found = await agents.execute(node, 'clash-stats.traffic.position', {}).then(
          ({ result: position }) => position as AnyLedgerPosition,
          () => undefined,
        );
        if (found && isOtherLedger(mark, found)) {
          if (await replace(found)) continue;
          return result;
        }
      }
      await recordNodeError(db, node.id, 'traffic', error, deps.now());
      result.error = (error as Error).message;
      return result;
    }
    if (isOtherLedger(mark, drained)) {
      // Its entries after the old position are not the ones after it in the new ledger: drain again.
      if (await replace(drained)) continue;
      return result;
    }
    // The first drain that names the ledger (a new node, or one drained before the hub kept ids).
    if (mark.id === null && typeof drained.ledger_id === 'string' && !(await move({ seq: mark.seq, id: drained.ledger_id }))) return result;

    const entries = (drained.entries ?? []).filter((e) => e.seq > mark.seq);
    if (entries.some((e, k) => k > 0 && e.seq <= entries[k - 1]!.seq)) {
      const error = new HubError('HUB_ERR_AGENT_FAILED', `node ${node.id}: traffic.drain returned entries out of seq order; nothing applied`);
      await recordNodeError(db, node.id, 'traffic', error, deps.now());
      result.error = error.message;
      return result;
    }
    if (entries.length === 0) {
      await recordNodeSeen(db, node.id, 'traffic', deps.now());
      // An ack lost after an earlier commit: acknowledge the committed position now.
      if (Number(drained.acked_seq) < mark.seq) await ack(mark.seq);
      return result;
    }

    let outcome: BatchOutcome;
    try {
      outcome = await apply({
        nodeId: node.id,
        multiplier: Number(node.multiplier),
        nodeTags: tags,
        afterSeq: mark.seq,
        ledgerId: drained.ledger_id,
        entries,
        now: deps.now(),
      });
    } catch (error) {
      // Nothing was committed. Entries the hub cannot bill are the node's fault, anything else the database's.
      if (error instanceof HubError) {
        await recordNodeError(db, node.id, 'traffic', error, deps.now());
        result.error = error.message;
        return result;
      }
      logger.error('traffic batch not applied', { node_id: node.id, after_seq: mark.seq, error: (error as Error).message, transient: isTransient(error) });
      result.error = `database: ${(error as Error).message}`;
      return result;
    }
    if (!outcome.applied) {
      result.conflicts += 1;
      logger.info('traffic batch already applied by another hub', { node_id: node.id, after_seq: mark.seq });
      return result;
    }
    if (outcome.unknownUsers.entries > 0) {
      logger.warn('traffic for users the hub does not know was skipped', { node_id: node.id, users: outcome.unknownUsers.names.slice(0, 20), entries: outcome.unknownUsers.entries, bytes: outcome.unknownUsers.bytes });
    }
    mark = { ...mark, seq: outcome.seq };
    Object.assign(result, {
      seq: mark.seq,
      entries: result.entries + entries.length,
      batches: result.batches + 1,
      billed_bytes: result.billed_bytes + outcome.billedBytes,
      unknown_user_entries: result.unknown_user_entries + outcome.unknownUsers.entries,
    });
    if (!(await ack(mark.seq))) return result;
    if (entries.length < limit && mark.seq >= Number(drained.head_seq)) break;
  }
  await recordNodeSeen(db, node.id, 'traffic', deps.now());
  return result;
}

export interface TrafficSummary {
  nodes: number;
  /** Nodes that could not be drained (unreachable, or an error). */
  failed: number;
  entries: number;
  billed_bytes: number;
  conflicts: number;
  unknown_user_entries: number;
  results: NodeTrafficResult[];
}

/** One tick: every enabled node, a few at a time; one node failing never stops the others. */
export async function runTrafficJob(deps: TrafficDeps, options: TrafficOptions = {}): Promise<TrafficSummary> {
  const nodes = await Node.query(deps.db).where('enabled', true).orderBy('id');
  const apply = groupingApplier(deps.db);
  const results = await mapLimit(nodes, options.concurrency ?? 64, (node) => drainNode(deps, node, options, apply));
  return {
    nodes: nodes.length,
    failed: results.filter((r) => r.error).length,
    entries: results.reduce((n, r) => n + r.entries, 0),
    billed_bytes: results.reduce((n, r) => n + r.billed_bytes, 0),
    conflicts: results.reduce((n, r) => n + r.conflicts, 0),
    unknown_user_entries: results.reduce((n, r) => n + r.unknown_user_entries, 0),
    results,
  };
}
