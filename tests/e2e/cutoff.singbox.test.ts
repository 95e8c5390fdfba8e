// The quota cut-off as a user meets it, at default settings: a hub with its jobs at their default
// intervals, a built agent with singbox-config and clash-stats at theirs, a real sing-box serving
// VLESS and a real sing-box client. A user with a small quota downloads past it; from the moment
// the bytes crossed it to the first new connection refused must be at most 15 s, with the hub up and
// with the hub down. Then the hub, still the authority, catches up: it suspends the subscription,
// and a traffic reset serves the user again. Each cut-off is printed as one JSON line.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import { clientFromEnrollment, freePort, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { downloadThroughProxy, DownloadError, startByteServer, type ByteServer } from '../support/byte-server.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, startClient, type NodeProfile, type SingboxClient, type TestUser } from '../support/singbox-peers.js';
import { until } from '../support/until.js';

const MB = 1024 * 1024;
const QUOTA = 8 * MB;
/** The goal: from crossing the quota to the first refused new connection. */
const CUTOFF_GOAL_MS = 15_000;
/** Counters count the proxied stream, byte for byte (node-traffic.singbox.test.ts); this allows for probes cut mid-way. */
const TOLERANCE = 0.02;

type Listed = { users: { name: string; removed_locally: boolean; removed_reason: string | null; removed_at: string | null }[] };

