// Live node figures (hub/jobs/live.ts, hub/routes/nodes/live.ts): the hub's `live` job calls clash-stats.summary
// and clash-stats.traffic.position on a real agent process whose clash-stats is the in-memory
// ledger double (tests/fixtures/plugins/fake-ledger.js), keeps the latest figures per node in
// node_live, and tolerates a node it cannot reach. GET /api/v1/nodes/:id/live adds the node's
// traffic today (usage_hourly since 00:00 UTC on the hub clock); GET /api/v1/overview counts the
// fleet. Hub on SQLite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { enroll, nodeCommand, seedPlan, seedUnreachableNode, seedUser, startFakeNode } from './jobs.suite.js';

const HOUR = 3_600_000;
const NODE = 'live-node';
const DOWN = 'live-down';

describe('live node figures gathered by the hub', () => {
  // 10:30 UTC: "today" starts at 00:00 UTC of this day.
  const clock = { now: Date.UTC(2031, 4, 6, 10, 30) };
  const midnight = Date.UTC(2031, 4, 6);
  let agent: AgentProcess;
  let hub: TestHub;
  let alice: number;
  let bob: number;

  const runLive = async () => {
    clock.now += 61_000;
    const run = await hub.app.jobs.run('live');
    expect(run.ran).toBe(true);
    return (run as { result: Record<string, number> }).result;
  };
  const get = async (url: string) => {
    const res = await hub.app.inject({ method: 'GET', url, headers: await hub.as('viewer') });
    return { status: res.statusCode, body: res.json() as Record<string, any> };
  };

  beforeAll(async () => {
    [agent, hub] = await Promise.all([startFakeNode(NODE), startTestHub('sqlite', { clock: () => clock.now })]);
    await enroll(hub, agent);
    // Reachable by nobody, but marked online: the job tries it, fails and goes on.
    await seedUnreachableNode(hub.app.db, DOWN);
    await hub.app.db('nodes').where({ id: DOWN }).update({ health: 'online', enabled: true });
    // Offline, and disabled: neither is asked.
    await seedUnreachableNode(hub.app.db, 'live-offline');
    await hub.app.db('nodes').where({ id: 'live-offline' }).update({ health: 'offline', enabled: true });
    await seedUnreachableNode(hub.app.db, 'live-disabled');
    await hub.app.db('nodes').where({ id: 'live-disabled' }).update({ health: 'online', enabled: false });

    const plan = await seedPlan(hub.app.db, 'live-plan', { tags: [] });
    alice = (await seedUser(hub.app.db, 'alice', { planId: plan, now: clock.now })).userId;
    bob = (await seedUser(hub.app.db, 'bob', { planId: plan, now: clock.now })).userId;
    await seedUser(hub.app.db, 'carol', { planId: plan, now: clock.now, status: 'suspended' });
  });

  afterAll(async () => {
    await hub?.close();
    await agent?.stop();
  });

  it('has no figures for a node before the job ran, and 404 for a node that does not exist', async () => {
    const live = await get(`/api/v1/nodes/${NODE}/live`);
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ node_id: NODE, online_clients: null, connections: null, upload_total: null, download_total: null, sampled_at: null, ledger_backlog_entries: null });
    expect(live.body.today).toEqual({ from: new Date(midnight).toISOString(), upload_bytes: 0, download_bytes: 0, billed_bytes: 0 });
    expect((await get('/api/v1/nodes/no-such-node/live')).status).toBe(404);
  });

  it("keeps each node's latest summary and ledger backlog; a node that fails gets nothing and the job goes on", async () => {
    const sampledAt = '2031-05-06T10:30:55.000Z';
    await nodeCommand(hub, NODE, 'clash-stats.summary.set', { connections: 7, online_clients: 3, upload_total: 123_456_789, download_total: 987_654_321, sampled_at: sampledAt });
    await nodeCommand(hub, NODE, 'clash-stats.traffic.append', { user: 'alice', upload_bytes: 10, download_bytes: 20, count: 5 });

    expect(await runLive()).toEqual({ nodes: 2, summaries: 1, positions: 1, failed: 1 });
    const live = await get(`/api/v1/nodes/${NODE}/live`);
    expect(live.body).toMatchObject({
      node_id: NODE,
      online_clients: 3,
      connections: 7,
      upload_total: 123_456_789,
      download_total: 987_654_321,
      sampled_at: sampledAt,
      ledger_backlog_entries: 5,
      ledger_at: new Date(clock.now).toISOString(),
    });
    expect(await hub.app.db('node_live').where({ node_id: DOWN })).toEqual([]);
    // The same tick kept what singbox-config status said, for the node list: sing-box, its version, the users it serves.
    const listed = ((await get('/api/v1/nodes')).body.nodes as Record<string, any>[]).find((n) => n.id === NODE);
    // No base config served yet: sing-box does not run, and the node is degraded for it.
    expect(listed).toMatchObject({
      singbox: { running: false, version: '1.11.4-fake', checked_at: new Date(clock.now).toISOString() },
      users: { served: 0, expected: 0 },
      condition: { state: 'degraded', reasons: ['singbox-stopped'] },
    });
    expect((await get(`/api/v1/nodes/${DOWN}/live`)).body).toMatchObject({ online_clients: null, ledger_backlog_entries: null });

    // New figures replace the old; the backlog follows the ledger's head and acknowledged position.
    await nodeCommand(hub, NODE, 'clash-stats.summary.set', { connections: 2, online_clients: 1 });
    await nodeCommand(hub, NODE, 'clash-stats.traffic.ack', { seq: 3 });
    await nodeCommand(hub, NODE, 'clash-stats.traffic.append', { user: 'bob', upload_bytes: 1, download_bytes: 2, count: 10 });
    expect(await runLive()).toMatchObject({ summaries: 1, positions: 1, failed: 1 });
    const again = await get(`/api/v1/nodes/${NODE}/live`);
    // Totals left unset: the fake answers with the bytes ever appended.
    expect(again.body).toMatchObject({ online_clients: 1, connections: 2, upload_total: 5 * 10 + 10, download_total: 5 * 20 + 20, ledger_backlog_entries: 12 });
    // sampled_at is the agent's (its wall clock), not the hub's.
    expect(Math.abs(Date.parse(again.body.sampled_at) - Date.now())).toBeLessThan(60_000);
  });

  it("keeps a node's last figures when it stops answering", async () => {
    await agent.kill9();
    try {
      expect(await runLive()).toMatchObject({ nodes: 2, summaries: 0, positions: 0, failed: 2 });
      expect((await get(`/api/v1/nodes/${NODE}/live`)).body).toMatchObject({ online_clients: 1, connections: 2, ledger_backlog_entries: 12 });
    } finally {
      await agent.restart();
    }
  });

  it("sums the node's usage_hourly rows since 00:00 UTC as today's traffic; the overview counts the fleet", async () => {
    const rows = [
      // Yesterday's last hour: not today.
      { node_id: NODE, user_id: alice, hour: midnight - HOUR, upload_bytes: 1_000_000, download_bytes: 1_000_000, billed_bytes: 2_000_000 },
      { node_id: NODE, user_id: alice, hour: midnight, upload_bytes: 100, download_bytes: 200, billed_bytes: 300 },
      { node_id: NODE, user_id: bob, hour: midnight + 10 * HOUR, upload_bytes: 1000, download_bytes: 2000, billed_bytes: 4500 },
      // Another node: in the overview, not in this node's today.
      { node_id: DOWN, user_id: bob, hour: midnight + 9 * HOUR, upload_bytes: 5, download_bytes: 7, billed_bytes: 12 },
    ];
    await hub.app.db('usage_hourly').insert(rows);
    const live = await get(`/api/v1/nodes/${NODE}/live`);
    expect(live.body.today).toEqual({ from: new Date(midnight).toISOString(), upload_bytes: 1100, download_bytes: 2200, billed_bytes: 4800 });
    expect((await get(`/api/v1/nodes/${DOWN}/live`)).body.today).toMatchObject({ upload_bytes: 5, download_bytes: 7, billed_bytes: 12 });

    const t = Date.now();
    const alert = { rule: 'cpu', value: 90, last_value: 90, threshold: 80, clear_below: 75, fired_at: t };
    await hub.app.db('alerts').insert([
      { ...alert, node_id: NODE, state: 'firing' },
      { ...alert, node_id: DOWN, state: 'firing', rule: 'memory' },
      { ...alert, node_id: DOWN, state: 'resolved', resolved_at: t, resolved_value: 10 },
    ]);
    const overview = await get('/api/v1/overview');
    expect(overview.status).toBe(200);
    expect(overview.body).toEqual({
      // live-node and live-down online; live-offline offline; live-disabled not counted.
      nodes_online: 2,
      nodes_offline: 1,
      // alice and bob active; carol suspended.
      active_users: 2,
      traffic_today_bytes: 1100 + 2200 + 5 + 7,
      open_alerts: 2,
    });

    // The next UTC day starts at 0 again.
    clock.now = midnight + 24 * HOUR + 60_000;
    expect((await get(`/api/v1/nodes/${NODE}/live`)).body.today).toMatchObject({ upload_bytes: 0, download_bytes: 0, billed_bytes: 0 });
    expect((await get('/api/v1/overview')).body.traffic_today_bytes).toBe(0);
  });
});
