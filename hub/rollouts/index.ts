// Staged rollouts of a config version: what one is (rows in `rollouts` and `rollout_nodes`, see
// migration 019), how one is created, read, paused, resumed and aborted. The runner that moves it
// from stage to stage is hub/rollouts/runner.ts; the stage plan hub/rollouts/plan.ts; the gate
// hub/rollouts/gate.ts. The routes only set the status (guarded by the status it must have), so
// they never race the runner into a state neither meant.
import type { Knex } from 'knex';
import type { Actor } from '../audit.js';
import { describeTarget, resolveTarget, type BatchTarget } from '../batches/target.js';
import { findConfigVersion } from '../config-versions.js';
import { iso } from '../db/models.js';
import { pagedRows } from '../db/queries.js';
import { HubError } from '../errors.js';
import type { LiveMessage } from '../live-records.js';
import type { Gate, NodeChecks } from './gate.js';
import { DEFAULT_STAGES, planStages, stageOf, stagesProblem, type StageSpec } from './plan.js';

export type RolloutStatus = 'running' | 'paused' | 'succeeded' | 'failed' | 'aborted' | 'rolling_back';
export type RolloutNodeStatus = 'pending' | 'applying' | 'applied' | 'passed' | 'failed' | 'rolled_back' | 'rollback_failed';
/** Where the runner still has work. */
export const UNFINISHED: RolloutStatus[] = ['running', 'paused', 'rolling_back'];

export const DEFAULT_GATE: Gate = { soak_s: 30, timeout_s: 120, inbound_check: true };

export interface RolloutRow {
  id: number;
  version: number;
  target: string;
  stages: string;
  gate: string;
  status: RolloutStatus;
  current_stage: number;
  stage_started_at: number | string | null;
  soak_started_at: number | string | null;
  abort_requested: boolean | number;
  created_by_id: number | null;
  created_by: string;
  created_at: number | string;
  updated_at: number | string;
  finished_at: number | string | null;
  error: string | null;
}

export interface RolloutNodeRow {
  rollout_id: number;
  node_id: string;
  stage: number;
  previous_version: number | null;
  status: RolloutNodeStatus;
  checks: string | null;
  error: string | null;
  updated_at: number | string;
}

export interface RolloutSpec {
  version: number;
  target: BatchTarget;
  stages?: StageSpec[];
  gate?: Partial<Gate>;
}

export function gateOf(row: RolloutRow): Gate {
  return JSON.parse(row.gate) as Gate;
}

/** The stage count of a rollout: its nodes' highest stage. */
export async function stageCount(db: Knex, id: number): Promise<number> {
  const row = (await db('rollout_nodes').where({ rollout_id: id }).max({ n: 'stage' }).first()) as { n: number | null } | undefined;
  return Number(row?.n ?? 0);
}

export async function createRollout(db: Knex, now: number, spec: RolloutSpec, by: Actor) {
  await findConfigVersion(db, spec.version);
  const stages = spec.stages ?? DEFAULT_STAGES;
  const problem = stagesProblem(stages);
  if (problem) throw new HubError('HUB_ERR_BAD_REQUEST', problem);
  const gate: Gate = { ...DEFAULT_GATE, ...spec.gate };
  // The traffic comparison is over the soak: without one there is nothing to compare.
  if (gate.max_traffic_drop_pct !== undefined && gate.soak_s === 0) throw new HubError('HUB_ERR_BAD_REQUEST', 'body.gate.max_traffic_drop_pct: needs a soak (gate.soak_s of 1 or more)');
  const { nodes } = await resolveTarget(db, spec.target);
  if (nodes.length === 0) throw new HubError('HUB_ERR_BAD_REQUEST', `target: no enabled node in ${describeTarget(spec.target)}`);
  const plan = planStages(stages, nodes.length);
  const id = await db.transaction(async (trx) => {
    // One rollout at a time per node: two would each roll the other's version back.
    const busy = await trx('rollout_nodes')
      .join('rollouts', 'rollouts.id', 'rollout_nodes.rollout_id')
      .whereIn('rollouts.status', UNFINISHED)
      .whereIn('rollout_nodes.node_id', nodes.map((n) => n.id))
      .first('rollouts.id', 'rollout_nodes.node_id');
    if (busy) throw new HubError('HUB_ERR_CONFLICT', `node ${busy.node_id} is in rollout ${busy.id}, which has not finished`);
    const [inserted] = await trx('rollouts').insert({
      version: spec.version,
      target: JSON.stringify(spec.target),
      stages: JSON.stringify(stages),
      gate: JSON.stringify(gate),
      status: 'running',
      current_stage: 0,
      created_by_id: by.id,
      created_by: by.name,
      created_at: now,
      updated_at: now,
    });
    const rolloutId = Number(typeof inserted === 'object' ? (inserted as { id: number }).id : inserted);
    const rows = nodes.map((n, i) => ({ rollout_id: rolloutId, node_id: n.id, stage: stageOf(plan, i), status: 'pending', updated_at: now }));
    for (let i = 0; i < rows.length; i += 200) await trx('rollout_nodes').insert(rows.slice(i, i + 200));
    return rolloutId;
  });
  return (await findRollout(db, id)).public;
}

export async function findRollout(db: Knex, id: number): Promise<{ row: RolloutRow; public: ReturnType<typeof toPublic> }> {
  const row = (await db('rollouts').where({ id }).first()) as RolloutRow | undefined;
  if (!row) throw new HubError('HUB_ERR_NOT_FOUND', `no rollout ${id}`);
  return { row, public: toPublic(row) };
}

