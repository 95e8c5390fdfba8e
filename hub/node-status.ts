// What each node's agent last described (agent version, plugins with their state, health and
// commands), kept in node_status: the `node-status` job stores it every tick, enrolling and the
// node's detail view store what they got too, and the node list reads only this. A node that does
// not answer keeps the description it last gave, with the error and the time of the attempt.
import type { Knex } from 'knex';
import type { AgentDescription, PluginDescription } from '../agent-core/common/description.js';
import type { NodeStatus } from './db/models.js';

/** A description as the node list shows it: the agent and its plugins' state and health, without their commands. */
export type AgentSummary = Omit<AgentDescription, 'plugins'> & { plugins: Omit<PluginDescription, 'commands' | 'events'>[] };

const summarize = ({ plugins, ...agent }: AgentDescription): AgentSummary => ({
  ...agent,
  plugins: plugins.map(({ commands: _commands, events: _events, ...plugin }) => plugin),
});

/**
 * The plugins the agent says are unhealthy, as "<plugin>: <message>" (node_status.unhealthy, read
 * by the alerts job). A plugin disabled in agent.yaml is not healthy either, but it is not a fault.
 */
export const unhealthyPlugins = (agent: AgentDescription): string[] =>
  agent.plugins.filter((p) => !p.healthy && p.state !== 'disabled').map((p) => `${p.id}: ${p.message || p.state}`);

const describedRow = (agent: AgentDescription, at: number) => ({
  agent: JSON.stringify(agent),
  unhealthy: JSON.stringify(unhealthyPlugins(agent)),
  described_at: at,
  error: null,
  checked_at: at,
});

/** Stores what the node's agent described at `at` (an enrollment or a detail view stores it too). */
export async function storeDescription(db: Knex, nodeId: string, agent: AgentDescription, at: number): Promise<void> {
  const row = describedRow(agent, at);
  await db('node_status').insert({ node_id: nodeId, ...row }).onConflict('node_id').merge(row);
}

/**
 * Stores what several nodes described, in a few statements for all of them; `notStored` hears of a
 * node whose row was refused (deleted meanwhile), and the others are stored.
 */
export async function storeDescriptions(
  db: Knex,
  described: readonly { nodeId: string; agent: AgentDescription; at: number }[],
  notStored: (nodeId: string, error: Error) => void,
): Promise<void> {
  for (let i = 0; i < described.length; i += 50) {
    const chunk = described.slice(i, i + 50);
    const rows = chunk.map((d) => ({ node_id: d.nodeId, ...describedRow(d.agent, d.at) }));
    try {
      await db('node_status').insert(rows).onConflict('node_id').merge(['agent', 'unhealthy', 'described_at', 'error', 'checked_at']);
    } catch {
      for (const d of chunk) await storeDescription(db, d.nodeId, d.agent, d.at).catch((error: Error) => notStored(d.nodeId, error));
    }
  }
}

/** Stores that the node did not answer at `at`; the description it gave before stays. */
export async function storeDescribeFailure(db: Knex, nodeId: string, error: unknown, at: number): Promise<void> {
  const row = { error: (error as Error).message.slice(0, 1000), checked_at: at };
  await db('node_status').insert({ node_id: nodeId, agent: null, described_at: null, ...row }).onConflict('node_id').merge(row);
}

/** A node's stored status as the API shows it: whether its agent answered last time, and what it runs. */
export function statusOf<Agent>(status: { error: string | null; agent: Agent | null; described_at: number | string | null } | undefined) {
  return {
    online: status !== undefined && status.error === null && status.agent !== null,
    error: status?.error ?? null,
    agent: status?.agent ?? null,
    described_at: status?.described_at == null ? null : new Date(Number(status.described_at)).toISOString(),
  };
}

/**
 * Every node's status with its description summarized, for the node list. The command schemas are
 * most of a description (about 12 KB a node), so a description is read and summarized only when
 * its described_at moved since this hub last read it; a list then reads a few columns per node.
 * Keyed by what the database says, so it holds with several hubs writing.
 */
export class StatusSummaries {
  private readonly summaries = new Map<string, { describedAt: number; agent: AgentSummary }>();

  async read(db: Knex): Promise<Map<string, ReturnType<typeof statusOf<AgentSummary>>>> {
    const rows: Pick<NodeStatus, 'node_id' | 'described_at' | 'error'>[] = await db('node_status').select('node_id', 'described_at', 'error');
    const stale = rows.filter((r) => r.described_at !== null && this.summaries.get(r.node_id)?.describedAt !== Number(r.described_at)).map((r) => r.node_id);
    for (let i = 0; i < stale.length; i += 500) {
      const described = await db('node_status').whereIn('node_id', stale.slice(i, i + 500)).whereNotNull('agent').select('node_id', 'agent', 'described_at');
      for (const row of described as { node_id: string; agent: string; described_at: number | string }[]) {
        this.summaries.set(row.node_id, { describedAt: Number(row.described_at), agent: summarize(JSON.parse(row.agent) as AgentDescription) });
      }
    }
    const listed = new Set(rows.map((r) => r.node_id));
    for (const id of this.summaries.keys()) if (!listed.has(id)) this.summaries.delete(id);
    return new Map(
      rows.map((r) => {
        const summary = r.described_at === null ? undefined : this.summaries.get(r.node_id);
        return [r.node_id, statusOf({ error: r.error, agent: summary?.agent ?? null, described_at: summary?.describedAt ?? r.described_at })];
      }),
    );
  }
}
