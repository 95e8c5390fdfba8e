// The firewall's sing-box layers on a real node: the built agent with singbox-config, clash-stats
// and firewall supervising real sing-box, and real sing-box clients. Destination blocks live in a
// rule-set file sing-box re-reads by itself, so changing them must not reload sing-box or cut a
// download in flight; only the BitTorrent switch reloads.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import type { Rule, RulesSyncOutput, StatusOutput } from '../../plugins/firewall/contract.js';
import { clientFromEnrollment, freePort, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, makeUser, singboxNodePlugins, startClient, type NodeProfile, type SingboxClient } from '../support/singbox-peers.js';

const CHUNK = randomBytes(64 * 1024);
/** The slow download: a chunk every 50 ms for about 4 s. */
const SLOW_CHUNKS = 80;

/** Origins on two loopback addresses: `/hello`, and `/slow` trickling SLOW_CHUNKS chunks. Counts requests by Host. */
async function startOrigins(port: number) {
  const seen = new Map<string, number>();
  const handler: http.RequestListener = (req, res) => {
    const host = String(req.headers.host ?? '').replace(/:\d+$/, '');
    seen.set(host, (seen.get(host) ?? 0) + 1);
    if (req.url === '/hello') return res.end('hello');
    if (req.url !== '/slow') return res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(SLOW_CHUNKS * CHUNK.length) });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(CHUNK);
      if (++sent === SLOW_CHUNKS) {
        clearInterval(timer);
        res.end();
      }
    }, 50);
    res.on('close', () => clearInterval(timer));
  };
  const servers = await Promise.all(
    ['127.0.0.1', '127.0.0.2'].map(async (address) => {
      const server = http.createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, address, resolve));
      return server;
    }),
  );
  return {
    seen,
    close: () => Promise.all(servers.map((s) => new Promise((resolve) => (s.closeAllConnections(), s.close(resolve))))),
  };
}

/** One HTTP request through a client's HTTP proxy: the body, or how it failed. */
function get(proxyPort: number, host: string, port: number, pathname = '/hello'): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    let data = '';
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('connect', () => socket.write(`GET http://${host}:${port}${pathname} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(/^HTTP\/1\.1 200/.test(data) ? data.slice(data.indexOf('\r\n\r\n') + 4) : `failed: ${JSON.stringify(data.slice(0, 40))}`));
  });
}

/** A long download through a proxy: bytes, and the longest pause between two arrivals. */
function slowDownload(proxyPort: number, port: number): Promise<{ body: number; longestGapMs: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    let received = 0;
    let headEnd = -1;
    let head = '';
    let last = 0;
    let longestGapMs = 0;
    socket.on('connect', () => socket.write(`GET http://127.0.0.1:${port}/slow HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      const now = performance.now();
      if (last) longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
      received += chunk.length;
      if (headEnd < 0) {
        head += chunk.toString('latin1');
        if (head.includes('\r\n\r\n')) headEnd = head.indexOf('\r\n\r\n') + 4;
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ body: received - Math.max(headEnd, 0), longestGapMs: Math.round(longestGapMs) }));
  });
}

/** The 68-byte BitTorrent handshake: length, protocol name, reserved bytes, info hash, peer id. */
const handshake = () => Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), randomBytes(20), randomBytes(20)]);

