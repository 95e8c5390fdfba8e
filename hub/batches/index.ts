// Batch commands: one plugin command run on a set of nodes (a tag, a list, or all of them), kept in
// the database with a row per node so any hub replica shows it and a restarted hub carries on.
// createBatch validates and records; the `batches` job (hub/batches/runner.ts) runs the nodes.
import type { Knex } from 'knex';
import { commandRole, ROLES, type Role } from '../../agent-core/common/roles.js';
import type { AgentDescription } from '../../agent-core/common/description.js';
import { auditInput } from '../audit.js';
import { refuseHubOwned, roleRefusal } from '../command-rules.js';
import { iso } from '../db/models.js';
import { pagedRows } from '../db/queries.js';
import { HubError } from '../errors.js';
import type { LiveMessage } from '../live-records.js';
import { REDACTED, redact } from '../redact.js';
import { describeTarget, resolveTarget, type BatchTarget } from './target.js';

export type { BatchTarget } from './target.js';

export const BATCH_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export const NODE_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped'] as const;
export type BatchNodeStatus = (typeof NODE_STATUSES)[number];
/** Batches in these states still have work for the runner. */
export const UNFINISHED: readonly BatchStatus[] = ['pending', 'running'];

export const COMMAND_PATTERN = '^[a-z][a-z0-9-]*\\.[a-z][a-z0-9.-]*$';
export const MAX_CONCURRENCY = 32;
export const DEFAULT_CONCURRENCY = 4;
export const CANCELLED_REASON = 'cancelled';

export interface BatchSpec {
  target: BatchTarget;
  command: string;
  input?: unknown;
  /** 1..32, default 4. */
  concurrency?: number;
  /** Skip the nodes not started yet once this many failed; 0 (the default): never. */
  stop_after_failures?: number;
}

export interface BatchCreator {
  id: number | null;
  name: string;
  role: Role;
}

export interface BatchCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  skipped: number;
}

export interface BatchPublic {
  id: number;
  command: string;
  /** Redacted. */
  input: unknown;
  target: BatchTarget;
  concurrency: number;
  stop_after_failures: number;
  status: BatchStatus;
  created_by: string;
  /** Times are ISO strings, as everywhere in the API; the tables keep ms. */
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  schedule_id: number | null;
  retry_of: number | null;
  counts: BatchCounts;
}

export interface BatchNodePublic {
  node_id: string;
  node_name: string | null;
  status: BatchNodeStatus;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  output: unknown;
  error: string | null;
}

/** A `batches` row as the database gives it (numbers may come back as strings from MySQL). */
export interface BatchRow {
  id: number;
  command: string;
  input: string;
  input_redacted: string;
  target: string;
  command_role: Role;
  concurrency: number;
  stop_after_failures: number;
  status: BatchStatus;
  created_by_id: number | null;
  created_by: string;
  schedule_id: number | null;
  retry_of: number | null;
  created_at: number | string;
  started_at: number | string | null;
  finished_at: number | string | null;
  updated_at: number | string;
  cancel_requested: boolean | number;
}

interface BatchNodeRow {
  batch_id: number;
  node_id: string;
  status: BatchNodeStatus;
  started_at: number | string | null;
  finished_at: number | string | null;
  duration_ms: number | null;
  output: string | null;
  error: string | null;
  updated_at: number | string;
}

export interface BatchDeps {
  db: Knex;
  now(): number;
}

/** Checks the parts of a spec a schema cannot (a route's schema checks the rest). */
function checkSpec(spec: BatchSpec): { concurrency: number; stopAfter: number } {
  if (!new RegExp(COMMAND_PATTERN).test(spec.command) || spec.command.length > 128) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `command: ${JSON.stringify(spec.command)} is not a plugin command name (<plugin>.<command>)`);
  }
  const concurrency = spec.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `concurrency: between 1 and ${MAX_CONCURRENCY}`);
  }
  const stopAfter = spec.stop_after_failures ?? 0;
  if (!Number.isInteger(stopAfter) || stopAfter < 0) throw new HubError('HUB_ERR_BAD_REQUEST', 'stop_after_failures: a whole number, 0 or more');
  refuseHubOwned(spec.command);
  return { concurrency, stopAfter };
}

