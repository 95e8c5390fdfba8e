// The `rollouts` job: each tick moves every running rollout one step and rolls back the ones that
// must. A stage applies the version to its nodes (through applyToNode, the path POST
// /configs/:id/apply takes), then watches the gate (hub/rollouts/gate.ts): it must pass within
// gate.timeout_s of the stage's start and then hold for gate.soak_s; a failure in the soak fails it
// at once. A failed gate or an abort rolls back every node the rollout changed to the version it
// served before (applyToNode with action 'rollback'). Stage starts, gate results and rollbacks are
// audited as the rollout's creator.
//
// Everything is read from and written to the tables, and every rollout-level change is guarded by
// the status it expects, so a pause or abort from a route (or another hub, after this one died)
// takes effect at the next tick. A node left `applying` by a hub that died before pushing is pushed
// again (pushing one version twice changes nothing).
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { AgentPool } from '../agents.js';
import { recordAudit, type Actor } from '../audit.js';
import type { HubConfig } from '../config.js';
import { applyToNode, readConfigVersion } from '../config-versions.js';
import { Node } from '../db/models.js';
import { mapLimit } from '../jobs/common.js';
import type { Reconciler } from '../jobs/reconcile.js';
import type { ObjectStore } from '../object-store.js';
import { checkStage, sampleTraffic, trafficDrop, type Gate, type NodeChecks, type RolledVersion, type TrafficSample, type TrafficWindows } from './gate.js';
import { gateOf, rolloutNodes, stageCount, type RolloutNodeRow, type RolloutRow } from './index.js';

export interface RolloutRunnerDeps {
  db: Knex;
  agents: Pick<AgentPool, 'execute'>;
  objects: ObjectStore;
  reconciler: Pick<Reconciler, 'reconcileNode'>;
  config: Pick<HubConfig, 'inbound_check_timeout_s'>;
  now(): number;
  logger: AppLogger;
}

/** Nodes pushed to at once: each push makes its node check and reload sing-box. */
const PUSHES_AT_ONCE = 8;
/** Node states a rollback leaves alone: never reached, or done. */
const UNTOUCHED = new Set(['pending', 'rolled_back', 'rollback_failed']);

/** What the steps below use: the hub's pieces and the version being rolled out. */
type Runner = RolloutRunnerDeps & { version(id: number): Promise<RolledVersion> };

/** The job's tick, given everything one hub has; what it rolls out is read once per process (versions never change). */
export function rolloutsJob(deps: RolloutRunnerDeps): () => Promise<{ rollouts: number; failed: number }> {
  const versions = new LRUCache<number, RolledVersion>({
    max: 16,
    fetchMethod: async (id) => {
      const { version, config } = await readConfigVersion(deps.db, deps.objects, id);
      return { id, hash: version.hash, config };
    },
  });
  const runner: Runner = { ...deps, version: async (id) => (await versions.fetch(id))! };
  return async () => {
    const rows = (await deps.db('rollouts').whereIn('status', ['running', 'rolling_back']).orderBy('id')) as RolloutRow[];
    let failed = 0;
    for (const row of rows) {
      try {
        await (row.status === 'rolling_back' ? rollBack(runner, row) : advance(runner, row));
      } catch (error) {
        // One rollout's trouble (a database hiccup) does not hold the others up; the next tick retries.
        failed += 1;
        deps.logger.error('rollout step failed', { rollout: row.id, error: (error as Error).message });
      }
    }
    return { rollouts: rows.length, failed };
  };
}

const actorOf = (row: RolloutRow): Actor => ({ id: row.created_by_id, name: `${row.created_by.slice(0, 40)} (rollout ${row.id})` });

async function audit(deps: Runner, row: RolloutRow, action: string, target: string, input: Record<string, unknown>, error?: string) {
  await recordAudit(deps.db, deps.logger, { actor: actorOf(row), action, target, input: { rollout: row.id, version: row.version, ...input }, started: performance.now(), error: error === undefined ? undefined : new Error(error) });
}

