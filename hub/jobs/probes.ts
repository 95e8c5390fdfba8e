// The `probes` job: reads every enabled, online node's health-probe results (scheduled probes with
// their history, the last unlock run) and, once a day, its inventory, and stores them
// (hub/probes.ts) for the node page and the unlock marks of subscription entry names. A node
// without health-probe, or one that does not answer, keeps what it reported before, with the error;
// its health is the node-status job's to record.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { Inventory, ResultsOutput } from '../../plugins/health-probe/contract.js';
import type { AgentPool } from '../agents.js';
import { Node } from '../db/models.js';
import { inventoryDue, storeInventory, storeProbeFailure, storeResults } from '../probes.js';
import { mapLimit } from './common.js';

/** History entries per probe the hub keeps: enough for a sparkline on the node page. */
export const HISTORY_KEPT = 60;

export interface ProbesDeps {
  db: Knex;
  agents: AgentPool;
  now(): number;
  logger: AppLogger;
}

export async function runProbesJob({ db, agents, now, logger }: ProbesDeps) {
  const nodes = await Node.query(db).where({ enabled: true, health: 'online' }).orderBy('id');
  const due = await inventoryDue(db, nodes.map((n) => n.id), now());
  let answered = 0;
  await mapLimit(nodes, 8, async (node) => {
    try {
      const results = (await agents.execute(node, 'health-probe.results', { limit: HISTORY_KEPT })).result as ResultsOutput;
      await storeResults(db, node.id, results, now());
      if (due.has(node.id)) await storeInventory(db, node.id, (await agents.execute(node, 'health-probe.inventory', {})).result as Inventory, now());
      answered++;
    } catch (error) {
      logger.debug('probe results not read', { node_id: node.id, error: (error as Error).message });
      // A node deleted meanwhile (foreign key): nothing to keep.
      await storeProbeFailure(db, node.id, error, now()).catch(() => undefined);
    }
  });
  return { nodes: nodes.length, answered, failed: nodes.length - answered };
}
