// A node's metric samples (sysmetrics' output, as the hub stores them) for the charts; live.ts
// brings the new ones.
import { query, request } from './http.js';

export interface MetricSample {
  time: string;
  kind: string;
  values: Record<string, number | null>;
}

/** Stored samples of a node between two times (default: the last 24 hours). */
export const getNodeMetrics = (nodeId: string, from?: string, to?: string) =>
  request<{ node: string; samples: MetricSample[]; truncated: boolean }>(
    'GET',
    `/api/v1/nodes/${encodeURIComponent(nodeId)}/metrics${query({ from, to })}`,
  ).then((r) => r.samples);
