// A hub process killed (SIGKILL) in the middle of a batch and started again on the same database:
// the nodes whose command was running when it died are failed ("not re-run"), the pending ones are
// run by the restarted hub, every row ends in a final state, and no node ran the command twice —
// counted on the nodes themselves by the tally test plugin. Real hub (dist/cli.js) and four real
// agents; SQLite in the hub's data dir.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import { ORPHANED_ERROR } from '../../hub/batches/runner.js';
import { CLI, clientFromEnrollment, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { until } from '../support/until.js';

const exec = promisify(execFile);
const fixture = (name: string) => path.resolve('tests/fixtures/plugins', name);
const NAMES = ['r1', 'r2', 'r3', 'r4'];

interface HubProcess {
  url: string;
  child: ChildProcess;
  output(): string;
}

async function startHub(dataDir: string): Promise<HubProcess> {
  let output = '';
  const child = spawn(process.execPath, [CLI, 'hub', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], {
    // Batches looked for every 200 ms; the other jobs as a hub runs them.
    env: { PATH: process.env.PATH, BOXFLEET_LOG_LEVEL: 'warn', BOXFLEET_BATCHES_INTERVAL_S: '0.2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub not listening within 30 s:\n${output}`)), 30_000);
    child.stdout!.on('data', () => {
      const listening = /^boxfleet hub listening on (\S+)/m.exec(output);
      if (listening) (clearTimeout(timer), resolve(listening[1]!));
    });
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`hub exited with ${code}:\n${output}`))));
  });
  return { url, child, output: () => output };
}

async function kill9(hub: HubProcess): Promise<void> {
  if (hub.child.exitCode !== null || hub.child.signalCode !== null) return;
  const exited = new Promise((resolve) => hub.child.once('exit', resolve));
  hub.child.kill('SIGKILL');
  await exited;
}

describe('a hub killed mid-batch and started again', () => {
  let tmp: string;
  let hub: HubProcess;
  let token: string;
  const agents: AgentProcess[] = [];
  const clients: AgentClient[] = [];

  const api = async (method: string, url: string, body?: object) => {
    const res = await fetch(`${hub.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (res.status >= 400) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-batches-restart-'));
    const started = await Promise.all(
      NAMES.map((nodeId) =>
        startAgentProcess({
          nodeId,
          configure: (config) => {
            config.plugins = { tally: { module: fixture('tally.js') } };
            config.reload_on_change = false;
          },
        }),
      ),
    );
    agents.push(...started);
    hub = await startHub(tmp);
    const { stdout } = await exec(process.execPath, [CLI, 'admin', 'create', '--username', 'root', '--data-dir', tmp], { env: { PATH: process.env.PATH } });
    const login = await fetch(`${hub.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'root', password: /with password (\S+)$/m.exec(stdout)![1] }),
    });
    token = (await login.json()).token;
    for (const agent of agents) {
      await api('POST', '/api/v1/nodes', { enrollment: agent.enrollment, tags: ['restart'] });
      clients.push(await clientFromEnrollment(agent.enrollment));
    }
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    if (hub) await kill9(hub);
    await Promise.all(agents.map((a) => a.stop()));
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('fails the nodes that were running, runs the pending ones, and never runs a command twice on a node', async () => {
    const batch = await api('POST', '/api/v1/batches', { target: { tags: ['restart'] }, command: 'tally.run', input: { ms: 3000 }, concurrency: 2 });
    const runs = async () => Promise.all(clients.map(async (c) => ((await c.execute('tally.count', {})).result as { runs: number }).runs));
    // Killed while two nodes run the command (3 s each): they got it, the other two wait.
    await until('two nodes running the command', async () => (await runs()).filter((n) => n === 1).length === 2, 15_000);
    expect((await api('GET', `/api/v1/batches/${batch.id}`)).counts).toMatchObject({ running: 2, pending: 2 });
    await kill9(hub);

    hub = await startHub(tmp);
    const done = await until(
      'the batch finished by the restarted hub',
      async () => {
        const detail = await api('GET', `/api/v1/batches/${batch.id}`);
        return ['succeeded', 'failed', 'cancelled'].includes(detail.status) && detail;
      },
      20_000,
    );
    expect(done).toMatchObject({ status: 'failed', counts: { pending: 0, running: 0, failed: 2, succeeded: 2, skipped: 0 } });
    const orphaned = done.nodes.filter((n: { status: string }) => n.status === 'failed');
    for (const node of orphaned) expect(node.error).toBe(ORPHANED_ERROR);
    // The commands the dead hub sent finished on their nodes: each node ran it exactly once.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await runs()).toEqual([1, 1, 1, 1]);
  });
});