/** A BitTorrent peer: answers a handshake with its own; counts the handshakes it got. */
async function startPeer() {
  let handshakes = 0;
  const server = net.createServer((socket) => {
    let got = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 68 && got.subarray(1, 20).toString() === 'BitTorrent protocol') {
        handshakes += 1;
        socket.end(handshake());
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, handshakes: () => handshakes, close: () => new Promise((r) => server.close(r)) };
}

/** CONNECT through the client's proxy, send a handshake: whether the peer's answered. */
function torrentHandshake(proxyPort: number, peerPort: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    let data = Buffer.alloc(0);
    let tunnel = false;
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('connect', () => socket.write(`CONNECT 127.0.0.1:${peerPort} HTTP/1.1\r\nHost: 127.0.0.1:${peerPort}\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (!tunnel) {
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) return;
        tunnel = true;
        data = data.subarray(end + 4);
        socket.write(handshake());
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(data.length >= 68 && data.subarray(1, 20).toString() === 'BitTorrent protocol'));
  });
}

describe('firewall on a node running real sing-box', { timeout: 60_000 }, () => {
  const bin = singboxBin();
  let work: string;
  let agent: AgentProcess;
  let client: AgentClient;
  let profile: NodeProfile;
  let origins: Awaited<ReturnType<typeof startOrigins>>;
  let peer: Awaited<ReturnType<typeof startPeer>>;
  let originPort: number;
  let alice: SingboxClient;
  let bob: SingboxClient;
  const users = [makeUser('alice'), makeUser('bob')] as const;

  const call = async <T>(command: string, input: unknown = {}) => (await client.execute(command, input, { timeoutMs: 90_000 })).result as T;
  const sync = (revision: string, rules: Rule[]) => call<RulesSyncOutput>('firewall.rules.sync', { revision, rules });
  const singbox = () => call<{ pid: number; reloads: number; running: boolean }>('singbox-config.status');
  /** How often sing-box has (re)started, from its own log (singbox-config's work_dir is its state folder). */
  const starts = async () => (await readFile(path.join(agent.dir, 'state', 'singbox-config', 'sing-box.log'), 'utf8')).split('sing-box started').length - 1;

  const BLOCKS: Rule[] = [
    { id: 'bad-ip', kind: 'destination_ip', value: '127.0.0.2/32' },
    { id: 'bad-site', kind: 'domain', value: 'blocked.fwtest' },
  ];

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'fwnode-sb-'));
    originPort = await freePort();
    [origins, peer, profile] = await Promise.all([startOrigins(originPort), startPeer(), makeNodeProfile()]);
    // Names resolved by the node, from its own hosts table: the block must catch the name, not an address.
    profile.baseConfig.dns = { servers: [{ type: 'hosts', tag: 'hosts', predefined: { 'allowed.fwtest': '127.0.0.1', 'blocked.fwtest': '127.0.0.1' } }] };
    profile.baseConfig.route = { ...(profile.baseConfig.route as object), default_domain_resolver: 'hosts' };
    // Info: sing-box logs "sing-box started" at every start and reload.
    profile.baseConfig.log = { level: 'info' };
    const plugins = await singboxNodePlugins(bin);
    agent = await startAgentProcess({
      nodeId: 'fw-e2e',
      configure: (config, dir) => {
        // Its own table name: nothing to block at the kernel here, and nothing of anyone else's touched.
        Object.assign(config.plugins, plugins(dir), { firewall: { enabled: true, table: 'fwnode_e2e' } });
      },
    });
    client = await clientFromEnrollment(agent.enrollment);
    await call('singbox-config.config.apply', { config: profile.baseConfig, comment: 'firewall e2e' });
    await call('singbox-config.users.sync', { revision: 1, users });
    [alice, bob] = await Promise.all([startClient(bin, work, profile, 'vless', users[0]), startClient(bin, work, profile, 'vless', users[1])]);
  });

  afterAll(async () => {
    await Promise.all([alice?.stop(), bob?.stop()]);
    const status = await singbox().catch(() => ({ pid: null }));
    client?.close();
    await agent?.stop();
    if (status.pid) {
      try {
        process.kill(status.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await Promise.all([origins?.close(), peer?.close()]);
    await rm(work, { recursive: true, force: true });
  });

  it('blocks destinations without a reload: a download by another user goes on across the sync', async () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'allowed.fwtest', 'blocked.fwtest']) expect(await get(alice.proxyPort, host, originPort)).toBe('hello');
    const before = await singbox();
    const started = await starts();
    expect(started).toBeGreaterThan(0);

    const download = slowDownload(bob.proxyPort, originPort);
    await new Promise((r) => setTimeout(r, 1000));
    const out = await sync('r1', BLOCKS);
    expect(out).toEqual({ revision: 'r1', changed: true, nftables: 'empty', rule_set: 'applied', singbox_reloaded: false, warnings: [] });

    origins.seen.clear();
    expect(await get(alice.proxyPort, '127.0.0.2', originPort)).toMatch(/^failed/);
    expect(await get(alice.proxyPort, 'blocked.fwtest', originPort)).toMatch(/^failed/);
    expect(origins.seen.get('127.0.0.2')).toBeUndefined();
    expect(origins.seen.get('blocked.fwtest')).toBeUndefined();
    expect(await get(alice.proxyPort, '127.0.0.1', originPort)).toBe('hello');
    expect(await get(alice.proxyPort, 'allowed.fwtest', originPort)).toBe('hello');

    const done = await download;
    expect(done.body).toBe(SLOW_CHUNKS * CHUNK.length);
    // A chunk every 50 ms: a reload would cut the connection, not just pause it.
    expect(done.longestGapMs).toBeLessThan(1000);
    expect(await singbox()).toMatchObject({ pid: before.pid, reloads: before.reloads, running: true });
    expect(await starts()).toBe(started);

    const status = await call<StatusOutput>('firewall.status');
    expect(status.rule_set).toMatchObject({ rules: 2, loaded: true });
    expect(status).toMatchObject({ revision: 'r1', bittorrent_blocked: false, last_error: null });
  });

  it('changes nothing for a sync with an invalid rule, and names it', async () => {
    const bad: Rule[] = [...BLOCKS.slice(1), { id: 'typo', kind: 'domain_suffix', value: 'exa mple.org' }];
    await expect(sync('r2', bad)).rejects.toThrow('rule "typo": "exa mple.org" is not a domain name');
    expect(await get(alice.proxyPort, '127.0.0.2', originPort)).toMatch(/^failed/);
    expect(await get(alice.proxyPort, 'allowed.fwtest', originPort)).toBe('hello');
    expect((await call<StatusOutput>('firewall.status')).last_error).toMatchObject({ revision: 'r2', message: expect.stringContaining('"typo"') });
    expect(await sync('r1', BLOCKS)).toMatchObject({ changed: false });
  });

  it('blocks a BitTorrent handshake after a checked reload, and still serves everything else', async () => {
    expect(await torrentHandshake(alice.proxyPort, peer.port)).toBe(true);
    const before = await singbox();
    const started = await starts();
    const out = await sync('r3', [...BLOCKS, { id: 'no-torrents', kind: 'bittorrent' }]);
    expect(out).toMatchObject({ changed: true, singbox_reloaded: true });
    expect((await singbox()).reloads).toBe(before.reloads + 1);
    expect(await starts()).toBe(started + 1);

    const handshakes = peer.handshakes();
    expect(await torrentHandshake(alice.proxyPort, peer.port)).toBe(false);
    expect(peer.handshakes()).toBe(handshakes);
    expect(await get(alice.proxyPort, '127.0.0.1', originPort)).toBe('hello');
    expect(await get(bob.proxyPort, 'allowed.fwtest', originPort)).toBe('hello');
    expect(await get(bob.proxyPort, 'blocked.fwtest', originPort)).toMatch(/^failed/);
    expect((await call<StatusOutput>('firewall.status')).bittorrent_blocked).toBe(true);
  });
});
