// Staged rollouts of a config version: stages of the target's nodes, each held behind a gate (the
// version applied, sing-box running, the hub's inbound check, optionally no traffic drop) before
// the next; a failed gate or an abort rolls back what it changed. Types follow the hub's routes.
import type { BatchTarget } from './batches.js';
import { query, request, type Page } from './http.js';

/** A count of nodes or a share of the target (`"10%"`), ascending; the last covers every node. */
export type RolloutStage = number | `${number}%`;

export interface RolloutGate {
  /** How long the stage must stay healthy, 0..3600 s. */
  soak_s: number;
  /** How long a node may take to apply the version and pass. */
  timeout_s: number;
  inbound_check: boolean;
  /** 1..100; none: traffic is not compared. */
  max_traffic_drop_pct?: number;
}

export interface NewRollout {
  version: number;
  target: BatchTarget;
  stages: RolloutStage[];
  gate: Partial<RolloutGate>;
}

export type RolloutStatus = 'running' | 'paused' | 'succeeded' | 'failed' | 'aborted' | 'rolling_back';
export type RolloutNodeStatus = 'pending' | 'applying' | 'applied' | 'passed' | 'failed' | 'rolled_back' | 'rollback_failed';

/** What the gate saw of one node, last time it looked. */
export interface NodeChecks {
  /** When the gate looked (ISO). */
  at: string;
  applied_version: number | null;
  singbox?: { running: boolean; hash: string | null; error?: string };
  /** The hub's external check of each inbound, as clients connect. */
  inbounds?: { tag: string; host: string; port: number; ok: boolean; error: string | null }[];
  traffic?: { drop_pct?: number | null };
  /** Each failed check in words; empty: the node passes. */
  failures: string[];
}

export interface RolloutNodePublic {
  node_id: string;
  node_name: string;
  /** 1-based. */
  stage: number;
  /** What the node served before, which a rollback applies again. */
  previous_version: number | null;
  status: RolloutNodeStatus;
  checks: NodeChecks | null;
  error: string | null;
  updated_at: string;
}

export type StageStatus = 'pending' | 'running' | 'passed' | 'failed' | 'rolled_back';

/** A stage as planned for the target's nodes (a stage that would add no node is dropped). */
export interface StagePlan {
  /** 1-based. */
  stage: number;
  nodes: number;
  status: StageStatus;
}

export interface RolloutPublic {
  id: number;
  version: number;
  target: BatchTarget;
  stages: RolloutStage[];
  gate: RolloutGate;
  status: RolloutStatus;
  /** 1-based; 0 before the first stage started. */
  current_stage: number;
  created_by: string;
  /** ISO times. */
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** Which node failed which check, or who aborted. */
  error: string | null;
}

/** A rollout with its stages and nodes, as its page and the live feed show it. */
export type RolloutDetail = RolloutPublic & { stage_plan: StagePlan[]; nodes: RolloutNodePublic[] };

/** Whether a rollout has ended: nothing of it changes any more. */
export const isOver = (status: RolloutStatus) => status === 'succeeded' || status === 'failed' || status === 'aborted';

export const listRollouts = (params: { page?: number; per_page?: number; status?: RolloutStatus } = {}) =>
  request<Page<RolloutPublic>>('GET', `/api/v1/rollouts${query(params)}`);

export const getRollout = (id: number) => request<RolloutDetail>('GET', `/api/v1/rollouts/${id}`);

export const createRollout = (rollout: NewRollout) => request<RolloutPublic>('POST', '/api/v1/rollouts', rollout);

export const pauseRollout = (id: number) => request<RolloutPublic>('POST', `/api/v1/rollouts/${id}/pause`);

export const resumeRollout = (id: number) => request<RolloutPublic>('POST', `/api/v1/rollouts/${id}/resume`);

/** Stops it and rolls back every node it changed. */
export const abortRollout = (id: number) => request<RolloutPublic>('POST', `/api/v1/rollouts/${id}/abort`);
