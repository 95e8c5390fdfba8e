// A node's metric samples (sysmetrics' output, as the hub stores them) for the charts; live.ts
// brings the new ones.
import type { Sample } from '../../../plugins/sysmetrics/contract.js';
import { query, request } from './http.js';

/** A sysmetrics sample as the hub stores and streams it. */
export type MetricSample = Sample;

/** Stored samples of a node between two times (default: the last 24 hours). */
export const getNodeMetrics = (nodeId: string, from?: string, to?: string) =>
  request<{ node: string; samples: MetricSample[]; truncated: boolean }>(
    'GET',
    `/api/v1/nodes/${encodeURIComponent(nodeId)}/metrics${query({ from, to })}`,
  ).then((r) => r.samples);