/** The rollout with its nodes and each stage's state, as GET /:id and the live feed show it. */
export async function rolloutDetail(db: Knex, row: RolloutRow) {
  const nodes = (await db('rollout_nodes')
    .leftJoin('nodes', 'nodes.id', 'rollout_nodes.node_id')
    .where({ rollout_id: row.id })
    .orderBy([{ column: 'stage' }, { column: 'rollout_nodes.node_id' }])
    .select('rollout_nodes.*', 'nodes.name as node_name')) as (RolloutNodeRow & { node_name: string | null })[];
  const stages = new Map<number, (typeof nodes)[number][]>();
  for (const n of nodes) stages.set(n.stage, [...(stages.get(n.stage) ?? []), n]);
  return {
    ...toPublic(row),
    stage_plan: [...stages].map(([stage, members]) => ({ stage, nodes: members.length, status: stageStatus(row, stage, members.map((m) => m.status)) })),
    nodes: nodes.map((n) => ({
      node_id: n.node_id,
      node_name: n.node_name ?? n.node_id,
      stage: n.stage,
      previous_version: n.previous_version,
      status: n.status,
      checks: n.checks === null ? null : checksPublic(JSON.parse(n.checks) as Partial<NodeChecks>),
      error: n.error,
      updated_at: iso(n.updated_at),
    })),
  };
}

/** What the gate saw, its times (when it looked, each traffic sample's) as ISO strings like the API's others. */
function checksPublic({ at, traffic, ...rest }: Partial<NodeChecks>) {
  const samples = traffic && Object.fromEntries(Object.entries(traffic).map(([window, v]) => [window, typeof v === 'object' && v !== null ? { ...v, at: iso(v.at) } : v]));
  return { ...rest, ...(at !== undefined && { at: iso(at) }), ...(samples && { traffic: samples }) };
}

/** pending (not reached), running, passed, failed (its gate), rolled_back. */
function stageStatus(row: RolloutRow, stage: number, statuses: RolloutNodeStatus[]): string {
  if (statuses.some((s) => s === 'rolled_back' || s === 'rollback_failed')) return 'rolled_back';
  if (statuses.some((s) => s === 'failed')) return 'failed';
  if (statuses.every((s) => s === 'passed')) return 'passed';
  return stage === row.current_stage && row.status !== 'succeeded' ? 'running' : 'pending';
}

/** The live feed (hub/live-records.ts, WebSocket watch "rollouts"): each rollout changed since then, with its nodes. */
export async function rolloutChanges(db: Knex, sinceMs: number): Promise<LiveMessage[]> {
  const rows = (await db('rollouts').where('updated_at', '>=', sinceMs).orderBy('id').limit(50)) as RolloutRow[];
  return await Promise.all(rows.map(async (row) => ({ type: 'rollout', rollout: await rolloutDetail(db, row) })));
}

export function toPublic(row: RolloutRow) {
  return {
    id: row.id,
    version: row.version,
    target: JSON.parse(row.target) as BatchTarget,
    stages: JSON.parse(row.stages) as StageSpec[],
    gate: gateOf(row),
    status: row.status,
    current_stage: row.current_stage,
    created_by: row.created_by,
    // Times are ISO strings, as everywhere in the API; the tables keep ms.
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    finished_at: iso(row.finished_at),
    error: row.error,
  };
}

export async function listRollouts(db: Knex, { status, ...page }: { page: number; per_page: number; status?: RolloutStatus }) {
  const query = db('rollouts').orderBy('id', 'desc');
  if (status) query.where({ status });
  const { rows, ...rest } = await pagedRows<RolloutRow>(query, page);
  return { items: rows.map(toPublic), ...rest };
}

/** What each request does: the statuses it starts from, the one it moves to, and what else it sets. */
const TRANSITIONS = {
  paused: { from: ['running'], to: 'paused' },
  resumed: { from: ['paused'], to: 'running' },
  aborted: { from: ['running', 'paused'], to: 'rolling_back' },
} as const satisfies Record<string, { from: RolloutStatus[]; to: RolloutStatus }>;

/**
 * Moves a rollout as `request` says, or refuses naming its status. The runner checks the status
 * before each step it takes, so it sees the change at its next tick.
 */
async function transition(db: Knex, now: number, id: number, request: keyof typeof TRANSITIONS, patch: Record<string, unknown> = {}) {
  const { from, to } = TRANSITIONS[request];
  const moved = await db('rollouts').where({ id }).whereIn('status', from).update({ status: to, updated_at: now, ...patch });
  if (moved === 0) {
    const current = (await findRollout(db, id)).row.status;
    throw new HubError('HUB_ERR_CONFLICT', `rollout ${id} is ${current}; only a ${from.join(' or ')} rollout can be ${request}`);
  }
  return (await findRollout(db, id)).public;
}

/** No further node gets the version and no gate runs until resumed; nodes already changed stay as they are. */
export const pauseRollout = (db: Knex, now: number, id: number) => transition(db, now, id, 'paused');

/** The current stage starts its gate again from the beginning (its timeout and soak). */
export const resumeRollout = (db: Knex, now: number, id: number) => transition(db, now, id, 'resumed', { stage_started_at: now, soak_started_at: null });

/** Every node the rollout changed goes back to its previous version (the runner does it); ends `aborted`. */
export const abortRollout = (db: Knex, now: number, id: number, by: Actor) => transition(db, now, id, 'aborted', { abort_requested: true, error: `aborted by ${by.name}` });

/** The node rows the runner wants, typed. */
export async function rolloutNodes(db: Knex, id: number, where: Partial<RolloutNodeRow> = {}): Promise<RolloutNodeRow[]> {
  return (await db('rollout_nodes').where({ rollout_id: id, ...where }).orderBy('node_id')) as RolloutNodeRow[];
}
