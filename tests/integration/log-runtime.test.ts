// The log level and the log file at run time, on the built processes: the hub's level through its
// admin API (audited) and SIGUSR2, the agent's through agent.yaml's reload; each reopens its file on
// its signal (hub SIGHUP, agent SIGUSR1) after logrotate-style renames, losing no line. Both run a
// small numbered debug load (log_load_test_lines_per_s), so debug lines show when the level allows.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { until } from '../support/until.js';

const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lines = async (file: string) =>
  (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, any>);
const loadSeqs = async (file: string) => (await lines(file)).filter((l) => l.message === 'log load test').map((l) => l.seq as number);

describe('the hub: level by API and SIGUSR2, log file reopened on SIGHUP', () => {
  let dir: string;
  let hub: ChildProcess;
  let url: string;
  let auth: { authorization: string; 'content-type': string };
  const logFile = () => path.join(dir, 'logs', 'hub.log');

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-loglevel-'));
    const dataDir = path.join(dir, 'data');
    const { stdout } = await exec(process.execPath, [CLI, 'admin', 'create', '--username', 'root', '--data-dir', dataDir]);
    const password = /^created owner root with password (\S+)$/m.exec(stdout)![1]!;
    hub = spawn(process.execPath, [CLI, 'hub', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], {
      env: { ...process.env, BOXFLEET_LOG_FILE: logFile(), BOXFLEET_LOG_LEVEL: 'info', BOXFLEET_LOG_LOAD_TEST_LINES_PER_S: '50', BOXFLEET_JOBS_ENABLED: 'false' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    hub.stdout!.on('data', (chunk) => (out += chunk));
    url = await until('the hub to listen', () => /listening on (http:\S+)/.exec(out)?.[1], 20_000);
    const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'root', password }) });
    auth = { authorization: `Bearer ${((await login.json()) as { token: string }).token}`, 'content-type': 'application/json' };
  }, 60_000);

  afterAll(async () => {
    if (hub && hub.exitCode === null) {
      const exited = new Promise((resolve) => hub.once('exit', resolve));
      hub.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const level = async () => ((await (await fetch(`${url}/api/v1/log-level`, { headers: auth })).json()) as { level: string }).level;
  const setLevel = (next: string) => fetch(`${url}/api/v1/log-level`, { method: 'PUT', headers: auth, body: JSON.stringify({ level: next }) });

  it('switches to debug and back through PUT /api/v1/log-level, each change audited, without a restart', async () => {
    await sleep(500);
    expect(await loadSeqs(logFile())).toEqual([]);
    expect(await level()).toBe('info');

    const res = await setLevel('debug');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ level: 'debug', previous: 'info' });
    await until('debug lines', async () => (await loadSeqs(logFile())).length > 10);

    expect(await (await setLevel('info')).json()).toEqual({ level: 'info', previous: 'debug' });
    const stopped = (await loadSeqs(logFile())).length;
    await sleep(600);
    expect((await loadSeqs(logFile())).length).toBe(stopped);
    expect((await setLevel('loud')).status).toBe(400);
    const doc = (await (await fetch(`${url}/docs/json`)).json()) as { paths: Record<string, Record<string, any>> };
    expect(doc.paths['/api/v1/log-level/']!.put.requestBody.content['application/json'].schema.properties.level.enum).toEqual(['error', 'warn', 'info', 'debug']);

    const audit = (await (await fetch(`${url}/api/v1/audit`, { headers: auth })).json()) as { items: { action: string; admin: string; input: unknown; status_code: number }[] };
    const changes = audit.items.filter((a) => a.action === 'log-level.set' && a.status_code === 200);
    expect(changes.map((a) => [a.admin, a.input])).toEqual(expect.arrayContaining([['root', { level: 'debug' }], ['root', { level: 'info' }]]));
  });

  it('SIGUSR2 switches to debug, and the next SIGUSR2 back to the level before', async () => {
    hub.kill('SIGUSR2');
    await until('debug after SIGUSR2', async () => (await level()) === 'debug');
    const before = (await loadSeqs(logFile())).length;
    await until('debug lines', async () => (await loadSeqs(logFile())).length > before + 5);
    hub.kill('SIGUSR2');
    await until('info after the second SIGUSR2', async () => (await level()) === 'info');
  });

  it('reopens its file on SIGHUP after it was moved away: the moved file and the new one hold every line once', async () => {
    // The lines of the earlier debug spells come before a gap (the load counts on at info); from here on, none.
    const earlier = (await loadSeqs(logFile())).length;
    await setLevel('debug');
    await until('debug lines', async () => (await loadSeqs(logFile())).length > earlier);
    await rename(logFile(), `${logFile()}.1`);
    hub.kill('SIGHUP');
    await until('lines in the reopened file', async () => (await loadSeqs(logFile())).length > 10);
    await setLevel('info');
    const all = [...(await loadSeqs(`${logFile()}.1`)).slice(earlier), ...(await loadSeqs(logFile()))];
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => all[0]! + i));
  });
});

describe('the agent: level by agent.yaml reload, log file reopened on SIGUSR1', () => {
  let agent: AgentProcess;
  let logFile: string;

  beforeAll(async () => {
    agent = await startAgentProcess({
      nodeId: 'loglevel-1',
      configure: (config, dir) => {
        logFile = path.join(dir, 'logs', 'agent.log');
        config.log = { level: 'info', file: logFile, load_test_lines_per_s: 50 };
      },
    });
  }, 30_000);
  afterAll(() => agent?.stop());

  it('switches to debug when agent.yaml says so (reload on SIGHUP), and back', async () => {
    await sleep(500);
    expect(await loadSeqs(logFile)).toEqual([]);
    await agent.setConfig((yaml) => yaml.replace('level: info', 'level: debug'));
    agent.child.kill('SIGHUP');
    await until('debug lines', async () => (await loadSeqs(logFile)).length > 10);
    await agent.setConfig((yaml) => yaml.replace('level: debug', 'level: info'));
    agent.child.kill('SIGHUP');
    await until('config reloaded', async () => (await lines(logFile)).filter((l) => l.message === 'config reloaded').length >= 2);
    const stopped = (await loadSeqs(logFile)).length;
    await sleep(600);
    expect((await loadSeqs(logFile)).length).toBe(stopped);
  });

  it('reopens its file on SIGUSR1 after it was moved away, losing no line', async () => {
    const earlier = (await loadSeqs(logFile)).length;
    await agent.setConfig((yaml) => yaml.replace('level: info', 'level: debug'));
    agent.child.kill('SIGHUP');
    await until('debug lines', async () => (await loadSeqs(logFile)).length > earlier);
    await rename(logFile, `${logFile}.1`);
    agent.child.kill('SIGUSR1');
    await until('lines in the reopened file', async () => (await loadSeqs(logFile)).length > 10);
    const all = [...(await loadSeqs(`${logFile}.1`)).slice(earlier), ...(await loadSeqs(logFile))];
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => all[0]! + i));
    expect(agent.child.exitCode).toBeNull();
  });
});