/** Changes the rollout only while it still has the status this tick read; false when it moved on. */
async function updateRollout(deps: Runner, row: RolloutRow, patch: Partial<RolloutRow>): Promise<boolean> {
  const moved = await deps.db('rollouts').where({ id: row.id, status: row.status }).update({ ...patch, updated_at: deps.now() });
  if (moved > 0) Object.assign(row, patch);
  return moved > 0;
}

async function updateNode(deps: Runner, node: RolloutNodeRow, patch: Partial<RolloutNodeRow>): Promise<void> {
  const now = deps.now();
  await deps.db('rollout_nodes').where({ rollout_id: node.rollout_id, node_id: node.node_id }).update({ ...patch, updated_at: now });
  // The rollout's updated_at moves with its nodes, so the live feed sends it.
  await deps.db('rollouts').where({ id: node.rollout_id }).update({ updated_at: now });
  Object.assign(node, patch);
}

const checksOf = (node: RolloutNodeRow): Partial<NodeChecks> => (node.checks === null ? {} : (JSON.parse(node.checks) as NodeChecks));
const trafficOf = (node: RolloutNodeRow): TrafficWindows => checksOf(node).traffic ?? {};
const withTraffic = (node: RolloutNodeRow, traffic: TrafficWindows) => JSON.stringify({ ...checksOf(node), traffic: { ...trafficOf(node), ...traffic } });

async function startStage(deps: Runner, row: RolloutRow, stage: number): Promise<void> {
  if (!(await updateRollout(deps, row, { current_stage: stage, stage_started_at: deps.now(), soak_started_at: null }))) return;
  const nodes = await rolloutNodes(deps.db, row.id, { stage });
  await audit(deps, row, 'rollout.stage', `rollout ${row.id} stage ${stage}`, { stage, nodes: nodes.map((n) => n.node_id) });
}

async function advance(deps: Runner, row: RolloutRow): Promise<void> {
  if (row.current_stage === 0) return startStage(deps, row, 1);
  const gate = gateOf(row);
  const stage = row.current_stage;
  const nodes = await rolloutNodes(deps.db, row.id, { stage });
  const watchesTraffic = gate.max_traffic_drop_pct !== undefined;
  // The traffic baseline (a soak's length before the apply) comes first, so the timeout starts after it.
  const deadline = Number(row.stage_started_at) + (watchesTraffic ? gate.soak_s * 1000 : 0) + gate.timeout_s * 1000;

  const blocked = await mapLimit(nodes, PUSHES_AT_ONCE, (node) => applyNode(deps, row, gate, node));
  if ((await deps.db('rollouts').where({ id: row.id }).first('status'))?.status !== 'running') return; // paused or aborted meanwhile

  const stopped = nodes.filter((n, i) => blocked[i] || n.status === 'failed');
  if (stopped.length > 0) return failGate(deps, row, blame(stopped));
  const late = deps.now() > deadline;
  const waiting = nodes.filter((n) => n.status !== 'applied');
  if (waiting.length > 0) {
    if (!late) return;
    for (const n of waiting) await updateNode(deps, n, { status: 'failed', error: `did not apply version ${row.version} within ${gate.timeout_s} s${n.error ? ` (${n.error})` : ''}` });
    return failGate(deps, row, blame(waiting));
  }

  const checks = await checkStage(deps, nodes.map((n) => n.node_id), await deps.version(row.version), gate);
  const failing: RolloutNodeRow[] = [];
  for (const node of nodes) {
    const seen = checks.get(node.node_id)!;
    await updateNode(deps, node, { checks: JSON.stringify({ ...seen, traffic: checksOf(node).traffic }) });
    if (seen.failures.length > 0) failing.push(node);
  }
  if (failing.length > 0) {
    // Before the soak a failing check may still heal (sing-box starting); in the soak, or past the timeout, it fails the stage.
    if (row.soak_started_at === null && !late) return;
    for (const n of failing) await updateNode(deps, n, { status: 'failed', error: checks.get(n.node_id)!.failures.join('; ').slice(0, 1000) });
    return failGate(deps, row, blame(failing));
  }
  if (row.soak_started_at === null) {
    if (watchesTraffic) {
      const unmeasured: RolloutNodeRow[] = [];
      for (const n of nodes) {
        const sample = await measured(deps, n);
        if (typeof sample === 'string') unmeasured.push(n);
        await updateNode(deps, n, typeof sample === 'string' ? { status: 'failed', error: sample } : { checks: withTraffic(n, { after_from: sample }) });
      }
      if (unmeasured.length > 0) return failGate(deps, row, blame(unmeasured));
    }
    if (!(await updateRollout(deps, row, { soak_started_at: deps.now() }))) return;
  }
  if (deps.now() - Number(row.soak_started_at) < gate.soak_s * 1000) return;
  if (watchesTraffic) {
    const dropped = await trafficDrops(deps, nodes, gate.max_traffic_drop_pct!);
    if (dropped.length > 0) return failGate(deps, row, blame(dropped));
  }
  await passStage(deps, row, nodes);
}

