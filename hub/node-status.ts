// What each node's agent last described (agent version, plugins with their state, health and
// commands), kept in node_status: the `node-status` job stores it every tick, enrolling and the
// node's detail view store what they got too, and the node list reads only this. A node that does
// not answer keeps the description it last gave, with the error and the time of the attempt.
import type { Knex } from 'knex';
import type { AgentDescription } from '../agent-core/common/description.js';
import type { NodeStatus } from './db/models.js';

/** Stores what the node's agent described at `at` (an enrollment or a detail view stores it too). */
export async function storeDescription(db: Knex, nodeId: string, agent: AgentDescription, at: number): Promise<void> {
  const row = { agent: JSON.stringify(agent), described_at: at, error: null, checked_at: at };
  await db('node_status').insert({ node_id: nodeId, ...row }).onConflict('node_id').merge(row);
}

/** Stores that the node did not answer at `at`; the description it gave before stays. */
export async function storeDescribeFailure(db: Knex, nodeId: string, error: unknown, at: number): Promise<void> {
  const row = { error: (error as Error).message.slice(0, 1000), checked_at: at };
  await db('node_status').insert({ node_id: nodeId, agent: null, described_at: null, ...row }).onConflict('node_id').merge(row);
}

/** A node's stored status as the node list shows it: whether its agent answered last time, and what it runs. */
export function statusOf(status: NodeStatus | undefined) {
  return {
    online: status !== undefined && status.error === null && status.agent !== null,
    error: status?.error ?? null,
    agent: status?.agent ?? null,
    described_at: status?.described_at == null ? null : new Date(Number(status.described_at)).toISOString(),
  };
}
