// The node-status job (hub/jobs/node-status.ts): it asks every enabled node's agent to Describe
// itself and stores the answer, and GET /api/v1/nodes answers from what it stored without calling
// any agent, so the list still shows a node's plugins and health after its agent stopped, and when
// the node was last seen; the next tick records that the agent no longer answers. Real agent
// process (the ledger and singbox-config doubles), hub on SQLite.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentProcess } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { storeDescription } from '../../hub/node-status.js';
import { enroll, seedUnreachableNode, startFakeNode } from './jobs.suite.js';

const NODE = 'status-node';
const DOWN = 'status-down';

describe('the node-status job and the node list', () => {
  const clock = { now: Date.UTC(2031, 4, 6, 10, 30) };
  let agent: AgentProcess;
  let hub: TestHub;

  const runStatus = async () => {
    clock.now += 31_000;
    const run = await hub.app.jobs.run('node-status');
    expect(run.ran).toBe(true);
    return (run as { result: Record<string, number> }).result;
  };
  const listed = async (id: string) => {
    const res = await hub.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: await hub.as('viewer') });
    expect(res.statusCode).toBe(200);
    return (res.json().nodes as Record<string, any>[]).find((n) => n.id === id)!;
  };

  beforeAll(async () => {
    [agent, hub] = await Promise.all([startFakeNode(NODE), startTestHub('sqlite', { clock: () => clock.now })]);
    await enroll(hub, agent);
    await seedUnreachableNode(hub.app.db, DOWN);
    await hub.app.db('nodes').where({ id: DOWN }).update({ enabled: true });
  });

  afterAll(async () => {
    await hub?.close();
    await agent?.stop();
  });

  it('stores what each agent describes; a node that does not answer gets the error and the job goes on', async () => {
    expect(await runStatus()).toEqual({ nodes: 2, answered: 1, failed: 1 });
    const node = await listed(NODE);
    expect(node).toMatchObject({ online: true, error: null, health: 'online', last_seen_at: new Date(clock.now).toISOString(), described_at: new Date(clock.now).toISOString() });
    expect(node.agent.nodeId).toBe(NODE);
    expect(node.agent.plugins.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining(['clash-stats', 'singbox-config']));
    expect(node.agent.plugins[0]).toMatchObject({ state: expect.any(String), healthy: expect.any(Boolean) });
    // The commands and their schemas (most of a description's bytes) are in the node's detail only.
    expect(node.agent.plugins[0]).not.toHaveProperty('commands');
    const down = await listed(DOWN);
    expect(down).toMatchObject({ online: false, agent: null, described_at: null, health: 'offline', condition: { state: 'offline', since: new Date(clock.now).toISOString() } });
    expect(down.error).toMatch(/ECONNREFUSED/);
  });

  it('answers the list from the database while the agent is stopped, with when the node was last seen', async () => {
    const seen = new Date(clock.now).toISOString();
    const before = await listed(NODE);
    await agent.stop();
    const describe = vi.spyOn(hub.app.agents, 'describe');
    try {
      const node = await listed(NODE);
      expect(describe).not.toHaveBeenCalled();
      expect(node).toMatchObject({ online: true, health: 'online', last_seen_at: seen, described_at: seen });
      expect(node.agent).toEqual(before.agent);
    } finally {
      describe.mockRestore();
    }

    // The next tick finds the agent gone: offline since now, why, and what it ran when last seen;
    // the node that was offline already stays offline since it first was.
    const downSince = (await listed(DOWN)).condition.since;
    expect(await runStatus()).toEqual({ nodes: 2, answered: 0, failed: 2 });
    const node = await listed(NODE);
    expect(node).toMatchObject({ online: false, health: 'offline', last_seen_at: seen, described_at: seen, condition: { state: 'offline', since: new Date(clock.now).toISOString() } });
    expect((await listed(DOWN)).condition.since).toBe(downSince);
    expect(node.error).toMatch(/unreachable|ECONNREFUSED|UNAVAILABLE/i);
    expect(node.agent).toEqual(before.agent);
  });

  it('shows a description stored since the last list, whichever hub stored it', async () => {
    await listed(NODE);
    const at = clock.now + 5_000;
    const plugin = { id: 'clash-stats', version: '9.0.0', state: 'failed', healthy: false, message: 'ledger unreadable' };
    await storeDescription(hub.app.db, NODE, { agentVersion: '9.0.0', nodeId: NODE, plugins: [{ ...plugin, commands: [], events: [] }] }, at);
    const node = await listed(NODE);
    expect(node).toMatchObject({ online: true, described_at: new Date(at).toISOString() });
    expect(node.agent).toEqual({ agentVersion: '9.0.0', nodeId: NODE, plugins: [plugin] });
  });
});
