// The subscription as a real client uses it: a hub with a real agent running real sing-box (VLESS,
// SS-2022 and Hysteria2 inbounds), a user on a plan, the sing-box profile fetched from /sub over
// HTTP with a sing-box app's User-Agent, and a real sing-box client started from that profile
// moving bytes through each protocol's node outbound; the hub's usage attributes them to the user.
// The hub reaches the agent by the name `localhost` while the node's public host is 127.0.0.1, so
// the client dials the public host. A suspended user still gets a profile, and nothing gets through it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { downloadThroughProxy, startByteServer, type ByteServer } from '../support/byte-server.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, singboxNodePlugins, type NodeProfile } from '../support/singbox-peers.js';
import { until } from '../support/until.js';

const MB = 1024 * 1024;

type Json = Record<string, any>;

describe('subscription profile used by a real sing-box client', { timeout: 180_000 }, () => {
  const bin = singboxBin();
  let hub: TestHub;
  let base: string;
  let work: string;
  let bytes: ByteServer;
  let agent: AgentProcess;
  let profile: NodeProfile;
  let userId: number;
  let subscriptionId: number;
  let token: string;
  const children: ChildProcess[] = [];

  const api = (method: 'GET' | 'POST', url: string, payload?: object) => ownerApi(hub, method, url, payload);
  /** The profile as the sing-box app fetches it: over HTTP, format chosen by its User-Agent. */
  const fetchProfile = async () => {
    const res = await fetch(`${base}/sub/${token}`, { headers: { 'user-agent': 'SFA/1.13.2 (1; sing-box 1.13.2)' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('subscription-userinfo')).toMatch(/^upload=0; download=\d+; total=\d+; expire=\d+$/);
    return (await res.json()) as Json;
  };

  /** A sing-box client run from the profile, on a free local port, sending everything to `final`. */
  async function startFromProfile(config: Json, final: string): Promise<number> {
    const port = await freePort();
    const copy = structuredClone(config);
    copy.inbounds[0].listen_port = port;
    copy.route.final = final;
    // The byte server is on loopback, which the profile (rightly) sends direct: drop that rule here.
    copy.route.rules = copy.route.rules.filter((r: Json) => !r.ip_is_private);
    const file = path.join(work, `client-${port}.json`);
    await writeFile(file, JSON.stringify(copy, null, 2));
    const child = spawn(bin, ['run', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (c) => (stderr += c));
    await until(`the client on ${port} (${stderr})`, async () => {
      if (child.exitCode !== null) throw new Error(`client exited: ${stderr}`);
      return new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
    }, 10_000);
    return port;
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-sub-e2e-'));
    bytes = await startByteServer();
    hub = await startTestHub('sqlite', { config: { jobs_enabled: true, traffic_interval_s: 1, usage_rollup_interval_s: 1, quota_interval_s: 1, reconcile_interval_s: 1 } });
    base = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    profile = await makeNodeProfile();
    const plugins = await singboxNodePlugins(bin, { clash: { sample_interval_s: 1 } });
    agent = await startAgentProcess({
      nodeId: 'hk',
      configure: (config, dir) => {
        Object.assign(config.plugins, plugins(dir));
      },
    });
    await api('POST', '/api/v1/nodes', { enrollment: agent.enrollment, address: `localhost:${agent.port}`, public_host: '127.0.0.1', tags: ['hk'], multiplier: 1 });
    const version = await api('POST', '/api/v1/configs', { config: profile.baseConfig, comment: 'hk base' });
    await api('POST', `/api/v1/configs/${version.id}/apply`, { node_id: 'hk' });

    const plan = await api('POST', '/api/v1/plans', {
      name: 'hk 1 GB', traffic_limit_bytes: 1024 * MB, duration_days: 30, price: 1, is_enabled: true, node_tags: ['hk'], reset_policy: 'none',
    });
    userId = (await api('POST', '/api/v1/users', { name: 'alice' })).id;
    subscriptionId = (await api('POST', '/api/v1/subscriptions', { user_id: userId, plan_id: plan.id })).id;
    token = (await api('GET', `/api/v1/users/${userId}/credentials`)).sub_token;
    await until('alice on hk and hk online', async () => {
      const node = await api('GET', '/api/v1/nodes/hk');
      if (node.desired_revision !== node.applied_revision || node.health !== 'online') return false;
      const { users } = await api('POST', '/api/v1/nodes/hk/commands/singbox-config.users.list', {});
      return (users as { name: string }[]).some((u) => u.name === 'alice');
    });
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    const status = await api('POST', '/api/v1/nodes/hk/commands/singbox-config.status', {}).catch(() => ({ pid: null }));
    await agent?.stop();
    if (status.pid) process.kill(status.pid, 'SIGTERM');
    await hub?.close();
    await bytes?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('moves ≥ 1 MB through each protocol of the profile, billed to the user', async () => {
    const config = await fetchProfile();
    const nodes = (config.outbounds as Json[]).filter((o) => o.server);
    expect(nodes.map((o) => o.type).sort()).toEqual(['hysteria2', 'shadowsocks', 'vless']);
    expect(nodes.map((o) => o.tag).sort()).toEqual(['hk hysteria2', 'hk shadowsocks', 'hk vless']);
    expect(nodes.map((o) => o.server)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    let received = 0;
    for (const node of nodes) {
      const port = await startFromProfile(config, node.tag);
      const download = await downloadThroughProxy(port, bytes.port, 1.5 * MB);
      received += download.received;
    }
    const usage = await until('the usage of alice', async () => {
      const u = await api('GET', `/api/v1/usage?user_id=${userId}`);
      return u.totals.download_bytes >= received * 0.98 && u;
    });
    expect(Math.abs(usage.totals.download_bytes - received) / received).toBeLessThan(0.05);
    const subscription = await api('GET', `/api/v1/subscriptions/${subscriptionId}`);
    expect(subscription.traffic_used_bytes).toBeGreaterThanOrEqual(received * 0.98);
    const userinfo = (await fetch(`${base}/sub/${token}`)).headers.get('subscription-userinfo');
    expect(userinfo).toContain(`download=${subscription.traffic_used_bytes};`);
  });

  it('gives a suspended user a profile that starts but reaches nothing', async () => {
    await api('POST', `/api/v1/subscriptions/${subscriptionId}/suspend`, {});
    const config = await fetchProfile();
    const nodes = (config.outbounds as Json[]).filter((o) => o.server);
    expect(nodes).toEqual([expect.objectContaining({ server: '127.0.0.1', server_port: 1 })]);
    const port = await startFromProfile(config, 'proxy');
    await expect(downloadThroughProxy(port, bytes.port, 64 * 1024, 5000)).rejects.toThrow();
  });
});