describe('quota cut-off at default settings, real sing-box and client', { timeout: 300_000 }, () => {
  const bin = singboxBin();
  let work: string;
  let hub: TestHub | undefined;
  let agent: AgentProcess;
  let node: AgentClient;
  let profile: NodeProfile;
  let bytes: ByteServer;
  const clients: SingboxClient[] = [];
  const users: Record<string, { id: number; subscription: number; sync: TestUser }> = {};

  const api = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await hub!.app.inject({ method, url, headers: hub!.auth, ...(payload ? { payload } : {}) });
    if (res.statusCode >= 400) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const call = async <T>(command: string, input: unknown = {}) => (await node.execute(command, input, { timeoutMs: 30_000 })).result as T;
  const listed = async (name: string) => (await call<Listed>('singbox-config.users.list')).users.find((u) => u.name === name);
  /** Bytes each user moved, as their client counted them (requests and answers). */
  const moved: Record<string, number> = {};
  /** A 64 KiB download on a new connection through `client` (as `name`): whether it went through. */
  const works = (name: string, client: SingboxClient) =>
    downloadThroughProxy(client.proxyPort, bytes.port, 64 * 1024, 5000).then(
      (d) => ((moved[name] = (moved[name] ?? 0) + d.received + d.sent), true),
      (error: unknown) => ((moved[name] = (moved[name] ?? 0) + (error instanceof DownloadError ? error.received : 0)), false),
    );

  /**
   * Downloads through `client` until the node refuses it: 512 KiB at a time up to the quota, then
   * a 64 KiB probe on a new connection every 100 ms. The crossing is taken at the start of the
   * download during which the bytes passed QUOTA (never later than it happened), the refusal when
   * the first probe failed; after it, every probe for 3 s must fail too (not a reload's blip).
   */
  async function downloadPastQuota(name: string, client: SingboxClient): Promise<number> {
    let crossedAt: number | undefined;
    for (;;) {
      const started = Date.now();
      const size = crossedAt === undefined ? 512 * 1024 : 64 * 1024;
      try {
        const d = await downloadThroughProxy(client.proxyPort, bytes.port, size, 10_000);
        moved[name] = (moved[name] ?? 0) + d.received + d.sent;
      } catch (error) {
        if (!(error instanceof DownloadError)) throw error;
        moved[name] = (moved[name] ?? 0) + error.received;
        if (crossedAt === undefined) throw new Error(`refused before the quota was used up (${moved[name]} of ${QUOTA} bytes): ${error.message}`);
        const cutoffMs = Date.now() - crossedAt;
        for (const end = Date.now() + 3000; Date.now() < end; ) {
          expect(await works(name, client)).toBe(false);
          await new Promise((r) => setTimeout(r, 100));
        }
        return cutoffMs;
      }
      if (crossedAt === undefined && moved[name]! >= QUOTA) crossedAt = started;
      if (crossedAt !== undefined) {
        if (Date.now() - crossedAt > 60_000) throw new Error('still served a minute after crossing the quota');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /**
   * The removal as the node reports it, and the ledger holding every byte moved (nothing lost by
   * the reload); returns where the time went (the last check's reading, the apply's steps).
   */
  async function expectReported(name: string): Promise<{ check_ms: number; apply_ms: Record<string, number> }> {
    const entry = await until(`${name} listed as removed locally`, async () => {
      const u = await listed(name);
      return u?.removed_locally && u;
    });
    expect(entry.removed_reason).toMatch(/^used \d+ bytes since users\.sync revision \d+, which left \d+$/);
    const status = await call<{
      users: { locally_removed: { name: string }[] };
      last_apply: { action: string; ok: boolean; timings_ms: Record<string, number> };
      limits: { took_ms: number };
    }>('singbox-config.status');
    expect(status.users.locally_removed.map((r) => r.name)).toContain(name);
    expect(status.last_apply).toMatchObject({ action: 'limits', ok: true });
    expect(agent.output()).toContain('users removed locally: past their remaining bytes or expiry');
    await call('clash-stats.traffic.sample');
    const totals = await call<{ users: Record<string, { upload_bytes: number; download_bytes: number }> }>('clash-stats.traffic.totals');
    const counted = totals.users[name]!.upload_bytes + totals.users[name]!.download_bytes;
    expect(Math.abs(counted - moved[name]!) / moved[name]!).toBeLessThanOrEqual(TOLERANCE);
    return { check_ms: status.limits.took_ms, apply_ms: status.last_apply.timings_ms };
  }

  async function addUser(name: string, plan: number): Promise<void> {
    const id = (await api('POST', '/api/v1/users', { name, note: 'cut-off' })).id as number;
    const credentials = await api('GET', `/api/v1/users/${id}/credentials`);
    const subscription = (await api('POST', '/api/v1/subscriptions', { user_id: id, plan_id: plan })).id as number;
    users[name] = { id, subscription, sync: { name, flow: '', remaining_bytes: null, expires_at: null, ...credentials } };
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-cutoff-'));
    bytes = await startByteServer();
    // Every job at its default interval (traffic 60 s, quota 60 s, reconcile 5 s), but usage rows
    // (the usage API, which lags the billing by up to the roll-up interval) rolled up every second.
    hub = await startTestHub('sqlite', { config: { jobs_enabled: true, usage_rollup_interval_s: 1 } });
    await hub.app.listen({ host: '127.0.0.1', port: 0 });
    profile = await makeNodeProfile();
    const [clashPort, v2rayPort] = [await freePort(), await freePort()];
    agent = await startAgentProcess({
      nodeId: 'edge',
      // Only what has no default: where sing-box and its config are, and the loopback ports of its
      // APIs; and warnings in the log, to see the removal's.
      configure: (config, dir) => {
        config.log = { level: 'warn' };
        Object.assign(config.plugins, {
          'singbox-config': { enabled: true, binary: bin, config_path: path.join(dir, 'sing-box', 'config.json') },
          'clash-stats': { enabled: true, clash_api: { url: `http://127.0.0.1:${clashPort}`, secret: 'clash-secret' }, v2ray_api: { listen: `127.0.0.1:${v2rayPort}` } },
        });
      },
    });
    node = await clientFromEnrollment(agent.enrollment);
    await api('POST', '/api/v1/nodes', { enrollment: agent.enrollment, tags: ['edge'], multiplier: 1 });
    const version = await api('POST', '/api/v1/configs', { config: profile.baseConfig, comment: 'edge base' });
    await api('POST', `/api/v1/configs/${version.id}/apply`, { node_id: 'edge' });
    const plan = await api('POST', '/api/v1/plans', {
      name: 'edge 8 MiB',
      traffic_limit_bytes: QUOTA,
      duration_days: 30,
      price: 1,
      is_enabled: true,
      node_tags: ['edge'],
      reset_policy: 'none',
    });
    await addUser('alice', plan.id);
    await addUser('bob', plan.id);
    await until('both users on the node', async () => (await call<Listed>('singbox-config.users.list')).users.length === 2, 60_000);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    const status = await call<{ pid: number | null }>('singbox-config.status').catch(() => ({ pid: null }));
    node?.close();
    await agent?.stop();
    if (status.pid) process.kill(status.pid, 'SIGTERM');
    await hub?.close();
    await bytes?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function clientFor(name: string): Promise<SingboxClient> {
    const client = await startClient(bin, work, profile, 'vless', users[name]!.sync);
    clients.push(client);
    return client;
  }

  it('refuses new connections of a user within 15 s of crossing the quota, with the hub up', async () => {
    const client = await clientFor('alice');
    const events: { users: { name: string }[] }[] = [];
    const stopWatching = node.watch(['singbox-config.users.removed-locally'], (event) => events.push(event.payload as (typeof events)[number]), () => {});
    const cutoffMs = await downloadPastQuota('alice', client).finally(stopWatching);
    expect(events.map((e) => e.users.map((u) => u.name))).toEqual([['alice']]);
    const spent = await expectReported('alice');
    console.log(JSON.stringify({ cutoff: 'hub up', cutoff_ms: cutoffMs, goal_ms: CUTOFF_GOAL_MS, quota_bytes: QUOTA, moved_bytes: moved.alice, ...spent }));
    expect(cutoffMs).toBeLessThanOrEqual(CUTOFF_GOAL_MS);
    // bob, on the same plan, is untouched.
    expect(await works('bob', await clientFor('bob'))).toBe(true);
  });

  it('lets the hub catch up: it suspends the subscription, and a traffic reset serves the user again', async () => {
    // The traffic job drains the node (60 s), the quota job suspends alice (60 s), the reconciler
    // sends a users.sync without her: the node's snapshot no longer has her, nor her local removal.
    await until('alice suspended', async () => (await api('GET', `/api/v1/subscriptions/${users.alice!.subscription}`)).status === 'suspended', 150_000);
    await until('alice gone from the node', async () => !(await listed('alice')), 30_000);
    const usage = await api('GET', `/api/v1/usage?user_id=${users.alice!.id}`);
    expect(usage.totals.download_bytes + usage.totals.upload_bytes).toBeGreaterThanOrEqual(QUOTA);

    await api('POST', `/api/v1/subscriptions/${users.alice!.subscription}/reset-traffic`, {});
    const back = await until('alice served again', async () => {
      const u = await listed('alice');
      return u && !u.removed_locally && u;
    });
    expect(back.removed_reason).toBeNull();
    const client = await clientFor('alice');
    await until('alice connecting again', () => works('alice', client), 15_000);
  });

  it('refuses new connections of a user within 15 s of crossing the quota, with the hub down', async () => {
    await hub!.close();
    hub = undefined;
    const client = await clientFor('bob');
    const cutoffMs = await downloadPastQuota('bob', client);
    const spent = await expectReported('bob');
    console.log(JSON.stringify({ cutoff: 'hub down', cutoff_ms: cutoffMs, goal_ms: CUTOFF_GOAL_MS, quota_bytes: QUOTA, moved_bytes: moved.bob, ...spent }));
    expect(cutoffMs).toBeLessThanOrEqual(CUTOFF_GOAL_MS);
  });
});
