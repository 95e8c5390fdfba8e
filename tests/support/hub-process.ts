// The built hub (dist/cli.js hub) as a real process on loopback, on SQLite in a data dir of its
// own, so that a test can kill it with SIGKILL and start it again on the same data.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI, freePort } from './agent-process.js';
import { until } from './until.js';

const run = promisify(execFile);

export interface HubProcess {
  url: string;
  /** Calls the API as the owner; a 4xx or 5xx answer throws with its body. */
  api(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object): Promise<any>;
  /** SIGKILL: no cleanup, no answer to requests in flight. */
  kill9(): Promise<void>;
  /** Starts it again on the same data dir and port; resolves once it listens and the owner is signed in. */
  restart(): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

/** `env`: hub settings as BOXFLEET_* variables (job intervals, say). */
export async function startHubProcess(env: Record<string, string> = {}): Promise<HubProcess> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-hubproc-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const created = await run(process.execPath, [CLI, 'admin', 'create', '--username', 'owner', '--data-dir', dataDir]);
  const password = /with password (\S+)/.exec(created.stdout)![1]!;
  let child!: ChildProcess;
  let output = '';
  let token = '';

  const launch = async () => {
    child = spawn(process.execPath, [CLI, 'hub', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], {
      env: { PATH: process.env.PATH, BOXFLEET_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = child;
    started.stdout!.on('data', (chunk) => (output += chunk));
    started.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<never>((_, reject) => started.once('exit', (code) => reject(new Error(`hub exited with ${code}:\n${output}`))));
    exited.catch(() => undefined);
    // Up once it lets the owner sign in.
    const login = async () => {
      const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'owner', password }) });
      if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    };
    token = await Promise.race([exited, until('the hub signing its owner in', () => login().catch((error: Error) => (error.message.startsWith('login failed') ? Promise.reject(error) : undefined)), 20_000)]);
  };
  await launch();

  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    url,
    async api(method, route, payload) {
      const res = await fetch(`${url}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
        ...(payload ? { body: JSON.stringify(payload) } : {}),
      });
      const text = await res.text();
      if (res.status >= 400) throw new Error(`${method} ${route} → ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    },
    async kill9() {
      if (!alive()) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    restart: launch,
    output: () => output,
    async stop() {
      if (alive()) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
