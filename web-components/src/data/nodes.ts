// The nodes: listing, adding from an enrollment string, settings, removal, and running a plugin
// command on one.
import type { AgentDescription } from '../../../agent-core/common/description.js';
import { request } from './http.js';

/** Where clients reach one inbound instead of the node's public host and the inbound's port. */
export interface InboundOverride {
  host?: string;
  port?: number;
}

export interface NodeSummary {
  id: string;
  name: string;
  /** The agent's gRPC address, which the hub dials. */
  address: string;
  /** What users' clients dial; null: the host of `address`. */
  public_host: string | null;
  /** By inbound tag. */
  inbound_overrides: Record<string, InboundOverride>;
  tags: string[];
  multiplier: number;
  enabled: boolean;
  online: boolean;
  error: string | null;
  agent: { agentVersion: string; plugins: { id: string; state: string; healthy: boolean }[] } | null;
  /** Set while the node serves a config other than the version the hub applied to it. */
  config_drift: ConfigDrift | null;
  /** Whether the hub's checks of the node's inbounds pass (unknown: not checked). */
  inbound_health: InboundHealth;
}

/** A row of the node list: the node and what the hub stored about it (no agent is asked). */
export interface NodeRow extends NodeSummary {
  last_seen_at: string | null;
  condition: { state: 'online' | 'degraded' | 'offline' | 'unknown'; since: string | null; reasons: ('singbox-stopped' | 'inbounds-unreachable')[] };
  /** What sing-box said at the hub's last question; null: never asked. */
  singbox: { running: boolean; version: string | null; checked_at: string } | null;
  users: { served: number | null; expected: number };
  traffic_today_bytes: number;
  cpu_percent: number | null;
  memory_percent: number | null;
  metrics_at: string | null;
  applied_config_version: number | null;
  desired_config_version: number | null;
  drift: boolean;
}

/** The columns the hub sorts the node list by. */
export type NodeSort = 'name' | 'health' | 'traffic_today' | 'cpu' | 'memory' | 'last_seen' | 'users_served';

/** How the list is asked for: a column (descending with a leading '-') and one tag. */
export interface NodeQuery {
  sort?: NodeSort | `-${NodeSort}`;
  tag?: string;
}

export interface InboundHealth {
  state: 'healthy' | 'unhealthy' | 'unknown';
  /** Since when it is unhealthy. */
  since: string | null;
  failed_checks: number;
  good_checks: number;
  checked_at: string | null;
}

/** The base config hash a node serves against the one the hub expects, and since when they differ. */
export interface ConfigDrift {
  served_hash: string | null;
  expected_hash: string | null;
  since: string;
}

export interface NodeDetail extends Omit<NodeSummary, 'agent'> {
  agent: AgentDescription | null;
  /** The base config version the hub wants on the node, and the one the node runs. */
  desired_config_version: number | null;
  applied_config_version: number | null;
}

/** What an admin may change on a node (PATCH /api/v1/nodes/:id); new tags re-sync its users. */
export type NodeSettings = Partial<Pick<NodeSummary, 'name' | 'address' | 'public_host' | 'inbound_overrides' | 'tags' | 'multiplier' | 'enabled'>>;

export function listNodes(query: NodeQuery = {}): Promise<NodeRow[]> {
  const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
  const search = params.toString() ? `?${params}` : '';
  return request<{ nodes: NodeRow[] }>('GET', `/api/v1/nodes${search}`).then((r) => r.nodes);
}

/** Adds a node from the enrollment string its agent printed; the hub dials it before saying yes. */
export const enrollNode = (body: { enrollment: string; tags?: string[]; name?: string; multiplier?: number }) =>
  request<NodeSummary>('POST', '/api/v1/nodes', body);

export const getNode = (id: string) => request<NodeDetail>('GET', `/api/v1/nodes/${encodeURIComponent(id)}`);

export const updateNode = (id: string, settings: NodeSettings) => request<NodeSummary>('PATCH', `/api/v1/nodes/${encodeURIComponent(id)}`, settings);

/** Removes the node from the hub; its agent and sing-box keep running as they are. */
export const deleteNode = (id: string) => request<void>('DELETE', `/api/v1/nodes/${encodeURIComponent(id)}`);

/** Any plugin command, as the generic command form runs it; typed callers live in the plugin's data module. */
export const runCommand = (nodeId: string, command: string, input: unknown) =>
  request<unknown>('POST', `/api/v1/nodes/${encodeURIComponent(nodeId)}/commands/${encodeURIComponent(command)}`, input);
