// The `node-status` job: asks every enabled node's agent to Describe itself (agent version, plugins
// with their state, health and commands) and stores the answer (hub/node-status.ts), so GET
// /api/v1/nodes reads the database instead of calling every agent for every dashboard refresh. The
// node's health is recorded like any job's contact with it.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { AgentPool } from '../agents.js';
import { Node } from '../db/models.js';
import { storeDescribeFailure, storeDescriptions } from '../node-status.js';
import { mapLimit, recordNodeError, recordNodeSeen } from './common.js';

const JOB = 'node-status';
/** Describe is cheap; a node that takes longer than this is counted as not answering. */
const DESCRIBE_TIMEOUT_MS = 5000;

export interface NodeStatusDeps {
  db: Knex;
  agents: AgentPool;
  now(): number;
  logger: AppLogger;
}

/** One tick: Describe every enabled node, a few at a time; the answers are stored together. */
export async function runNodeStatusJob({ db, agents, now, logger }: NodeStatusDeps) {
  const nodes = await Node.query(db).where('enabled', true).orderBy('id');
  // A node deleted meanwhile (foreign key) or a database refusal: the other nodes go on.
  const notStored = (nodeId: string, error: Error) => logger.warn('node status not stored', { node_id: nodeId, error: error.message });
  const answers = await mapLimit(nodes, 8, async (node) => {
    try {
      return { nodeId: node.id, agent: await agents.describe(node, DESCRIBE_TIMEOUT_MS), at: now() };
    } catch (error) {
      await storeDescribeFailure(db, node.id, error, now()).catch((e: Error) => notStored(node.id, e));
      await recordNodeError(db, node.id, JOB, error, now());
      logger.debug('node not described', { node_id: node.id, error: (error as Error).message });
      return undefined;
    }
  });
  const described = answers.filter((a) => a !== undefined);
  await storeDescriptions(db, described, notStored);
  await recordNodeSeen(db, described.map((d) => d.nodeId), JOB, now());
  return { nodes: nodes.length, answered: described.length, failed: nodes.length - described.length };
}
