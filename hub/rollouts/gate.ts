// The gate of a rollout stage, for one node: what the hub sees of it now. The version is applied
// (the node confirmed it: applied_config_version), sing-box runs it (the node's own singbox-config
// status: running, serving that version's hash), users can reach it (hub/inbound-probe.ts from the
// hub, now, at the host and port /sub hands out: the scheduled inbound-check job is not waited
// for) and, when asked, its traffic did not fall (see trafficDrop).
import type { Knex } from 'knex';
import type { AgentPool } from '../agents.js';
import type { HubConfig } from '../config.js';
import { Node } from '../db/models.js';
import { inboundTargets } from '../inbound-health.js';
import { probeInbound } from '../inbound-probe.js';
import { mapLimit } from '../jobs/common.js';

export interface Gate {
  soak_s: number;
  timeout_s: number;
  inbound_check: boolean;
  max_traffic_drop_pct?: number;
}

/** A node's proxy bytes (up + down, sing-box's Clash API totals) at a moment. */
export interface TrafficSample {
  at: number;
  bytes: number;
}

/** Two windows of the same length: before the apply, and the soak after it. */
export interface TrafficWindows {
  before_from?: TrafficSample;
  before_to?: TrafficSample;
  after_from?: TrafficSample;
  after_to?: TrafficSample;
  /** trafficDrop of the four, once the soak ended. */
  drop_pct?: number | null;
}

export interface InboundResult {
  tag: string;
  host: string;
  port: number;
  ok: boolean;
  error: string | null;
}

/** What the gate saw of one node (rollout_nodes.checks). */
export interface NodeChecks {
  at: number;
  applied_version: number | null;
  singbox?: { running: boolean; hash: string | null; error?: string };
  inbounds?: InboundResult[];
  traffic?: TrafficWindows;
  /** Each failed check in words; empty: the node passes. */
  failures: string[];
}

/** The version rolled out: its id, its hash (what sing-box reports serving) and its content. */
export interface RolledVersion {
  id: number;
  hash: string;
  config: Record<string, unknown>;
}

export interface GateDeps {
  db: Knex;
  agents: Pick<AgentPool, 'execute'>;
  config: Pick<HubConfig, 'inbound_check_timeout_s'>;
  now(): number;
}

/** Checks at once, across a stage: a 100 % stage of a large fleet stays within the hub's sockets. */
const NODES_AT_ONCE = 16;

/**
 * The traffic drop in percent from the rate before to the rate over the soak; null when there is
 * nothing to compare (no traffic before). A counter that went down (sing-box restarted inside the
 * window) counts from zero.
 */
export function trafficDrop(w: Required<Pick<TrafficWindows, 'before_from' | 'before_to' | 'after_from' | 'after_to'>>): number | null {
  const rate = (from: TrafficSample, to: TrafficSample) => (to.bytes >= from.bytes ? to.bytes - from.bytes : to.bytes) / Math.max(1, to.at - from.at);
  const before = rate(w.before_from, w.before_to);
  if (before === 0) return null;
  return Math.max(0, Math.round((1 - rate(w.after_from, w.after_to) / before) * 1000) / 10);
}

export async function sampleTraffic(deps: Pick<GateDeps, 'agents' | 'now'>, node: Node): Promise<TrafficSample> {
  const { result } = await deps.agents.execute(node, 'clash-stats.summary', { fresh: true });
  const { upload_total: up, download_total: down } = result as { upload_total: number; download_total: number };
  return { at: deps.now(), bytes: up + down };
}

/** Checks every node of a stage against `version`; nodes that are gone answer with a failure. */
export async function checkStage(deps: GateDeps, nodeIds: string[], version: RolledVersion, gate: Gate): Promise<Map<string, NodeChecks>> {
  const nodes = await Node.query(deps.db).findByIds(nodeIds);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const checked = await mapLimit(nodeIds, NODES_AT_ONCE, async (id): Promise<[string, NodeChecks]> => {
    const node = byId.get(id);
    if (!node) return [id, { at: deps.now(), applied_version: null, failures: ['the node was removed'] }];
    return [id, await checkNode(deps, node, version, gate)];
  });
  return new Map(checked);
}

async function checkNode(deps: GateDeps, node: Node, version: RolledVersion, gate: Gate): Promise<NodeChecks> {
  const checks: NodeChecks = { at: deps.now(), applied_version: node.applied_config_version, failures: [] };
  if (node.applied_config_version !== version.id) checks.failures.push(`applied version ${node.applied_config_version ?? 'none'}, not ${version.id}`);
  const timeoutMs = deps.config.inbound_check_timeout_s * 1000;
  const [status, inbounds] = await Promise.all([
    deps.agents.execute(node, 'singbox-config.status', {}).then(
      ({ result }) => result as { running: boolean; config: { hash: string | null } },
      (error: Error) => error,
    ),
    gate.inbound_check ? Promise.all(inboundTargets(node, version.config).map(async (t) => ({ target: t, outcome: await probeInbound(t, timeoutMs) }))) : undefined,
  ]);
  if (status instanceof Error) {
    checks.singbox = { running: false, hash: null, error: status.message };
    checks.failures.push(`sing-box status not read: ${status.message}`);
  } else {
    checks.singbox = { running: status.running, hash: status.config.hash };
    if (!status.running) checks.failures.push('sing-box is not running');
    else if (status.config.hash !== version.hash) checks.failures.push(`sing-box serves config ${String(status.config.hash).slice(0, 12)}…, not version ${version.id}`);
  }
  if (inbounds) {
    checks.inbounds = inbounds.map(({ target, outcome }) => ({ tag: target.tag, host: target.host, port: target.port, ok: outcome.ok, error: outcome.error }));
    for (const { target, outcome } of inbounds) {
      if (!outcome.ok) checks.failures.push(`inbound ${target.tag} ${target.host}:${target.port}: ${outcome.error}`);
    }
  }
  return checks;
}
