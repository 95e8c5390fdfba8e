// A node as it runs in production: the built agent process with singbox-config and clash-stats,
// supervising a real sing-box with VLESS (TLS), Shadowsocks-2022 and Hysteria2 inbounds; real
// sing-box clients move real bytes, and the ledger must account for every one of them.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import { clientFromEnrollment, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { downloadThroughProxy, DownloadError, startByteServer, type ByteServer } from '../support/byte-server.js';
import { LedgerReader } from '../support/ledger-reader.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, makeUser, PROTOCOLS, singboxNodePlugins, startClient, type NodeProfile, type Protocol, type SingboxClient, type TestUser } from '../support/singbox-peers.js';

/** Counters count the proxied stream (request and response, headers included), not protocol overhead. */
const TOLERANCE = 0.02;
const MB = 1024 * 1024;

describe('a node running real sing-box', { timeout: 120_000 }, () => {
  const bin = singboxBin();
  let work: string;
  let agent: AgentProcess;
  let client: AgentClient;
  let profile: NodeProfile;
  let bytes: ByteServer;
  let clients: SingboxClient[] = [];
  const alice = makeUser('alice');
  const bob = makeUser('bob');
  let revision = 0;
  /** Drains as the hub would: samples, drains everything new, acknowledges it; bytes per user. */
  const ledger = new LedgerReader(() => client);

  const call = async <T>(command: string, input: unknown = {}, timeoutMs = 60_000) =>
    (await client.execute(command, input, { timeoutMs })).result as T;
  const sync = (users: TestUser[]) => call('singbox-config.users.sync', { revision: ++revision, users });

  async function clientFor(protocol: Protocol, user: TestUser): Promise<SingboxClient> {
    const c = await startClient(bin, work, profile, protocol, user);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-e2e-'));
    profile = await makeNodeProfile();
    bytes = await startByteServer();
    const plugins = await singboxNodePlugins(bin, { singbox: { coalesce_ms: 300, degraded_after_s: 6, limit_check_s: 1 }, clash: { sample_interval_s: 1 } });
    agent = await startAgentProcess({
      nodeId: 'e2e',
      configure: (config, dir) => {
        Object.assign(config.plugins, plugins(dir));
      },
    });
    client = await clientFromEnrollment(agent.enrollment);
    await call('singbox-config.config.apply', { config: profile.baseConfig, comment: 'e2e base' });
    await sync([alice, bob]);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    const status = await call<{ pid: number | null }>('singbox-config.status').catch(() => ({ pid: null }));
    client?.close();
    await agent?.stop();
    if (status.pid) {
      try {
        process.kill(status.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await bytes?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('attributes bytes moved through each inbound to the user who moved them (within 2 %)', async () => {
    await ledger.drain();
    let received = 0;
    let sent = 0;
    for (const protocol of PROTOCOLS) {
      const c = await clientFor(protocol, alice);
      const d = await downloadThroughProxy(c.proxyPort, bytes.port, 5 * MB);
      received += d.received;
      sent += d.sent;
    }
    const totals = await ledger.drain();
    const a = totals.get('alice')!;
    expect(Math.abs(a.down - received) / received).toBeLessThanOrEqual(TOLERANCE);
    expect(a.up).toBeGreaterThanOrEqual(sent);
    expect(a.up).toBeLessThan(sent + 64 * 1024);
    expect(totals.get('bob') ?? { up: 0, down: 0 }).toEqual({ up: 0, down: 0 });
  });

  it('cuts a user removed by users.sync off every inbound, and keeps the others connected', async () => {
    const result = await sync([bob]);
    expect(result).toMatchObject({ changed: true });
    for (const protocol of PROTOCOLS) {
      const a = await clientFor(protocol, alice);
      await expect(downloadThroughProxy(a.proxyPort, bytes.port, 64 * 1024, 10_000)).rejects.toThrow(DownloadError);
      const b = await clientFor(protocol, bob);
      await expect(downloadThroughProxy(b.proxyPort, bytes.port, 64 * 1024)).resolves.toMatchObject({ body: 64 * 1024 });
    }
    // The same revision again changes nothing.
    expect(await call('singbox-config.users.sync', { revision, users: [bob] })).toMatchObject({ changed: false });
  });

  it('conserves bytes across an agent kill -9, restarts, reloads and repeated drains', async () => {
    await sync([alice, bob]);
    await ledger.drain();
    const sentBefore = bytes.sent();
    const vless = await clientFor('vless', alice);
    const ss = await clientFor('shadowsocks', alice);
    let moved = 0;
    let stop = false;
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        const c = i % 2 === 0 ? vless : ss;
        try {
          moved += (await downloadThroughProxy(c.proxyPort, bytes.port, 2 * MB, 15_000)).received;
        } catch (error) {
          // A reload cuts connections: count what arrived before the cut, then go on.
          moved += error instanceof DownloadError ? error.received : 0;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();

    const { pid } = await call<{ pid: number }>('singbox-config.status');
    await new Promise((r) => setTimeout(r, 1500));
    await agent.kill9();
    // sing-box keeps serving while the agent is dead.
    const whileDead = await downloadThroughProxy(vless.proxyPort, bytes.port, 1 * MB);
    moved += whileDead.received;
    await new Promise((r) => setTimeout(r, 1500));
    await agent.restart();
    const after = await call<{ pid: number; running: boolean }>('singbox-config.status');
    expect(after).toMatchObject({ pid, running: true });

    await call('singbox-config.reload');
    await new Promise((r) => setTimeout(r, 1000));
    await call('singbox-config.reload');
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await loop;

    // Draining twice from the same position gives the same entries; acknowledging is what moves on.
    await call('clash-stats.traffic.sample');
    const first = await call<{ entries: { seq: number }[] }>('clash-stats.traffic.drain', { after_seq: ledger.position, limit: 10000 });
    const second = await call<{ entries: { seq: number }[] }>('clash-stats.traffic.drain', { after_seq: ledger.position, limit: 10000 });
    expect(second.entries).toEqual(first.entries);
    const seqs = first.entries.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);

    const totals = await ledger.drain();
    const down = totals.get('alice')?.down ?? 0;
    expect(moved).toBeGreaterThan(8 * MB);
    // A reload cuts downloads mid-way: what sing-box relayed then lies between what the clients
    // received and what the origin sent. Below the first is a loss, above the second a double count.
    const sentSinceStart = bytes.sent() - sentBefore;
    expect(down).toBeGreaterThanOrEqual(moved * (1 - TOLERANCE));
    expect(down).toBeLessThanOrEqual(sentSinceStart * (1 + TOLERANCE));
  });

  it('refuses a base config sing-box rejects, with its own message, and keeps serving the previous one', async () => {
    const bad = structuredClone(profile.baseConfig) as { inbounds: Record<string, unknown>[] };
    bad.inbounds[0]!.no_such_field = true;
    const error = await call('singbox-config.config.apply', { config: bad }).catch((e: Error) => e);
    expect((error as Error).message).toContain('unknown field');
    const b = await clientFor('vless', bob);
    await expect(downloadThroughProxy(b.proxyPort, bytes.port, MB)).resolves.toMatchObject({ body: MB });
  });

  it('refuses a base config whose port another process holds, and keeps serving the previous one', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as net.AddressInfo).port;
    const bad = structuredClone(profile.baseConfig) as { inbounds: Record<string, unknown>[] };
    bad.inbounds.push({ type: 'vless', tag: 'extra-in', listen: '127.0.0.1', listen_port: taken, tls: bad.inbounds[0]!.tls });
    const error = await call('singbox-config.config.apply', { config: bad }).catch((e: Error) => e);
    squatter.close();
    expect((error as Error).message).toContain('address already in use');
    expect((error as Error).message).toContain('extra-in');
    const b = await clientFor('hysteria2', bob);
    await expect(downloadThroughProxy(b.proxyPort, bytes.port, MB)).resolves.toMatchObject({ body: MB });
  });

  it('cuts off, on its own, a user who runs out of bytes while the hub is away', async () => {
    const carol = makeUser('carol', { remaining_bytes: 3 * MB });
    await sync([bob, carol]);
    const c = await clientFor('vless', carol);
    let received = (await downloadThroughProxy(c.proxyPort, bytes.port, 2 * MB)).received;
    // From here on nobody calls the agent (it counts the hub as away after degraded_after_s, 6 s):
    // it cuts her off on its own, as it would with the hub there.
    received += (await downloadThroughProxy(c.proxyPort, bytes.port, 2 * MB)).received;
    let cut = false;
    const deadline = Date.now() + 20_000;
    while (!cut && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      cut = await downloadThroughProxy(c.proxyPort, bytes.port, 64 * 1024, 5000).then(
        (d) => ((received += d.received), false),
        (error: unknown) => ((received += error instanceof DownloadError ? error.received : 0), true),
      );
    }
    expect(cut).toBe(true);
    // The first failure may be the reload that removes her; wait until the node says it is done
    // (asking ends the agent's time alone, but its decision is already taken), then she stays out.
    type Listed = { users: { name: string; removed_locally: boolean; removed_reason: string | null }[] };
    let listed = await call<Listed>('singbox-config.users.list');
    for (let i = 0; i < 50 && !listed.users.find((u) => u.name === 'carol')?.removed_locally; i++) {
      await new Promise((r) => setTimeout(r, 200));
      listed = await call<Listed>('singbox-config.users.list');
    }
    expect(listed.users.find((u) => u.name === 'carol')).toMatchObject({ removed_locally: true });
    expect(listed.users.find((u) => u.name === 'carol')!.removed_reason).toMatch(/bytes/);
    expect(listed.users.find((u) => u.name === 'bob')).toMatchObject({ removed_locally: false });
    await expect(downloadThroughProxy(c.proxyPort, bytes.port, 64 * 1024, 5000)).rejects.toThrow(DownloadError);
    const b = await clientFor('vless', bob);
    await expect(downloadThroughProxy(b.proxyPort, bytes.port, 64 * 1024)).resolves.toMatchObject({ body: 64 * 1024 });
    // Her bytes are in the ledger once: the reloads right before her traffic, and the one that cut
    // her off, did not make them count again.
    const down = (await ledger.drain()).get('carol')?.down ?? 0;
    expect(Math.abs(down - received) / received).toBeLessThanOrEqual(TOLERANCE);
  });

  it('counts against a user, while the hub is away, the bytes moved after the ledger position its users.sync names', async () => {
    const dave = makeUser('dave');
    const removals: { name: string; reason: string }[][] = [];
    let applied!: () => void;
    const live = new Promise<void>((resolve) => (applied = resolve));
    const stopWatching = client.watch(
      ['singbox-config'],
      (event) => {
        if (event.name === 'singbox-config.config.applied') applied();
        if (event.name === 'singbox-config.users.removed-locally') removals.push((event.payload as { users: { name: string; reason: string }[] }).users);
      },
      () => {},
    );
    try {
      await sync([bob, dave]); // adds dave: a reload, whose config.applied shows the watch is open
      await live;
      // The hub committed the ledger up to here, and computes dave's remaining bytes from it.
      await ledger.drain();
      const position = ledger.position;
      const c = await clientFor('vless', dave);
      const moved = (await downloadThroughProxy(c.proxyPort, bytes.port, 2 * MB)).received;
      // On the node's ledger, after the hub's position: the hub has not drained it yet.
      await call('clash-stats.traffic.sample');
      expect((await call<{ head_seq: number }>('clash-stats.traffic.position')).head_seq).toBeGreaterThan(position);

      const left = MB;
      await call('singbox-config.users.sync', { revision: ++revision, users: [bob, { ...dave, remaining_bytes: left }], ledger_seq: position });
      // From here nobody calls the agent and dave moves nothing: the sync itself finds the bytes
      // he moved before it and cuts him off.
      const deadline = Date.now() + 30_000;
      while (removals.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(removals).toHaveLength(1);
      expect(removals[0]!.map((r) => r.name)).toEqual(['dave']);
      const used = Number(/^used (\d+) bytes since users\.sync revision (\d+), which left (\d+)$/.exec(removals[0]![0]!.reason)?.[1]);
      expect(used).toBeGreaterThanOrEqual(moved * (1 - TOLERANCE));
      expect(used).toBeGreaterThan(left);
      expect(removals[0]![0]!.reason).toBe(`used ${used} bytes since users.sync revision ${revision}, which left ${left}`);
    } finally {
      stopWatching();
    }
    const again = await clientFor('vless', dave);
    await expect(downloadThroughProxy(again.proxyPort, bytes.port, 64 * 1024, 5000)).rejects.toThrow(DownloadError);
    const b = await clientFor('vless', bob);
    await expect(downloadThroughProxy(b.proxyPort, bytes.port, 64 * 1024)).resolves.toMatchObject({ body: 64 * 1024 });
  });
});