/**
 * The role `command` needs on these nodes, from what each last described (node_status: never a live
 * call, so creating a batch does not wait on the fleet): the highest any of them declares. Throws
 * when none of them offers it; the runner asks each node again before running it.
 */
async function neededRole(db: Knex, nodeIds: string[], command: string): Promise<Role> {
  const declared: Role[] = [];
  for (let i = 0; i < nodeIds.length; i += 500) {
    const rows: { agent: string | null }[] = await db('node_status').whereIn('node_id', nodeIds.slice(i, i + 500)).whereNotNull('agent').select('agent');
    for (const row of rows) {
      const agent = JSON.parse(row.agent!) as AgentDescription;
      const found = agent.plugins.flatMap((p) => p.commands).find((c) => c.name === command);
      if (found) declared.push(commandRole(found.role));
    }
  }
  if (declared.length === 0) throw new HubError('HUB_ERR_BAD_REQUEST', `command: no node of the target offers ${command} (as the nodes last described themselves)`);
  return declared.reduce((a, b) => (ROLES.indexOf(b) > ROLES.indexOf(a) ? b : a));
}

/**
 * What createBatch checks before it records anything, for whoever must refuse a spec up front (a
 * schedule, when its batch is set): the spec, its target now, and `by`'s role against the command.
 * Throws the HubErrors createBatch names.
 */
export async function checkBatch(db: Knex, spec: BatchSpec, by: BatchCreator) {
  const { concurrency, stopAfter } = checkSpec(spec);
  const { nodes, skipped } = await resolveTarget(db, spec.target);
  if (nodes.length === 0) throw new HubError('HUB_ERR_BAD_REQUEST', `target: every node of ${describeTarget(spec.target)} is disabled`);
  const role = await neededRole(db, nodes.map((n) => n.id), spec.command);
  const refused = roleRefusal(spec.command, role, by);
  if (refused) throw new HubError('HUB_ERR_FORBIDDEN', refused);
  return { concurrency, stopAfter, nodes, skipped, role };
}

/**
 * Records a batch and its nodes (pending; the target's disabled or missing nodes skipped with the
 * reason) for the runner. Throws HubErrors: a bad spec or target (400), a command the creator's role
 * may not run on some node of the target (403), a hub-owned command (409).
 */
export async function createBatch(
  deps: BatchDeps,
  spec: BatchSpec,
  by: BatchCreator,
  origin: { schedule_id?: number; retry_of?: number } = {},
): Promise<BatchPublic> {
  const { concurrency, stopAfter, nodes, skipped, role } = await checkBatch(deps.db, spec, by);
  const now = deps.now();
  const input = spec.input ?? {};
  const id = await deps.db.transaction(async (trx) => {
    const [inserted] = await trx('batches').insert(
      {
        command: spec.command,
        input: JSON.stringify(input),
        input_redacted: JSON.stringify(auditInput(input)),
        target: JSON.stringify(spec.target),
        command_role: role,
        concurrency,
        stop_after_failures: stopAfter,
        status: 'pending',
        created_by_id: by.id,
        created_by: by.name.slice(0, 64),
        schedule_id: origin.schedule_id ?? null,
        retry_of: origin.retry_of ?? null,
        created_at: now,
        updated_at: now,
        cancel_requested: false,
      },
      ['id'],
    );
    const batchId = Number(typeof inserted === 'object' ? inserted.id : inserted);
    const rows = [
      ...nodes.map((n) => ({ batch_id: batchId, node_id: n.id, status: 'pending', error: null, finished_at: null })),
      ...skipped.map((s) => ({ batch_id: batchId, node_id: s.node_id, status: 'skipped', error: s.reason, finished_at: now })),
    ].map((row) => ({ ...row, updated_at: now }));
    for (let i = 0; i < rows.length; i += 200) await trx('batch_nodes').insert(rows.slice(i, i + 200));
    return batchId;
  });
  return getBatch(deps.db, id);
}

/** The batch row `id` names, or HUB_ERR_NOT_FOUND. */
export async function batchRow(db: Knex, id: number): Promise<BatchRow> {
  const row = (await db('batches').where({ id }).first()) as BatchRow | undefined;
  if (!row) throw new HubError('HUB_ERR_NOT_FOUND', `no batch ${id}`);
  return row;
}

