// Live figures per node (issue 6), gathered by the hub so the browser never talks to nodes: the
// `live` job calls clash-stats.summary (online clients, open connections, sing-box's upload and
// download totals) and clash-stats.traffic.position (head and acknowledged ledger sequence) on
// every enabled online node, and keeps the latest of each in node_live (one row per node). The
// ledger backlog (head − acked) feeds the ledger_backlog alert rule (hub/alerts). It also asks
// singbox-config.status which base config the node serves, so drift is found within one live
// interval (hub/jobs/served-config.ts); status is cheap, and this job already calls every online node.
// From the same answer it keeps whether sing-box runs, its version and the users the node serves,
// which the node list shows (hub/node-table.ts).
//
// A node that fails either command keeps its previous figures for that command (nothing is
// recorded, nothing about its health changes: the traffic job owns health) and the job goes on.
// The summary is asked for without `fresh`, so the agent's cache_ttl_s is respected; sampled_at is
// the agent's, so a cached answer shows its age.
import fp from 'fastify-plugin';
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { ClashSummary, LedgerPosition } from '../../plugins/clash-stats/contract.js';
import type { StatusOutput } from '../../plugins/singbox-config/contract.js';
import type { AgentPool } from '../agents.js';
import { Node } from '../db/models.js';
import { mapLimit } from './common.js';
import { recordServedConfig } from './served-config.js';

export interface LiveJobDeps {
  db: Knex;
  agents: AgentPool;
  now(): number;
  logger: AppLogger;
}

export interface LiveJobResult {
  nodes: number;
  summaries: number;
  positions: number;
  failed: number;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** One tick: gather and store every enabled online node's summary and ledger position. */
export async function runLiveJob(deps: LiveJobDeps): Promise<LiveJobResult> {
  const nodes = await Node.query(deps.db).where({ enabled: true, health: 'online' }).orderBy('id');
  const result: LiveJobResult = { nodes: nodes.length, summaries: 0, positions: 0, failed: 0 };
  await mapLimit(nodes, 8, async (node) => {
    const askedAt = deps.now();
    const [summary, position, status] = await Promise.all([
      deps.agents.execute(node, 'clash-stats.summary', {}).then(
        ({ result }) => result as ClashSummary,
        (error: Error) => void deps.logger.debug('live summary not gathered', { node_id: node.id, error: error.message }),
      ),
      deps.agents.execute(node, 'clash-stats.traffic.position', {}).then(
        ({ result }) => result as LedgerPosition,
        (error: Error) => void deps.logger.debug('ledger position not gathered', { node_id: node.id, error: error.message }),
      ),
      deps.agents
        .execute(node, 'singbox-config.status', {})
        .then(async ({ result }) => {
          const status = result as Partial<StatusOutput> | undefined;
          const hash = status?.config?.hash;
          // null: the node has no base config yet; an older singbox-config does not report it.
          if (typeof hash === 'string') await recordServedConfig(deps.db, deps.logger, node.id, hash, askedAt);
          return status;
        })
        .catch((error: Error) => void deps.logger.debug('served config not checked', { node_id: node.id, error: error.message })),
    ]);
    const now = deps.now();
    const patch: Record<string, number | string | boolean | null> = {};
    const sampledAt = summary ? Date.parse(summary.sampled_at) : NaN;
    if (summary && isCount(summary.online_clients) && isCount(summary.connections) && isCount(summary.upload_total) && isCount(summary.download_total)) {
      Object.assign(patch, {
        online_clients: summary.online_clients,
        connections: summary.connections,
        upload_total: summary.upload_total,
        download_total: summary.download_total,
        sampled_at: Number.isFinite(sampledAt) ? sampledAt : now,
      });
      result.summaries += 1;
    }
    if (position && isCount(position.head_seq) && isCount(position.acked_seq)) {
      Object.assign(patch, {
        ledger_head_seq: position.head_seq,
        ledger_acked_seq: position.acked_seq,
        ledger_backlog_entries: Math.max(0, position.head_seq - position.acked_seq),
        ledger_at: now,
      });
      result.positions += 1;
    }
    if (status && typeof status.running === 'boolean' && isCount(status.users?.served)) {
      Object.assign(patch, {
        singbox_running: status.running,
        singbox_version: typeof status.version === 'string' ? status.version.slice(0, 64) : null,
        users_served: status.users.served,
        status_at: now,
      });
    }
    if (!summary || !position) result.failed += 1;
    if (Object.keys(patch).length === 0) return;
    try {
      const row = { ...patch, updated_at: now };
      await deps.db('node_live').insert({ node_id: node.id, ...row }).onConflict('node_id').merge(row);
    } catch (error) {
      // The node was deleted meanwhile (foreign key) or the database refused: record nothing.
      deps.logger.debug('live figures not stored', { node_id: node.id, error: (error as Error).message });
    }
  });
  return result;
}

export const liveStatsPlugin = fp<{ logger: AppLogger; intervalMs: number }>(
  async (app, { logger, intervalMs }) => {
    app.jobs.add({
      name: 'live',
      intervalMs,
      tick: () => runLiveJob({ db: app.db, agents: app.agents, now: () => app.now(), logger }),
    });
  },
  { name: 'node-live', dependencies: ['database', 'agents', 'jobs'] },
);

export default liveStatsPlugin;
