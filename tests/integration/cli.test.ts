// The commands the README gives, run from a shell as a new user would: `npx boxfleet ...`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/agent-process.js';

const exec = promisify(execFile);
const npx = (args: string[]) => exec('npx', ['--no-install', 'boxfleet', ...args], { cwd: process.cwd() });

/** Starts `npx boxfleet ...` in its own process group and resolves once it prints `ready`. */
async function startLong(args: string[], ready: RegExp): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn('npx', ['--no-install', 'boxfleet', ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready within 20 s:\n${output}`)), 20_000);
    const check = () => ready.test(output) && (clearTimeout(timer), resolve());
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output };
}

/** SIGTERM to npx and the node process it runs, as a service manager would stop them. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}

describe('npx boxfleet agent', () => {
  let dir: string;
  let agent: { child: ChildProcess } | undefined;
  let config: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-cli-'));
    config = path.join(dir, 'agent.yaml');
  });
  afterAll(async () => {
    if (agent) await stopGroup(agent.child);
    await rm(dir, { recursive: true, force: true });
  });

  it('init writes the config, a private key and token only root can read, and prints an enrollment string', async () => {
    const port = await freePort();
    const { stdout } = await npx(['agent', 'init', '--dir', dir, '--node-id', 'cli-1', '--listen', `127.0.0.1:${port}`]);
    expect(stdout).toContain(`wrote ${config}`);
    expect(stdout).toMatch(new RegExp(`^boxfleet://127\\.0\\.0\\.1:${port}\\?node=cli-1&fp=[0-9a-f]{64}&token=[A-Za-z0-9_-]{43}$`, 'm'));
    expect((await stat(path.join(dir, 'agent.key'))).mode & 0o077).toBe(0);
    expect((await stat(path.join(dir, 'token'))).mode & 0o077).toBe(0);
    expect(await readFile(config, 'utf8')).toContain('  sysmetrics:\n    enabled: true');
  });

  it('init refuses to overwrite an existing config without --force', async () => {
    const error = await npx(['agent', 'init', '--dir', dir]).catch((e: { stderr: string; code: number }) => e);
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toContain('already exists; pass --force');
  });

  it('runs the agent, and `agent call` prints real sysmetrics as JSON', async () => {
    // health-probe is init's last plugin: let its probe commands reach this machine's loopback (used below).
    await appendFile(config, '    allow_private_targets: true\n');
    agent = await startLong(['agent', '--config', config], /listening on 127\.0\.0\.1:\d+ \(TLS\)/);
    const { stdout } = await npx(['agent', 'call', '--config', config, 'sysmetrics.current']);
    const metrics = JSON.parse(stdout);
    expect(metrics.memory.total_bytes).toBe(os.totalmem());
    expect(metrics.cpu.cores).toBe(os.cpus().length);
    expect(metrics.agent.rss_bytes).toBeGreaterThan(0);
  });

  it('`agent describe` prints the node and its plugins as JSON', async () => {
    const { stdout } = await npx(['agent', 'describe', '--config', config]);
    const description = JSON.parse(stdout);
    expect(description.nodeId).toBe('cli-1');
    expect(description.plugins.map((p: { id: string }) => p.id)).toContain('health-probe');
  });

  it('`agent call` reads the input from a file with @file', async () => {
    const input = path.join(dir, 'probe.json');
    await writeFile(input, JSON.stringify({ host: '127.0.0.1', port: 1, timeout_ms: 1000 }));
    const { stdout } = await npx(['agent', 'call', '--config', config, 'health-probe.tcp', `@${input}`]);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('`agent call` with bad input exits 1 and names the field', async () => {
    const error = await npx(['agent', 'call', '--config', config, 'health-probe.tcp', '{"host":"127.0.0.1","port":70000}']).catch(
      (e: { stderr: string; code: number }) => e,
    );
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stderr: string }).stderr).toBe('boxfleet: INVALID_ARGUMENT: input.port: must be <= 65535\n');
  });
});

describe('npx boxfleet hub', () => {
  it('starts on its embedded defaults (SQLite under the data dir), says how to make the first admin, and stops on SIGTERM', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-hubcli-'));
    const hub = await startLong(['hub', '--port', '0', '--data-dir', dir, '--host', '127.0.0.1'], /listening on (http:\S+)/);
    const url = /listening on (http:\S+)/.exec(hub.output())![1]!;
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${url}/api/v1/nodes`)).status).toBe(401);
    expect(hub.output()).toContain('no admin account yet: create the first owner with `npx boxfleet admin create --username <name>`');

    const { stdout } = await npx(['admin', 'create', '--username', 'root', '--data-dir', dir]);
    const password = /^created owner root with password (\S+)$/m.exec(stdout)![1]!;
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'root', password }),
    });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const nodes = await fetch(`${url}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` } });
    expect(await nodes.json()).toEqual({ nodes: [] });
    expect((await stat(path.join(dir, 'boxfleet.sqlite'))).size).toBeGreaterThan(0);

    await stopGroup(hub.child);
    expect(hub.output()).toContain('"message":"hub shutting down"');
    expect(hub.output()).not.toContain('"log.level":"error"');
    await rm(dir, { recursive: true, force: true });
  });

  it('admin create refuses a short password, naming the rule', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-admin-'));
    const child = execFile('npx', ['--no-install', 'boxfleet', 'admin', 'create', '--username', 'root', '--password-stdin', '--data-dir', dir]);
    let stderr = '';
    child.stderr!.on('data', (c) => (stderr += c));
    child.stdin!.end('short\n');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('password: must be at least 10 characters');
    await rm(dir, { recursive: true, force: true });
  });
});
