// clash-stats against a real sing-box (tests/support/real-components.ts says which one); the cases
// that need none are in clash-stats.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../../agent-core/errors.js';
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
