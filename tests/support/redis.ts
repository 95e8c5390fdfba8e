// A redis-server of the test's own (Debian's binary, as .ci/run installs it): a free loopback port,
// its own folder, nothing saved to disk. It can be stopped and started again on the same port, to
// see what the hubs do while their shared Redis is gone.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './agent-process.js';
import { redisServerBin } from './real-components.js';

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const bin = redisServerBin();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    let output = '';
    const started = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
      const read = (chunk: Buffer) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) (clearTimeout(timer), resolve());
      };
      started.stdout!.on('data', read);
      started.stderr!.on('data', read);
      started.once('exit', (code) => (clearTimeout(timer), reject(new Error(`redis-server exited with ${code}:\n${output}`))));
    });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