/** Per batch, how many of its nodes are in each state. */
async function countsOf(db: Knex, ids: number[]): Promise<Map<number, BatchCounts>> {
  const counts = new Map<number, BatchCounts>(ids.map((id) => [id, { pending: 0, running: 0, succeeded: 0, failed: 0, skipped: 0 }]));
  if (ids.length === 0) return counts;
  const rows: { batch_id: number; status: BatchNodeStatus; n: number | string }[] = await db('batch_nodes')
    .whereIn('batch_id', ids)
    .groupBy('batch_id', 'status')
    .select('batch_id', 'status')
    .count({ n: '*' });
  for (const row of rows) counts.get(Number(row.batch_id))![row.status] = Number(row.n);
  return counts;
}

function toPublic(row: BatchRow, counts: BatchCounts): BatchPublic {
  return {
    id: Number(row.id),
    command: row.command,
    input: JSON.parse(row.input_redacted),
    target: JSON.parse(row.target),
    concurrency: Number(row.concurrency),
    stop_after_failures: Number(row.stop_after_failures),
    status: row.status,
    created_by: row.created_by,
    created_at: iso(row.created_at),
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
    schedule_id: row.schedule_id === null ? null : Number(row.schedule_id),
    retry_of: row.retry_of === null ? null : Number(row.retry_of),
    counts,
  };
}

export async function publicBatches(db: Knex, rows: BatchRow[]): Promise<BatchPublic[]> {
  const counts = await countsOf(db, rows.map((r) => Number(r.id)));
  return rows.map((row) => toPublic(row, counts.get(Number(row.id))!));
}

export async function getBatch(db: Knex, id: number): Promise<BatchPublic> {
  return (await publicBatches(db, [await batchRow(db, id)]))[0]!;
}

export async function listBatches(db: Knex, query: { page: number; per_page: number; status?: BatchStatus }) {
  const filtered = query.status ? db('batches').where({ status: query.status }) : db('batches');
  const { rows, ...page } = await pagedRows<BatchRow>(filtered.orderBy('id', 'desc'), query);
  return { items: await publicBatches(db, rows), ...page };
}

/** What a role reads of a node's answer: the whole of it with the command's role, else nothing of it. */
function outputFor(output: string | null, commandRoleNeeded: Role, reader: Role): unknown {
  if (output === null) return null;
  if (ROLES.indexOf(reader) < ROLES.indexOf(commandRoleNeeded)) return REDACTED;
  return redactBelowAdmin(JSON.parse(output), reader);
}

/** Secrets in answers reach admins and owners only, as everywhere in the API (hub/redact.ts). */
const redactBelowAdmin = (value: unknown, reader: Role) => (ROLES.indexOf(reader) < ROLES.indexOf('admin') ? redact(value) : value);

function nodePublic(row: BatchNodeRow, names: Map<string, string>, commandRoleNeeded: Role, reader: Role): BatchNodePublic {
  return {
    node_id: row.node_id,
    node_name: names.get(row.node_id) ?? null,
    status: row.status,
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
    duration_ms: row.duration_ms === null ? null : Number(row.duration_ms),
    output: outputFor(row.output, commandRoleNeeded, reader),
    error: row.error,
  };
}

async function nodeNames(db: Knex, ids: string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const n of (await db('nodes').whereIn('id', ids.slice(i, i + 500)).select('id', 'name')) as { id: string; name: string }[]) names.set(n.id, n.name);
  }
  return names;
}

/** A batch with its nodes, outputs shown as `reader` may read them. */
export async function batchDetail(db: Knex, id: number, reader: Role): Promise<BatchPublic & { nodes: BatchNodePublic[] }> {
  const row = await batchRow(db, id);
  const [batch] = await publicBatches(db, [row]);
  const rows: BatchNodeRow[] = await db('batch_nodes').where({ batch_id: id }).orderBy('node_id');
  const names = await nodeNames(db, rows.map((r) => r.node_id));
  return { ...batch!, nodes: rows.map((r) => nodePublic(r, names, row.command_role, reader)) };
}