/** Which node failed which check, for the rollout's error. */
const blame = (nodes: RolloutNodeRow[]) => nodes.map((n) => `node ${n.node_id}: ${n.error}`).join('; ');

/** The node's traffic now, or why it could not be read: the gate asked for it, so that fails the node. */
async function measured(deps: Runner, rolloutNode: RolloutNodeRow): Promise<TrafficSample | string> {
  try {
    const node = await Node.query(deps.db).findById(rolloutNode.node_id);
    if (!node) return 'the node was removed';
    return await sampleTraffic(deps, node);
  } catch (error) {
    return `traffic not measured: ${(error as Error).message}`.slice(0, 1000);
  }
}

/**
 * Pushes the version to a node of the stage when it is due and records what the push said (a
 * refusal makes the node `failed`). Answers true when the node cannot be pushed to at all (removed,
 * its traffic baseline unreadable): it stays `pending`, as it never got the version, with the reason.
 */
async function applyNode(deps: Runner, row: RolloutRow, gate: Gate, rolloutNode: RolloutNodeRow): Promise<boolean> {
  if (rolloutNode.status !== 'pending' && rolloutNode.status !== 'applying') return false;
  const blocked = async (error: string) => {
    await updateNode(deps, rolloutNode, { error });
    return true;
  };
  const node = await Node.query(deps.db).findById(rolloutNode.node_id);
  if (!node) return blocked('the node was removed');
  if (rolloutNode.status === 'applying') {
    if (node.applied_config_version === row.version) await updateNode(deps, rolloutNode, { status: 'applied', error: null });
    // Still on its way (the node was offline): the reconciler delivers it; the timeout bounds the wait.
    if (node.applied_config_version === row.version || node.desired_config_version === row.version) return false;
  }
  if (rolloutNode.status === 'pending' && gate.max_traffic_drop_pct !== undefined) {
    const { before_from: from } = trafficOf(rolloutNode);
    if (from && deps.now() - from.at < gate.soak_s * 1000) return false;
    const sample = await measured(deps, rolloutNode);
    if (typeof sample === 'string') return blocked(sample);
    await updateNode(deps, rolloutNode, { checks: withTraffic(rolloutNode, from ? { before_to: sample } : { before_from: sample }) });
    if (!from) return false;
  }
  if (rolloutNode.status === 'pending') await updateNode(deps, rolloutNode, { status: 'applying', previous_version: node.applied_config_version });
  const result = await applyToNode(deps.db, deps.reconciler, node, row.version, actorOf(row));
  if (result.status === 'applied') await updateNode(deps, rolloutNode, { status: 'applied', error: null });
  else if (result.status === 'refused') await updateNode(deps, rolloutNode, { status: 'failed', error: `refused version ${row.version}: ${result.error}`.slice(0, 1000) });
  else await updateNode(deps, rolloutNode, { error: result.error });
  return false;
}

