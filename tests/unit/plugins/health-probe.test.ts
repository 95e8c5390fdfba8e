import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import { InvalidArgumentError } from '../../../agent-core/common/errors.js';
import healthProbe from '../../../plugins/health-probe/index.js';

type TcpResult = { ok: true; latency_ms: number; address: string } | { ok: false; error: string };

let harness: Harness;
beforeAll(async () => {
  // These probe the test's own loopback listeners, which a node allows only when told to.
  harness = await createHarness(healthProbe, { config: { 'health-probe': { allow_private_targets: true } } });
});
afterAll(() => harness.close());

const tcp = (input: unknown) => harness.execute<TcpResult>('health-probe.tcp', input);

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('health-probe.tcp', () => {
  it('connects to a listening port and reports the latency and address', async () => {
    const server = net.createServer((socket) => socket.resume());
    const port = await listen(server);
    try {
      const result = await tcp({ host: '127.0.0.1', port });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.address).toBe('127.0.0.1');
      expect(result.latency_ms).toBeGreaterThanOrEqual(0);
      expect(result.latency_ms).toBeLessThan(3000);
      expect(Math.round(result.latency_ms * 10)).toBeCloseTo(result.latency_ms * 10, 6); // 0.1 ms precision
    } finally {
      server.close();
    }
  });

  it('closes the connection it opened', async () => {
    const server = net.createServer();
    const closed = new Promise<void>((resolve) => {
      server.once('connection', (socket) => socket.on('close', () => resolve()).resume());
    });
    const port = await listen(server);
    try {
      expect((await tcp({ host: '127.0.0.1', port })).ok).toBe(true);
      await closed;
    } finally {
      server.close();
    }
  });

  it('reports a refused connection with the code and address', async () => {
    const server = net.createServer();
    const port = await listen(server);
    await new Promise((resolve) => server.close(resolve)); // nothing listens there now
    expect(await tcp({ host: '127.0.0.1', port })).toEqual({ ok: false, error: `ECONNREFUSED 127.0.0.1:${port}` });
  });

  it('gives up after timeout_ms when the host does not answer', async () => {
    const { port, fillers, stop } = await unresponsiveListener();
    try {
      const started = Date.now();
      expect(await tcp({ host: '127.0.0.1', port, timeout_ms: 300 })).toEqual({ ok: false, error: 'timed out after 300 ms' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      for (const socket of fillers) socket.destroy();
      await stop();
    }
  });

  it.each([
    [{ host: '127.0.0.1', port: 70000 }, 'input.port'],
    [{ host: '127.0.0.1', port: 0 }, 'input.port'],
    [{ host: '', port: 80 }, 'input.host'],
    [{ host: '127.0.0.1', port: 80, timeout_ms: 60_000 }, 'input.timeout_ms'],
    [{ host: '127.0.0.1' }, 'input.port'],
  ])('rejects invalid input %j, naming %s', async (input, field) => {
    const error = await tcp(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain(field);
  });
});

/**
 * A loopback port whose SYNs go unanswered, like a host behind a dropping firewall: a child process
 * listens with a one-slot backlog and never accepts (its event loop is blocked), and two connections
 * fill that backlog, so the kernel drops further SYNs.
 */
async function unresponsiveListener(): Promise<{ port: number; fillers: net.Socket[]; stop: () => Promise<void> }> {
  const script = `
    const server = require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(server.address().port + '\\n');
      setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 20);
    });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (data) => resolve(Number(String(data).trim()))));
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the child block before filling its backlog
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    fillers.push(socket);
  }
  const stop = async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  return { port, fillers, stop };
}
