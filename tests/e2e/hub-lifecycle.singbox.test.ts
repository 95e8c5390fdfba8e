// The operator's whole flow against real agents running real sing-box: a plan reaching the hk
// node, a user assigned to it, traffic billed with the node's multiplier, the quota cutting the
// user off, a reset bringing them back, the same for expiry with a clock the test moves, and a
// node whose agent lost its state while sing-box kept running: its new ledger is billed from its
// first entry, without the bytes the lost ledger had already billed; and a config rolled back on a
// node by its operator, which the hub shows as drift until an admin applies a version.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFromEnrollment, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { downloadThroughProxy, startByteServer, type ByteServer } from '../support/byte-server.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, singboxNodePlugins, startClient, type NodeProfile, type SingboxClient, type TestUser } from '../support/singbox-peers.js';
import { until } from '../support/until.js';

const MB = 1024 * 1024;
const DAY = 24 * 3600 * 1000;
const TRAFFIC_INTERVAL_S = 2;
/** Usage rows (the usage API) follow the billing by up to this. */
const USAGE_ROLLUP_INTERVAL_S = 1;

describe('hub lifecycle against real agents and sing-box', { timeout: 240_000 }, () => {
  const bin = singboxBin();
  let clockOffset = 0;
  let hub: TestHub;
  let work: string;
  let bytes: ByteServer;
  const nodes: Record<'hk' | 'us', { agent: AgentProcess; profile: NodeProfile }> = {} as never;
  const clients: SingboxClient[] = [];
  let alice: TestUser;
  let aliceId: number;
  let subscriptionId: number;

  const api = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => ownerApi(hub, method, url, payload);
  const usersOn = async (node: 'hk' | 'us') =>
    ((await api('POST', `/api/v1/nodes/${node}/commands/singbox-config.users.list`, {})).users as { name: string }[]).map((u) => u.name);
  /** Whether the node has applied every change the hub wants on it (nothing is in flight). */
  const settled = async (node: 'hk' | 'us') => {
    const { desired_revision, applied_revision } = await api('GET', `/api/v1/nodes/${node}`);
    return desired_revision === applied_revision;
  };
  /** Waits until the hub's wish for `node` is applied there and `user` is (or is not) on it. */
  const converged = (node: 'hk' | 'us', user: string, present: boolean, timeoutMs: number) =>
    until(`${user} ${present ? 'on' : 'off'} ${node}`, async () => (await settled(node)) && (await usersOn(node)).includes(user) === present, timeoutMs);
  const works = async (client: SingboxClient) =>
    downloadThroughProxy(client.proxyPort, bytes.port, 64 * 1024, 5000).then(
      () => true,
      () => false,
    );

  async function startNode(id: 'hk' | 'us') {
    const profile = await makeNodeProfile();
    const plugins = await singboxNodePlugins(bin, { clash: { sample_interval_s: 1 } });
    const agent = await startAgentProcess({
      nodeId: id,
      configure: (config, dir) => {
        Object.assign(config.plugins, plugins(dir));
      },
    });
    nodes[id] = { agent, profile };
    return agent;
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-lifecycle-'));
    bytes = await startByteServer();
    hub = await startTestHub('sqlite', {
      clock: () => Date.now() + clockOffset,
      config: { jobs_enabled: true, traffic_interval_s: TRAFFIC_INTERVAL_S, usage_rollup_interval_s: USAGE_ROLLUP_INTERVAL_S, quota_interval_s: 1, reconcile_interval_s: 1 },
    });
    // The scheduler runs while the hub listens, as in production.
    await hub.app.listen({ host: '127.0.0.1', port: 0 });
    for (const id of ['hk', 'us'] as const) {
      const agent = await startNode(id);
      await api('POST', '/api/v1/nodes', { enrollment: agent.enrollment, tags: [id], multiplier: id === 'hk' ? 2 : 1 });
      const version = await api('POST', '/api/v1/configs', { config: nodes[id].profile.baseConfig, comment: `${id} base` });
      await api('POST', `/api/v1/configs/${version.id}/apply`, { node_id: id });
    }
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    for (const [id, { agent }] of Object.entries(nodes)) {
      // sing-box outlives its agent by design; stop it too.
      const status = await api('POST', `/api/v1/nodes/${id}/commands/singbox-config.status`, {}).catch(() => ({ pid: null }));
      await agent.stop();
      if (status.pid) process.kill(status.pid, 'SIGTERM');
    }
    await hub?.close();
    await bytes?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('puts an assigned user on the nodes the plan reaches, and only there', async () => {
    const plan = await api('POST', '/api/v1/plans', {
      name: 'hk 100 MB',
      traffic_limit_bytes: 100 * MB,
      duration_days: 30,
      price: 5,
      is_enabled: true,
      node_tags: ['hk'],
      reset_policy: 'none',
    });
    aliceId = (await api('POST', '/api/v1/users', { name: 'alice', note: 'lifecycle' })).id;
    const credentials = await api('GET', `/api/v1/users/${aliceId}/credentials`);
    alice = { name: 'alice', flow: '', remaining_bytes: null, expires_at: null, ...credentials };
    subscriptionId = (await api('POST', '/api/v1/subscriptions', { user_id: aliceId, plan_id: plan.id })).id;

    await converged('hk', 'alice', true, 30_000);
    expect(await usersOn('us')).not.toContain('alice');
    const onHk = await startClient(bin, work, nodes.hk.profile, 'vless', alice);
    const onUs = await startClient(bin, work, nodes.us.profile, 'vless', alice);
    clients.push(onHk, onUs);
    expect(await works(onHk)).toBe(true);
    expect(await works(onUs)).toBe(false);
  });

  it('bills what the user moves, times the node multiplier, within two traffic-job periods and a usage roll-up', async () => {
    const client = clients[0]!;
    const received = (await downloadThroughProxy(client.proxyPort, bytes.port, 20 * MB)).received;
    const started = Date.now();
    const usage = await until('usage in the API', async () => {
      const u = await api('GET', `/api/v1/usage?user_id=${aliceId}`);
      return u.totals.download_bytes >= 20 * MB && u;
    });
    expect(Date.now() - started).toBeLessThanOrEqual((2 * TRAFFIC_INTERVAL_S + USAGE_ROLLUP_INTERVAL_S) * 1000 + 1500);
    expect(Math.abs(usage.totals.download_bytes - received) / received).toBeLessThan(0.02);
    expect(Math.abs(usage.totals.billed_bytes - 2 * (usage.totals.download_bytes + usage.totals.upload_bytes))).toBeLessThanOrEqual(2);
    const subscription = await api('GET', `/api/v1/subscriptions/${subscriptionId}`);
    expect(subscription.traffic_used_bytes).toBe(usage.totals.billed_bytes);
  });

  it('suspends the user over quota and cuts them off within 2 minutes; a traffic reset brings them back', async () => {
    const client = clients[0]!;
    // 20 MB so far, billed twice: 35 MB more makes 110 MB billed, over the 100 MB plan.
    await downloadThroughProxy(client.proxyPort, bytes.port, 35 * MB);
    const crossed = Date.now();
    await converged('hk', 'alice', false, 120_000);
    expect(await works(client)).toBe(false);
    expect(Date.now() - crossed).toBeLessThan(120_000);
    expect(await api('GET', `/api/v1/subscriptions/${subscriptionId}`)).toMatchObject({ status: 'suspended', suspended_reason: 'quota' });

    await api('POST', `/api/v1/subscriptions/${subscriptionId}/reset-traffic`, {});
    expect(await api('GET', `/api/v1/subscriptions/${subscriptionId}`)).toMatchObject({ status: 'active', traffic_used_bytes: 0 });
    await converged('hk', 'alice', true, 60_000);
    expect(await works(client)).toBe(true);
  });

  it('expires the subscription when its end passes on the hub clock, and a renewal brings the user back', async () => {
    const client = clients[0]!;
    clockOffset = 31 * DAY;
    await until('the expiry', async () => (await api('GET', `/api/v1/subscriptions/${subscriptionId}`)).status === 'expired', 60_000);
    await converged('hk', 'alice', false, 60_000);
    expect(await works(client)).toBe(false);
    await api('POST', `/api/v1/subscriptions/${subscriptionId}/renew`, {});
    expect(await api('GET', `/api/v1/subscriptions/${subscriptionId}`)).toMatchObject({ status: 'active' });
    await converged('hk', 'alice', true, 60_000);
    expect(await works(client)).toBe(true);
  });

  it("bills a new ledger under a sing-box that kept running for the bytes moved after it, not those billed before", async () => {
    const client = clients[0]!;
    const billed = async () => (await api('GET', `/api/v1/subscriptions/${subscriptionId}`)).traffic_used_bytes as number;
    /** Waits until the hub billed `bytes` (times hk's multiplier of 2) beyond `from`. */
    const billedBeyond = (from: number, bytes: number) =>
      until('the bytes billed', async () => {
        const used = await billed();
        return used >= from + 2 * bytes && used;
      });
    // A sing-box that (re)started within RESTART_TOLERANCE_S (2 s) of a new ledger is counted from
    // its start (clash-stats deltas.ts: that is what a fresh install looks like). This one last
    // reloaded when the previous test gave alice her renewal back: let that be longer ago.
    await new Promise((r) => setTimeout(r, 2500));
    // Bytes in sing-box's counters that the old ledger records and the hub bills.
    const earlier = (await downloadThroughProxy(client.proxyPort, bytes.port, 5 * MB)).received;
    const before = await billedBeyond(await billed(), earlier);
    const old = await api('GET', '/api/v1/nodes/hk');
    expect(old.ledger_id).toEqual(expect.any(String));
    expect(old.ledger_seq).toBeGreaterThan(0);

    // The agent dies and its state is lost (disk replaced, operator wiped it); sing-box goes on
    // serving with its counters, and clash-stats starts a new ledger whose seqs start at 1 again.
    const { agent } = nodes.hk;
    const { pid } = await api('POST', '/api/v1/nodes/hk/commands/singbox-config.status', {});
    await agent.kill9();
    await rm(path.join(agent.dir, 'state', 'clash-stats'), { recursive: true, force: true });
    await agent.restart();
    // The new ledger's first sample: it takes the running sing-box's counters as its baseline.
    await until('the new agent sampling', () =>
      api('POST', '/api/v1/nodes/hk/commands/clash-stats.traffic.sample', {}).then(
        () => true,
        () => false,
      ),
    );
    expect((await api('POST', '/api/v1/nodes/hk/commands/singbox-config.status', {})).pid).toBe(pid);

    const received = (await downloadThroughProxy(client.proxyPort, bytes.port, 5 * MB)).received;
    await billedBeyond(before, received);
    // A double count would come with the new ledger's first entries: let every one be billed.
    const node = await until('the new ledger drained', async () => {
      const n = await api('GET', '/api/v1/nodes/hk');
      const { head_seq } = await api('POST', '/api/v1/nodes/hk/commands/clash-stats.traffic.position', {});
      return n.ledger_id !== old.ledger_id && n.ledger_seq === head_seq && n;
    });
    const after = await billed();
    expect(after - before - 2 * received).toBeGreaterThanOrEqual(0);
    expect(after - before - 2 * received).toBeLessThan(0.02 * 2 * received);
    expect(node).toMatchObject({ last_error: null, health: 'online' });
    const audit = await api('GET', `/api/v1/audit?action=node.ledger.replaced&target=hk`);
    expect(audit.items).toEqual([expect.objectContaining({ admin: 'traffic', input: expect.objectContaining({ old_ledger_id: old.ledger_id, new_ledger_id: node.ledger_id }) })]);
  });

  it("shows a config the node's operator rolled back as drift, and an apply from the hub ends it", async () => {
    /** Runs the live job (which asks singbox-config status) until the node's drift is as wanted. */
    const driftIs = (drifted: boolean) =>
      until(`us ${drifted ? '' : 'not '}drifted`, async () => {
        await hub.app.jobs.run('live');
        const { config_drift } = await api('GET', '/api/v1/nodes/us');
        return (config_drift !== null) === drifted && { drift: config_drift };
      });
    const first = (await api('GET', '/api/v1/nodes/us')).applied_config_version as number;
    const louder = await api('POST', '/api/v1/configs', { config: { ...nodes.us.profile.baseConfig, log: { level: 'info' } }, comment: 'us louder' });
    await api('POST', `/api/v1/configs/${louder.id}/apply`, { node_id: 'us' });
    // The real singbox-config hashes the base config as the hub does.
    await driftIs(false);

    const onNode = await clientFromEnrollment(nodes.us.agent.enrollment);
    try {
      await onNode.execute('singbox-config.config.rollback', {}, { timeoutMs: 60_000 });
    } finally {
      onNode.close();
    }
    const { drift } = await driftIs(true);
    const { hash: firstHash } = await api('GET', `/api/v1/configs/${first}`);
    expect(drift).toMatchObject({ served_hash: firstHash, expected_hash: louder.hash });
    expect((await api('GET', '/api/v1/nodes/us/config/history')).pushes[0]).toMatchObject({ action: 'drift-detected', version: first });

    await api('POST', `/api/v1/configs/${louder.id}/apply`, { node_id: 'us' });
    await driftIs(false);
  });
});
