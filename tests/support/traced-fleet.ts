// A built hub and one built agent process, both reporting traces to the same SkyWalking collector
// (a stand-in or a real OAP), with an admin logged in and the agent enrolled as node `traced-1`
// (tag `traced`), allowed to probe its own loopback port so a node command has something to do.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLI, freePort, startAgentProcess, type AgentProcess } from './agent-process.js';
import { createTestDatabase, type DatabaseKind } from './hub.js';
import { until } from './until.js';

const PASSWORD = 'tracing-test-password';

export interface TracedFleet {
  url: string;
  agent: AgentProcess;
  /** What the hub has printed so far (its JSON log lines). */
  hubOutput(): string;
  /** An API call as the admin; throws on a non-2xx answer. */
  api(method: string, route: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

export async function startTracedFleet(kind: DatabaseKind, collector: string): Promise<TracedFleet> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-tracing-'));
  const database = await createTestDatabase(kind);
  const hubEnv = { ...process.env, BOXFLEET_DATA_DIR: dir, BOXFLEET_DATABASE_URL: database.url };
  let agent: AgentProcess | undefined;
  let hub: ChildProcess | undefined;
  let output = '';
  let token = '';

  const stop = async () => {
    if (hub && hub.exitCode === null) {
      const exited = new Promise((resolve) => hub!.once('exit', resolve));
      hub.kill('SIGTERM');
      await exited;
    }
    await agent?.stop();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  };

  const api = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${route} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  let url = '';
  try {
    agent = await startAgentProcess({
      nodeId: 'traced-1',
      configure: (config) => {
        config.tracing = { collector };
        config.log = { level: 'debug' };
        config.plugins['health-probe'] = { ...config.plugins['health-probe'], allow_private_targets: true };
      },
    });
    // `admin create` reads the password from stdin: give it one.
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'admin', 'create', '--username', 'olga', '--password-stdin'], { env: hubEnv });
      child.stdin.end(`${PASSWORD}\n`);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`admin create exited ${code}`))));
    });
    const port = await freePort();
    hub = spawn(process.execPath, [CLI, 'hub', '--host', '127.0.0.1', '--port', String(port), '--skywalking', collector], {
      env: { ...hubEnv, BOXFLEET_JOBS_ENABLED: 'true', BOXFLEET_RECONCILE_INTERVAL_S: '1', BOXFLEET_LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    hub.stdout!.on('data', (c) => (output += c));
    hub.stderr!.on('data', (c) => (output += c));
    url = await until('the hub to listen', () => /listening on (http:\S+)/.exec(output)?.[1], 15_000);
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'olga', password: PASSWORD }),
    });
    token = (await login.json()).token;
    await api('POST', '/api/v1/nodes', { enrollment: agent.enrollment, tags: ['traced'] });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, agent, hubOutput: () => output, api, stop };
}
