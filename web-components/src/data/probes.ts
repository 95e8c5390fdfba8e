// A node's health-probe reports as the hub stored them (GET /api/v1/nodes/:id/probes): scheduled
// probes with their history, the last unlock run, the inventory.
import type { Inventory, ProbeHistory, UnlockReport } from '../../../plugins/health-probe/contract.js';
import { request } from './http.js';

export type { Inventory, ProbeEntry, ProbeHistory, UnlockReport, UnlockResult } from '../../../plugins/health-probe/contract.js';

export interface NodeProbes {
  probes: ProbeHistory[];
  unlock: UnlockReport | null;
  /** e.g. "NF GPT": what entry names show for the node. */
  unlock_marks: string | null;
  inventory: Inventory | null;
  probes_at: string | null;
  inventory_at: string | null;
  error: string | null;
  checked_at: string | null;
}

export const getNodeProbes = (id: string) => request<NodeProbes>('GET', `/api/v1/nodes/${encodeURIComponent(id)}/probes`);
