// The `inbound-check` job: every inbound_check_interval_s, the hub connects to each enabled node's
// client-facing inbounds from outside (hub/inbound-probe.ts), at the host and port /sub gives
// clients, because an agent that answers gRPC does not prove that users can connect. A check of a
// node fails when any of its checked inbounds fails; inbound_unhealthy_after failed checks in a
// row make the node unhealthy (nodes.inbound_unhealthy_since), which keeps it out of newly fetched
// subscriptions (hub/subscriptions/lookup.ts) and fires the `unreachable` alert (hub/jobs/alerts.ts);
// inbound_healthy_after good checks in a row make it healthy again (hub/inbound-health.ts). Each
// inbound's last result is kept in node_inbound_checks for the node's page.
//
// The node's agent is not involved: a node whose agent is down is still checked. A node with no
// inbound a TCP check can reach (QUIC only) is left unknown, never unhealthy. Ticks run under the
// jobs' fleet lease; probes run at most PROBES_AT_ONCE at a time, each bounded by
// inbound_check_timeout_s.
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { HubConfig } from '../config.js';
import { readConfigVersion } from '../config-versions.js';
import { Node } from '../db/models.js';
import { inboundTargets, nextInboundHealth, type InboundTarget } from '../inbound-health.js';
import { probeInbound } from '../inbound-probe.js';
import type { ObjectStore } from '../object-store.js';
import { mapLimit } from './common.js';

/** Sockets open at once: bounded so a large fleet does not run the hub out of file descriptors. */
const PROBES_AT_ONCE = 64;

export interface InboundCheckDeps {
  db: Knex;
  objects: ObjectStore;
  config: Pick<HubConfig, 'inbound_check_timeout_s' | 'inbound_unhealthy_after' | 'inbound_healthy_after'>;
  now(): number;
  logger: AppLogger;
}

export interface InboundCheckResult {
  nodes: number;
  inbounds: number;
  /** Inbounds whose check failed in this tick. */
  failed: number;
  became_unhealthy: string[];
  became_healthy: string[];
}

/** Returns the tick; base configs are immutable per version, so each is read once per process. */
export function inboundChecker(deps: InboundCheckDeps): () => Promise<InboundCheckResult> {
  const configs = new LRUCache<number, Record<string, unknown>>({
    max: 512,
    fetchMethod: async (version) => (await readConfigVersion(deps.db, deps.objects, version)).config,
  });
  const thresholds = { unhealthyAfter: deps.config.inbound_unhealthy_after, healthyAfter: deps.config.inbound_healthy_after };

  return async () => {
    const { db, logger } = deps;
    const nodes = await Node.query(db).where('enabled', true).whereNotNull('applied_config_version').orderBy('id');
    const result: InboundCheckResult = { nodes: 0, inbounds: 0, failed: 0, became_unhealthy: [], became_healthy: [] };
    const checked = new Map<Node, InboundTarget[]>();
    for (const node of nodes) {
      const config = await configs.fetch(node.applied_config_version!).catch((error: Error) => {
        logger.warn('inbound check: base config not readable', { node_id: node.id, version: node.applied_config_version, error: error.message });
      });
      if (!config) continue;
      const targets = inboundTargets(node, config);
      if (targets.length === 0) {
        await forget(db, node);
        continue;
      }
      checked.set(node, targets);
    }
    // Every node's inbounds in one queue, so one slow node does not hold the others' checks up.
    const timeoutMs = deps.config.inbound_check_timeout_s * 1000;
    const probed = await mapLimit([...checked.values()].flat(), PROBES_AT_ONCE, (target) => probeInbound(target, timeoutMs));
    const checkedAt = deps.now();

    let offset = 0; // probed is in the order of checked's targets
    for (const [node, targets] of checked) {
      const results = targets.map((target) => ({ target, outcome: probed[offset++]! }));
      const failures = results.filter((r) => !r.outcome.ok);
      const previous = { failed: node.inbound_failed_checks, good: node.inbound_good_checks, unhealthySince: node.inbound_unhealthy_since === null ? null : Number(node.inbound_unhealthy_since) };
      const next = nextInboundHealth(previous, failures.length === 0, checkedAt, thresholds);
      await db.transaction(async (trx) => {
        await trx('nodes').where({ id: node.id }).update({
          inbound_failed_checks: next.failed,
          inbound_good_checks: next.good,
          inbound_unhealthy_since: next.unhealthySince,
          inbound_checked_at: checkedAt,
        });
        const rows = results.map(({ target, outcome }) => ({
          node_id: node.id,
          tag: target.tag,
          host: target.host,
          port: target.port,
          probe: target.probe,
          ok: outcome.ok,
          latency_ms: outcome.latency_ms,
          error: outcome.error?.slice(0, 500) ?? null,
          checked_at: checkedAt,
        }));
        await trx('node_inbound_checks').insert(rows).onConflict(['node_id', 'tag']).merge();
        await trx('node_inbound_checks').where({ node_id: node.id }).whereNotIn('tag', rows.map((r) => r.tag)).delete();
      });
      result.nodes += 1;
      result.inbounds += results.length;
      result.failed += failures.length;
      if (previous.unhealthySince === null && next.unhealthySince !== null) {
        result.became_unhealthy.push(node.id);
        const inbounds = failures.map((f) => `${f.target.tag} ${f.target.host}:${f.target.port}: ${f.outcome.error}`);
        logger.warn('node unhealthy: its inbounds do not answer from the hub', { node_id: node.id, failed_checks: next.failed, inbounds });
      } else if (previous.unhealthySince !== null && next.unhealthySince === null) {
        result.became_healthy.push(node.id);
        logger.info('node healthy again: its inbounds answer from the hub', { node_id: node.id, good_checks: next.good });
      }
    }
    return result;
  };
}

/** A node with nothing to check: its health is unknown again, so it is never held out of /sub on old results. */
async function forget(db: Knex, node: Node): Promise<void> {
  if (node.inbound_checked_at === null && node.inbound_unhealthy_since === null) return;
  await db.transaction(async (trx) => {
    await trx('nodes').where({ id: node.id }).update({ inbound_failed_checks: 0, inbound_good_checks: 0, inbound_unhealthy_since: null, inbound_checked_at: null });
    await trx('node_inbound_checks').where({ node_id: node.id }).delete();
  });
}