/** The nodes whose traffic over the soak fell by more than `maxPct` against the window before the apply (or could not be read). */
async function trafficDrops(deps: Runner, nodes: RolloutNodeRow[], maxPct: number): Promise<RolloutNodeRow[]> {
  const dropped: RolloutNodeRow[] = [];
  for (const node of nodes) {
    const sample = await measured(deps, node);
    if (typeof sample === 'string') {
      await updateNode(deps, node, { status: 'failed', error: sample });
      dropped.push(node);
      continue;
    }
    const windows = { ...trafficOf(node), after_to: sample };
    const drop = trafficDrop(windows as Required<TrafficWindows>);
    const failed = drop !== null && drop > maxPct;
    await updateNode(deps, node, {
      checks: withTraffic(node, { ...windows, drop_pct: drop }),
      ...(failed ? { status: 'failed' as const, error: `traffic fell by ${drop} % (at most ${maxPct} % allowed)` } : {}),
    });
    if (failed) dropped.push(node);
  }
  return dropped;
}

async function passStage(deps: Runner, row: RolloutRow, nodes: RolloutNodeRow[]): Promise<void> {
  const stage = row.current_stage;
  for (const n of nodes) await updateNode(deps, n, { status: 'passed' });
  await audit(deps, row, 'rollout.gate', `rollout ${row.id} stage ${stage}`, { stage, result: 'passed', nodes: nodes.map((n) => n.node_id) });
  if (stage < (await stageCount(deps.db, row.id))) return startStage(deps, row, stage + 1);
  await updateRollout(deps, row, { status: 'succeeded', finished_at: deps.now() });
}

async function failGate(deps: Runner, row: RolloutRow, reason: string): Promise<void> {
  const stage = row.current_stage;
  const error = `stage ${stage} gate failed: ${reason}`.slice(0, 4000);
  if (!(await updateRollout(deps, row, { status: 'rolling_back', error }))) return;
  await audit(deps, row, 'rollout.gate', `rollout ${row.id} stage ${stage}`, { stage, result: 'failed' }, error);
  await rollBack(deps, row);
}

/** Every node the rollout changed back to its previous version; then the rollout ends. */
async function rollBack(deps: Runner, row: RolloutRow): Promise<void> {
  const nodes = (await rolloutNodes(deps.db, row.id)).filter((n) => !UNTOUCHED.has(n.status));
  await mapLimit(nodes, PUSHES_AT_ONCE, async (rolloutNode) => {
    const target = `rollout ${row.id} ${rolloutNode.node_id}`;
    const to = rolloutNode.previous_version;
    const node = await Node.query(deps.db).findById(rolloutNode.node_id);
    let error: string | undefined;
    if (to === null) error = `it served no config version before; left on version ${row.version}`;
    else if (!node) error = 'the node was removed';
    else {
      const result = await applyToNode(deps.db, deps.reconciler, node, to, actorOf(row), 'rollback');
      if (result.status === 'pending') error = `not reached (${result.error}); version ${to} is its desired version and reaches it when it returns`;
      if (result.status === 'refused') error = `refused version ${to}: ${result.error}`;
    }
    await audit(deps, row, 'rollout.rollback', target, { node_id: rolloutNode.node_id, from: row.version, to }, error);
    // A node that failed the gate keeps saying why; a rollback that failed says that instead.
    await updateNode(deps, rolloutNode, error === undefined ? { status: 'rolled_back' } : { status: 'rollback_failed', error: error.slice(0, 1000) });
  });
  const aborted = Boolean((await deps.db('rollouts').where({ id: row.id }).first('abort_requested'))?.abort_requested);
  await updateRollout(deps, row, { status: aborted ? 'aborted' : 'failed', finished_at: deps.now() });
}
