// Batches: one plugin command run on a group of nodes (by tag, by id or every node), each node's
// progress and output, cancelling and re-running the failed ones; and their cron schedules. The
// hub's types are not imported here (the dashboard bundles no hub code): these follow its routes.
import { query, request, type Page } from './http.js';

/** Which nodes: exactly one of the three. */
export type BatchTarget = { tags: string[] } | { node_ids: string[] } | { all: true };

export interface BatchSpec {
  target: BatchTarget;
  command: string;
  input?: unknown;
  /** 1..32; the hub's default is 4. */
  concurrency?: number;
  /** Stop starting nodes after this many failed; 0: never. */
  stop_after_failures?: number;
}

export type BatchStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type BatchNodeStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface BatchPublic {
  id: number;
  command: string;
  /** With secrets redacted. */
  input: unknown;
  target: BatchTarget;
  concurrency: number;
  stop_after_failures: number;
  status: BatchStatus;
  created_by: string;
  /** ISO times, like every time below. */
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  schedule_id: number | null;
  retry_of: number | null;
  counts: Record<BatchNodeStatus, number>;
}

export interface BatchNodePublic {
  node_id: string;
  node_name: string | null;
  status: BatchNodeStatus;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  /** The command's output; redacted for a role below the command's. */
  output: unknown;
  /** Why it failed or was skipped. */
  error: string | null;
}

export type BatchDetail = BatchPublic & { nodes: BatchNodePublic[] };

export const BATCH_NODE_STATUSES: readonly BatchNodeStatus[] = ['pending', 'running', 'succeeded', 'failed', 'skipped'];

/** Whether a batch has ended: nothing of it runs any more. */
export const isFinished = (status: BatchStatus) => status === 'succeeded' || status === 'failed' || status === 'cancelled';

export const listBatches = (params: { page?: number; per_page?: number; status?: BatchStatus } = {}) =>
  request<Page<BatchPublic>>('GET', `/api/v1/batches${query(params)}`);

export const getBatch = (id: number) => request<BatchDetail>('GET', `/api/v1/batches/${id}`);

/** Starts a batch; the hub refuses a command above the admin's role or a target matching no node. */
export const createBatch = (spec: BatchSpec) => request<BatchPublic>('POST', '/api/v1/batches', spec);

/** Pending nodes are skipped; running ones finish. */
export const cancelBatch = (id: number) => request<BatchPublic>('POST', `/api/v1/batches/${id}/cancel`);

/** A new batch of the same command on the failed nodes (or on all of them). */
export const retryBatch = (id: number, nodes: 'failed' | 'all' = 'failed') => request<BatchPublic>('POST', `/api/v1/batches/${id}/retry`, { nodes });

export interface BatchSchedule {
  id: number;
  name: string;
  cron: string;
  /** IANA, e.g. Asia/Shanghai. */
  timezone: string;
  batch: BatchSpec;
  enabled: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
  last_fire_at: string | null;
  /** null while paused. */
  next_fire_at: string | null;
}

/** One fire time: it ran (the batch it started), was missed while no hub ran, or its batch could not be created (error). */
export interface ScheduleFire {
  fire_at: string;
  status: 'ran' | 'missed' | 'failed';
  batch_id: number | null;
  error: string | null;
  recorded_at: string;
}

export type NewSchedule = Pick<BatchSchedule, 'name' | 'cron' | 'timezone' | 'batch'> & { enabled?: boolean };

export const listSchedules = (params: { page?: number; per_page?: number } = {}) =>
  request<Page<BatchSchedule>>('GET', `/api/v1/batch-schedules${query(params)}`);

/** With its last fires, newest first. */
export const getSchedule = (id: number) => request<BatchSchedule & { fires: ScheduleFire[] }>('GET', `/api/v1/batch-schedules/${id}`);

/** The hub refuses an invalid cron expression or an unknown time zone, naming the field. */
export const createSchedule = (schedule: NewSchedule) => request<BatchSchedule>('POST', '/api/v1/batch-schedules', schedule);

/** `enabled: false` pauses it. */
export const updateSchedule = (id: number, change: Partial<NewSchedule>) => request<BatchSchedule>('PATCH', `/api/v1/batch-schedules/${id}`, change);

export const deleteSchedule = (id: number) => request<void>('DELETE', `/api/v1/batch-schedules/${id}`);
