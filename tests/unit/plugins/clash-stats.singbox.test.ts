// clash-stats against a real sing-box (tests/support/real-components.ts says which one, built
// with_v2ray_api); the cases that need none are in clash-stats.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../../agent-core/common/errors.js';
import { openV2RayStats } from '../../../plugins/clash-stats/v2ray-stats.js';
import { singboxBin } from '../../support/real-components.js';
import { closeHarness, freePort, start } from './clash-stats.helpers.js';

interface Summary {
  upload_total: number;
  download_total: number;
  connections: number;
  online_clients: number;
  sampled_at: string;
  cached: boolean;
}

const SECRET = 's3cret';

afterEach(closeHarness);

describe('clash-stats.summary against a real sing-box', () => {
  let dir: string | undefined;
  let singbox: ChildProcess | undefined;
  let apiUrl: string;
  let proxyPort: number;
  let echo: net.Server | undefined;
  const clients: net.Socket[] = [];

  beforeAll(async () => {
    const bin = singboxBin();
    dir = await mkdtemp(path.join(os.tmpdir(), 'clash-stats-test-'));
    proxyPort = await freePort();
    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const config = {
      log: { level: 'error' },
      inbounds: [{ type: 'mixed', tag: 'mixed-in', listen: '127.0.0.1', listen_port: proxyPort }],
      outbounds: [{ type: 'direct', tag: 'direct' }],
      experimental: { clash_api: { external_controller: `127.0.0.1:${apiPort}`, secret: SECRET } },
    };
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify(config));
    singbox = spawn(bin, ['run', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    await waitForApi(singbox, apiUrl);

    const server = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    echo = server;
  });

  afterAll(async () => {
    for (const socket of clients) socket.destroy();
    await new Promise((resolve) => (echo ? echo.close(resolve) : resolve(undefined)));
    if (singbox && singbox.pid !== undefined && singbox.exitCode === null) {
      const exited = new Promise((resolve) => singbox!.once('exit', resolve));
      singbox.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts open connections, online clients and traffic through the proxy', async () => {
    const { port } = echo!.address() as net.AddressInfo;
    clients.push(await echoThroughProxy(proxyPort, port, 'ping'));
    const h = await start({ clash_api: { url: apiUrl, secret: SECRET } });
    const before = Date.now();
    const summary = await h.execute<Summary>('clash-stats.summary');
    expect(summary.cached).toBe(false);
    expect(summary.connections).toBeGreaterThanOrEqual(1);
    expect(summary.online_clients).toBe(1); // every test client is 127.0.0.1
    expect(summary.upload_total).toBeGreaterThanOrEqual('ping'.length);
    expect(summary.download_total).toBeGreaterThanOrEqual('ping'.length);
    expect(Date.parse(summary.sampled_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(summary.sampled_at)).toBeLessThanOrEqual(Date.now());
  });

  it('serves the cached summary until asked for a fresh one', async () => {
    const h = await start({ clash_api: { url: apiUrl, secret: SECRET } });
    const first = await h.execute<Summary>('clash-stats.summary');
    const second = await h.execute<Summary>('clash-stats.summary');
    expect(second).toEqual({ ...first, cached: true });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const fresh = await h.execute<Summary>('clash-stats.summary', { fresh: true });
    expect(fresh.cached).toBe(false);
    expect(Date.parse(fresh.sampled_at)).toBeGreaterThan(Date.parse(first.sampled_at));
  });

  it('asks sing-box every time when the cache is turned off', async () => {
    const h = await start({ clash_api: { url: apiUrl, secret: SECRET }, cache_ttl_s: 0 });
    await h.execute<Summary>('clash-stats.summary');
    expect((await h.execute<Summary>('clash-stats.summary')).cached).toBe(false);
  });

  it('reports a wrong secret as unavailable with the 401 answer', async () => {
    const h = await start({ clash_api: { url: apiUrl, secret: 'wrong' } });
    const error = await h.execute('clash-stats.summary').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`^Clash API at ${apiUrl}/connections answered 401\\b`));
  });
});

interface Drained {
  entries: { seq: number; user: string; upload_bytes: number; download_bytes: number }[];
  head_seq: number;
}
interface Totals {
  last_seq: number;
  users: Record<string, { upload_bytes: number; download_bytes: number }>;
}

const USERS = { alice: 'alice-pass', bob: 'bob-pass' } as const;

describe('clash-stats per-user traffic against a real sing-box', () => {
  let dir: string;
  let singbox: ChildProcess;
  let proxyPort: number;
  let apiUrl: string;
  let v2rayListen: string;
  let target: http.Server;
  let targetPort: number;

  beforeAll(async () => {
    const bin = singboxBin();
    dir = await mkdtemp(path.join(os.tmpdir(), 'clash-stats-traffic-'));
    proxyPort = await freePort();
    const apiPort = await freePort();
    const v2rayPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    v2rayListen = `127.0.0.1:${v2rayPort}`;
    // The mixed inbound routes each connection as its authenticated username (checked: the V2Ray
    // API shows user>>>alice>>> counters for it), so it stands in for vless/trojan users here.
    const config = {
      log: { level: 'error' },
      inbounds: [
        {
          type: 'mixed',
          tag: 'mixed-in',
          listen: '127.0.0.1',
          listen_port: proxyPort,
          users: Object.entries(USERS).map(([username, password]) => ({ username, password })),
        },
      ],
      outbounds: [{ type: 'direct', tag: 'direct' }],
      experimental: {
        clash_api: { external_controller: `127.0.0.1:${apiPort}`, secret: SECRET },
        v2ray_api: { listen: v2rayListen, stats: { enabled: true, users: Object.keys(USERS) } },
      },
    };
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify(config));
    singbox = spawn(bin, ['run', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    await waitForApi(singbox, apiUrl);

    // GET or POST /bytes/N: reads the request body, answers N bytes, closes.
    target = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const n = Number(/^\/bytes\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
        res.writeHead(200, { 'content-length': n, connection: 'close' });
        res.end(Buffer.alloc(n, 0x61));
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetPort = (target.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => (target ? target.close(resolve) : resolve(undefined)));
    if (singbox && singbox.pid !== undefined && singbox.exitCode === null) {
      const exited = new Promise((resolve) => singbox.once('exit', resolve));
      singbox.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function plugin(ledgerDir: string) {
    return start({
      clash_api: { url: apiUrl, secret: SECRET },
      v2ray_api: { listen: v2rayListen },
      sample_interval_s: 0,
      ledger_dir: ledgerDir,
    });
  }

  async function uptime(): Promise<number> {
    const client = openV2RayStats(v2rayListen, 2000);
    try {
      return await client.uptime();
    } finally {
      client.close();
    }
  }

  async function aliceCounters(): Promise<[number, number]> {
    const client = openV2RayStats(v2rayListen, 2000);
    try {
      return (await client.userCounters()).get('alice') ?? [0, 0];
    } finally {
      client.close();
    }
  }

  async function userBytes(h: Awaited<ReturnType<typeof plugin>>, afterSeq = 0) {
    const sums: Record<string, [number, number]> = {};
    const { entries } = await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: afterSeq, limit: 10_000 });
    for (const e of entries) {
      const [up, down] = sums[e.user] ?? [0, 0];
      sums[e.user] = [up + e.upload_bytes, down + e.download_bytes];
    }
    return sums;
  }


  it('attributes the bytes moved through the proxy to the user who moved them, and none to others', async () => {
    const ledgerDir = path.join(dir, 'ledger-attribution');
    const h = await plugin(ledgerDir);
    await h.execute('clash-stats.traffic.sample');
    const { head_seq: start } = await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0, limit: 1 });

    const moved = await transfer(proxyPort, 'alice', USERS.alice, targetPort, { upload: 256 * 1024, download: 1024 * 1024 });
    const sampled = await h.execute<{ appended: number }>('clash-stats.traffic.sample', {}, { remote: true });
    expect(sampled.appended).toBe(1);

    const bytes = await userBytes(h, start);
    expect(Object.keys(bytes)).toEqual(['alice']);
    // The counters are the tunnel's payload exactly: no CONNECT exchange, no TCP/IP overhead.
    expect(bytes.alice).toEqual([moved.sent, moved.received]);
    console.info(`alice moved ${moved.sent} up / ${moved.received} down inside the tunnel; ledger: ${bytes.alice!.join(' / ')}`);
    expect((await h.execute<Totals>('clash-stats.traffic.totals')).users.bob).toBeUndefined();
  });

  it('shows an open connection with its inbound tag and endpoints', async () => {
    const h = await plugin(path.join(dir, 'ledger-connections'));
    const socket = await openTunnel(proxyPort, 'bob', USERS.bob, targetPort);
    try {
      const { connections } = await h.execute<{ connections: { inbound: string; network: string; source: string; destination: string }[] }>(
        'clash-stats.connections',
      );
      const tunnel = connections.find((c) => c.source === `127.0.0.1:${socket.localPort}`);
      expect(tunnel).toMatchObject({ inbound: 'mixed-in', network: 'tcp', destination: `127.0.0.1:${targetPort}` });
    } finally {
      socket.destroy();
    }
  });

  it('neither loses nor double-counts bytes across a sing-box reload (SIGHUP) and an agent restart', async () => {
    const ledgerDir = path.join(dir, 'ledger-reload');
    let h = await plugin(ledgerDir);
    // A restart is recognised by the uptime only once the old instance had run for 2 s or more.
    while ((await uptime()) < 3) await new Promise((resolve) => setTimeout(resolve, 200));
    await h.execute('clash-stats.traffic.sample');
    const start = (await h.execute<Totals>('clash-stats.traffic.totals')).users.alice ?? { upload_bytes: 0, download_bytes: 0 };

    const first = await transfer(proxyPort, 'alice', USERS.alice, targetPort, { upload: 100_000, download: 300_000 });
    // What singbox-config does before it reloads sing-box.
    await h.execute('clash-stats.traffic.sample');

    const [upBefore, downBefore] = await aliceCounters();
    const before = await uptime();
    singbox.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while ((await uptime().catch(() => Infinity)) >= before) {
      if (Date.now() > deadline) throw new Error('sing-box did not reload within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // More than the counters showed before the reload, so none goes down: only the uptime shows the restart.
    const second = await retry(() =>
      transfer(proxyPort, 'alice', USERS.alice, targetPort, { upload: upBefore + 50_000, download: downBefore + 100_000 }),
    );
    const [upAfter, downAfter] = await aliceCounters();
    expect(upAfter).toBeGreaterThan(upBefore);
    expect(downAfter).toBeGreaterThan(downBefore);
    await h.execute('clash-stats.traffic.sample');
    await h.execute('clash-stats.traffic.sample');
    await closeHarness();
    h = await plugin(ledgerDir);
    expect(await h.execute('clash-stats.traffic.sample')).toMatchObject({ appended: 0 });

    const alice = (await h.execute<Totals>('clash-stats.traffic.totals')).users.alice!;
    const up = alice.upload_bytes - start.upload_bytes;
    const down = alice.download_bytes - start.download_bytes;
    console.info(`across the reload alice moved ${first.sent + second.sent} up / ${first.received + second.received} down; ledger: ${up} / ${down}`);
    expect([up, down]).toEqual([first.sent + second.sent, first.received + second.received]);
  });
});

/** Opens an HTTP CONNECT tunnel through the mixed inbound as `user` to 127.0.0.1:targetPort. */
async function openTunnel(proxyPort: number, user: string, password: string, targetPort: number): Promise<net.Socket> {
  const socket = net.connect(proxyPort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  socket.write(`CONNECT 127.0.0.1:${targetPort} HTTP/1.1\r\nHost: 127.0.0.1:${targetPort}\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`);
  const head = await readUntil(socket, (data) => data.includes('\r\n\r\n'));
  if (!/^HTTP\/1\.[01] 200/.test(head)) throw new Error(`proxy refused CONNECT: ${head}`);
  return socket;
}

/**
 * Moves `upload` bytes up and `download` bytes (plus the HTTP response head) down inside a tunnel
 * as `user`; returns the bytes sent and received inside the tunnel, as the client counted them.
 */
async function transfer(
  proxyPort: number,
  user: string,
  password: string,
  targetPort: number,
  { upload, download }: { upload: number; download: number },
): Promise<{ sent: number; received: number }> {
  const socket = await openTunnel(proxyPort, user, password, targetPort);
  const request = Buffer.concat([
    Buffer.from(`POST /bytes/${download} HTTP/1.1\r\nHost: 127.0.0.1:${targetPort}\r\nContent-Length: ${upload}\r\n\r\n`),
    Buffer.alloc(upload, 0x62),
  ]);
  let received = 0;
  const closed = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
  socket.write(request);
  await closed;
  if (received < download) throw new Error(`tunnel closed after ${received} of ${download} bytes`);
  return { sent: request.length, received };
}

async function retry<T>(work: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Resolves once the Clash API answers an authorised request; fails early if sing-box exits. */
async function waitForApi(child: ChildProcess, url: string, timeoutMs = 10_000): Promise<void> {
  let stderr = '';
  let spawnError: Error | undefined;
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.once('error', (error) => (spawnError = error));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`sing-box could not be started: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`sing-box exited with ${child.exitCode}: ${stderr}`);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${SECRET}` } }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Clash API at ${url} did not answer within ${timeoutMs} ms: ${stderr}`);
}

/** Opens a connection to 127.0.0.1:targetPort through the mixed inbound (HTTP CONNECT), sends and reads back `text`. */
async function echoThroughProxy(proxyPort: number, targetPort: number, text: string): Promise<net.Socket> {
  const socket = net.connect(proxyPort, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(`CONNECT 127.0.0.1:${targetPort} HTTP/1.1\r\nHost: 127.0.0.1:${targetPort}\r\n\r\n`);
  const head = await readUntil(socket, (data) => data.includes('\r\n\r\n'));
  if (!/^HTTP\/1\.[01] 200/.test(head)) throw new Error(`proxy refused CONNECT: ${head}`);
  socket.write(text);
  await readUntil(socket, (data) => data.includes(text));
  return socket;
}

function readUntil(socket: net.Socket, done: (data: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const onData = (chunk: Buffer) => {
      data += chunk.toString();
      if (done(data)) {
        socket.off('data', onData).off('error', reject);
        resolve(data);
      }
    };
    socket.on('data', onData).once('error', reject);
  });
}