/** Throws HUB_ERR_FORBIDDEN when `by` lacks the role the batch's command needed when it was created. */
function mayActOn(row: BatchRow, by: BatchCreator, what: string): void {
  const refused = roleRefusal(row.command, row.command_role, by);
  if (refused) throw new HubError('HUB_ERR_FORBIDDEN', `${what} batch ${row.id}: ${refused}`);
}

/**
 * Cancels a batch: its pending nodes are skipped at once ("cancelled"); nodes already running finish,
 * and the batch is `cancelled` when the last of them has (now, when none runs).
 */
export async function cancelBatch(deps: BatchDeps, id: number, by: BatchCreator): Promise<BatchPublic> {
  const row = await batchRow(deps.db, id);
  mayActOn(row, by, 'cancel');
  if (!UNFINISHED.includes(row.status)) throw new HubError('HUB_ERR_CONFLICT', `batch ${id} is ${row.status} already`);
  const now = deps.now();
  await deps.db.transaction(async (trx) => {
    await trx('batches').where({ id }).update({ cancel_requested: true, updated_at: now });
    await trx('batch_nodes').where({ batch_id: id, status: 'pending' }).update({ status: 'skipped', error: CANCELLED_REASON, finished_at: now, updated_at: now });
  });
  await finishIfDone(deps, id);
  return getBatch(deps.db, id);
}

/**
 * Gives a batch with no node pending or running its final state: cancelled when that was asked for,
 * else failed when any node failed, else succeeded. Conditional on it being unfinished, so the
 * runner and a cancel request may both call it.
 */
export async function finishIfDone(deps: BatchDeps, id: number): Promise<void> {
  const counts = (await countsOf(deps.db, [id])).get(id)!;
  if (counts.pending + counts.running > 0) return;
  const row = await batchRow(deps.db, id);
  const status: BatchStatus = row.cancel_requested ? 'cancelled' : counts.failed > 0 ? 'failed' : 'succeeded';
  const now = deps.now();
  await deps.db('batches').where({ id }).whereIn('status', UNFINISHED).update({ status, finished_at: now, updated_at: now, started_at: row.started_at ?? now });
}

/** A new batch of the same command and input on the nodes of batch `id` that failed (or on all of them). */
export async function retryBatch(deps: BatchDeps, id: number, nodes: 'failed' | 'all', by: BatchCreator): Promise<BatchPublic> {
  const row = await batchRow(deps.db, id);
  const ids: string[] = (await deps.db('batch_nodes').where({ batch_id: id }).modify((q) => (nodes === 'failed' ? q.where({ status: 'failed' }) : q)).orderBy('node_id').pluck('node_id'));
  if (ids.length === 0) throw new HubError('HUB_ERR_BAD_REQUEST', `batch ${id} has no failed node to retry`);
  const spec: BatchSpec = {
    target: { node_ids: ids },
    command: row.command,
    input: JSON.parse(row.input),
    concurrency: Number(row.concurrency),
    stop_after_failures: Number(row.stop_after_failures),
  };
  return createBatch(deps, spec, by, { retry_of: id });
}

/**
 * The feed's messages for batches and batch nodes changed since `sinceMs` (hub/live-records.ts).
 * Bounded per poll: a watcher that falls that far behind reads the rest with GET /api/v1/batches.
 */
export async function batchChanges(db: Knex, sinceMs: number): Promise<LiveMessage[]> {
  const rows: BatchRow[] = await db('batches').where('updated_at', '>=', sinceMs).orderBy('id').limit(200);
  if (rows.length === 0) return [];
  const batches = await publicBatches(db, rows);
  const nodes: BatchNodeRow[] = await db('batch_nodes').whereIn('batch_id', rows.map((r) => r.id)).where('updated_at', '>=', sinceMs).orderBy(['batch_id', 'node_id']).limit(2000);
  const names = await nodeNames(db, [...new Set(nodes.map((n) => n.node_id))]);
  const roles = new Map(rows.map((r) => [Number(r.id), r.command_role]));
  return [
    ...batches.map((batch) => ({ type: 'batch', batch })),
    // Outputs as GET /api/v1/batches/:id shows them to the watcher's role.
    ...nodes.map((n) => (reader: Role) => ({ type: 'batch-node', batch_id: Number(n.batch_id), node: nodePublic(n, names, roles.get(Number(n.batch_id))!, reader) })),
  ];
}
