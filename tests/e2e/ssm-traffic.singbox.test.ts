// A managed Shadowsocks-2022 inbound on real sing-box: its users live in sing-box's SSM API, not in
// the config, and their bytes are read from the SSM API's counters. The ledger must count every
// byte once: next to a V2Ray-counted inbound, across a user removed and added again (their SSM
// counter starts over), and across a sing-box restart (every counter starts over).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import { clientFromEnrollment, freePort, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { downloadThroughProxy, DownloadError, startByteServer, type ByteServer } from '../support/byte-server.js';
import { LedgerReader } from '../support/ledger-reader.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, makeUser, singboxNodePlugins, startClient, type NodeProfile, type Protocol, type SingboxClient, type TestUser } from '../support/singbox-peers.js';

const TOLERANCE = 0.02;
const MB = 1024 * 1024;

describe('a managed shadowsocks inbound (SSM API) on real sing-box', { timeout: 120_000 }, () => {
  const bin = singboxBin();
  let work: string;
  let agent: AgentProcess;
  let client: AgentClient;
  let profile: NodeProfile;
  let bytes: ByteServer;
  const clients: SingboxClient[] = [];
  const alice = makeUser('alice');
  const bob = makeUser('bob');
  let revision = 0;
  const ledger = new LedgerReader(() => client);

  const call = async <T>(command: string, input: unknown = {}) => (await client.execute(command, input, { timeoutMs: 60_000 })).result as T;
  const sync = (users: TestUser[]) => call<{ changed: boolean }>('singbox-config.users.sync', { revision: ++revision, users });
  const singboxPid = async () => (await call<{ pid: number | null }>('singbox-config.status')).pid;

  /** Samples now, then drains and acknowledges everything new: bytes (both ways) per user since the last call. */
  async function drained(): Promise<Map<string, number>> {
    return new Map([...(await ledger.drain())].map(([user, { up, down }]) => [user, up + down]));
  }

  /** Downloads `size` bytes as `user` over `protocol`; the bytes both ways, as the client saw them. */
  async function move(protocol: Protocol, user: TestUser, size: number): Promise<number> {
    const c = await startClient(bin, work, profile, protocol, user);
    clients.push(c);
    const d = await downloadThroughProxy(c.proxyPort, bytes.port, size);
    return d.received + d.sent;
  }

  const expectClose = (counted: number | undefined, moved: number) => {
    expect(counted).toBeDefined();
    expect(Math.abs(counted! - moved) / moved).toBeLessThanOrEqual(TOLERANCE);
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-ssm-'));
    profile = await makeNodeProfile({ managedShadowsocks: true });
    bytes = await startByteServer();
    // The test samples when it wants to; a background sample must not split its figures.
    const plugins = await singboxNodePlugins(bin, { singbox: { ssm_api_port: await freePort() }, clash: { sample_interval_s: 3600 } });
    agent = await startAgentProcess({
      nodeId: 'ssm',
      configure: (config, dir) => {
        Object.assign(config.plugins, plugins(dir));
      },
    });
    client = await clientFromEnrollment(agent.enrollment);
    await call('singbox-config.config.apply', { config: profile.baseConfig, comment: 'ssm e2e' });
    await sync([alice, bob]);
    await drained();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    const pid = await singboxPid().catch(() => null);
    client?.close();
    await agent?.stop();
    if (pid) process.kill(pid, 'SIGTERM');
    await bytes?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('counts bytes through the managed inbound once, next to a V2Ray-counted inbound, each under its user', async () => {
    const aliceMoved = await move('shadowsocks-managed', alice, 5 * MB);
    const bobMoved = (await move('shadowsocks-managed', bob, 1 * MB)) + (await move('vless', bob, 2 * MB));
    const counted = await drained();
    expectClose(counted.get('alice'), aliceMoved);
    expectClose(counted.get('bob'), bobMoved);
    // Users are named as the hub knows them, never by their SSM name `<name>@<tag>`.
    expect([...counted.keys()].sort()).toEqual(['alice', 'bob']);
    // A second sample with no traffic adds nothing.
    expect(await drained()).toEqual(new Map());
  });

  it('cuts a removed user off the managed inbound without restarting sing-box, and counts them afresh when they return', async () => {
    const pid = await singboxPid();
    await sync([bob]);
    const c = await startClient(bin, work, profile, 'shadowsocks-managed', alice);
    clients.push(c);
    await expect(downloadThroughProxy(c.proxyPort, bytes.port, 64 * 1024, 10_000)).rejects.toThrow(DownloadError);
    expect(await singboxPid()).toBe(pid);

    // Back again: sing-box's SSM counter for alice starts at zero, and only the new bytes count.
    await sync([alice, bob]);
    const moved = await move('shadowsocks-managed', alice, 2 * MB);
    const counted = await drained();
    expectClose(counted.get('alice'), moved);
    expect(await singboxPid()).toBe(pid);
  });

  it('counts each byte once across a sing-box restart, which starts every counter over', async () => {
    const before = await move('shadowsocks-managed', alice, 1 * MB);
    const pid = await singboxPid();
    await call('singbox-config.restart');
    expect(await singboxPid()).not.toBe(pid);
    const after = await move('shadowsocks-managed', alice, 3 * MB);
    const counted = await drained();
    expectClose(counted.get('alice'), before + after);
  });
});
