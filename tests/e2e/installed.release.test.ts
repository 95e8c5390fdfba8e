// boxfleet as an operator gets it, end to end: the npm tarball installed into an empty prefix runs
// the hub (SQLite), the agent tarballs sit in the hub's release folder, and "Add node"'s one-time
// command — fetched from that hub, piped into sh — installs a node (--no-systemd, into a temp
// prefix) and registers it. A config is applied, a real sing-box client started from the user's
// /sub profile moves bytes through the installed node's sing-box to a loopback server, and the hub
// bills them. Nothing here resolves a module from this repository: the hub's ES module resolutions
// are recorded and its mapped native code is checked.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/agent-process.js';
import { downloadThroughProxy, startByteServer, type ByteServer } from '../support/byte-server.js';
import { agentTarball, nodeLayout, npmTarball, RELEASE_DIR, run, scratch, useFreeStatsPorts, type NodeLayout } from '../support/release.js';
import { makeNodeProfile, type NodeProfile } from '../support/singbox-peers.js';
import { until } from '../support/until.js';
import { helloPluginWith } from '../support/hello-plugin.js';
import { parse, stringify } from 'yaml';

const MB = 1024 * 1024;
const REPO = path.resolve('.');
type Json = Record<string, any>;

describe('installed from the release artifacts', { timeout: 600_000 }, () => {
  let root: { dir: string; cleanup(): Promise<void> };
  let bytes: ByteServer;
  let hub: ChildProcess;
  let hubOutput = '';
  let base: string;
  let jwt: string;
  let layout: NodeLayout;
  let agent: ChildProcess | undefined;
  let profile: NodeProfile;
  const children: ChildProcess[] = [];
  const resolutions = () => path.join(root.dir, 'resolutions.log');

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${jwt}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${text}`);
    return JSON.parse(text) as Json;
  };

  beforeAll(async () => {
    root = await scratch('installed');
    bytes = await startByteServer();
    const prefix = path.join(root.dir, 'prefix');
    const data = path.join(root.dir, 'data');
    const outside = { cwd: root.dir, env: { ...process.env, NODE_PATH: '' } };

    // The npm package into an empty prefix, as `npm install -g` does on the hub's machine.
    await run('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', npmTarball()], { ...outside, timeout: 300_000 });
    const boxfleet = path.join(prefix, 'bin', 'boxfleet');

    // The agent tarballs where "Add node" serves them from: <data dir>/releases.
    await mkdir(path.join(data, 'releases'), { recursive: true });
    for (const file of [agentTarball('amd64'), agentTarball('arm64'), path.join(RELEASE_DIR, 'SHA256SUMS')]) {
      await copyFile(file, path.join(data, 'releases', path.basename(file)));
    }

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Records every ES module the hub resolves, to show none comes from this repository.
    const hook = path.join(root.dir, 'record-resolutions.mjs');
    await writeFile(
      hook,
      `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(
        `import { appendFileSync } from 'node:fs'; export async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(resolutions())}, r.url + '\\n'); return r; }`,
      )}));\n`,
    );
    hub = spawn(boxfleet, ['hub', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data, '--public-url', base], {
      ...outside,
      env: {
        ...outside.env,
        NODE_OPTIONS: `--import ${hook}`,
        BOXFLEET_TRAFFIC_INTERVAL_S: '1',
        BOXFLEET_USAGE_ROLLUP_INTERVAL_S: '1',
        BOXFLEET_QUOTA_INTERVAL_S: '1',
        BOXFLEET_RECONCILE_INTERVAL_S: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    hub.stdout!.on('data', (c) => (hubOutput += c));
    hub.stderr!.on('data', (c) => (hubOutput += c));
    await until('the installed hub to listen', () => hubOutput.includes('boxfleet hub listening') || (hub.exitCode !== null && Promise.reject(new Error(hubOutput))), 60_000);

    const created = await new Promise<string>((resolve, reject) => {
      const child = spawn(boxfleet, ['admin', 'create', '--username', 'root', '--password-stdin', '--data-dir', data], { ...outside, stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (c) => (out += c));
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`admin create exited ${code}`))));
      child.stdin!.end('correct horse battery staple\n');
    });
    expect(created).toContain('created owner root');
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'root', password: 'correct horse battery staple' }),
    });
    jwt = ((await login.json()) as Json).token;
    profile = await makeNodeProfile();
    layout = nodeLayout(path.join(root.dir, 'node'), `127.0.0.1:${await freePort()}`);
  }, 600_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    const pidFile = layout && path.join(layout.stateDir, 'singbox-config', 'sing-box.pid');
    if (agent && agent.exitCode === null) agent.kill('SIGTERM');
    if (pidFile && existsSync(pidFile)) process.kill(Number((await readFile(pidFile, 'utf8')).trim()), 'SIGTERM');
    if (hub && hub.exitCode === null) hub.kill('SIGTERM');
    await bytes?.close();
    await root?.cleanup();
  });

  it("adds a node with the dashboard's one-time install command", async () => {
    const token = await api('POST', '/api/v1/nodes/install-tokens', { tags: ['e2e'], name: 'installed' });
    expect(token.command).toMatch(new RegExp(`^curl -fsSL ${base}/install/\\S+ \\| sudo sh -s -- --address <host:port>$`));
    // This test runs as root without sudo, and installs without systemd into its own folders.
    const address = layout.args.at(-1)!;
    const command = token.command.replace('sudo sh', 'sh').replace('<host:port>', `${address} ${layout.args.join(' ')}`);
    const installing = run('sh', ['-c', command], { cwd: root.dir, timeout: 180_000 });
    // Without systemd the operator starts the agent; the command registers it once it answers.
    const agentYaml = path.join(layout.configDir, 'agent.yaml');
    const installed = path.join(layout.prefix, 'lib', 'boxfleet-agent', 'install.sh');
    await until('install.sh to finish its files', () => existsSync(agentYaml) && existsSync(installed), 120_000);
    await useFreeStatsPorts(layout.configDir);
    agent = spawn(path.join(layout.prefix, 'bin', 'boxfleet-agent'), ['--config', agentYaml], { stdio: 'ignore' });
    const { stdout } = await installing;
    expect(stdout).toMatch(/installed/);
    const nodes = (await api('GET', '/api/v1/nodes')).nodes as Json[];
    expect(nodes).toEqual([expect.objectContaining({ name: 'installed', address, tags: ['e2e'] })]);
    await until('the node to be online', async () => (await api('GET', `/api/v1/nodes/${nodes[0]!.id}`)).health === 'online');
  });

  it('serves a real client from /sub through the installed sing-box and bills the bytes', async () => {
    const [node] = (await api('GET', '/api/v1/nodes')).nodes as Json[];
    const version = await api('POST', '/api/v1/configs', { config: profile.baseConfig, comment: 'installed node' });
    await api('POST', `/api/v1/configs/${version.id}/apply`, { node_id: node!.id });
    const plan = await api('POST', '/api/v1/plans', {
      name: 'e2e', traffic_limit_bytes: 1024 * MB, duration_days: 30, price: 1, is_enabled: true, node_tags: ['e2e'], reset_policy: 'none',
    });
    const user = await api('POST', '/api/v1/users', { name: 'carol' });
    await api('POST', '/api/v1/subscriptions', { user_id: user.id, plan_id: plan.id });
    await until('carol on the installed node', async () => {
      const { users } = await api('POST', `/api/v1/nodes/${node!.id}/commands/singbox-config.users.list`, {});
      return (users as { name: string }[]).some((u) => u.name === 'carol');
    }, 60_000);
    const credentials = await api('GET', `/api/v1/users/${user.id}/credentials`);
    expect(credentials.subscription_url).toBe(`${base}/sub/${credentials.sub_token}`);

    const res = await fetch(credentials.subscription_url, { headers: { 'user-agent': 'SFA/1.13.2 (1; sing-box 1.13.2)' } });
    const config = (await res.json()) as Json;
    const vless = (config.outbounds as Json[]).find((o) => o.type === 'vless')!;
    const port = await freePort();
    config.inbounds[0].listen_port = port;
    config.route.final = vless.tag;
    config.route.rules = config.route.rules.filter((r: Json) => !r.ip_is_private);
    const file = path.join(root.dir, 'client.json');
    await writeFile(file, JSON.stringify(config));
    const client = spawn(path.join(layout.prefix, 'bin', 'sing-box'), ['run', '-c', file], { stdio: 'ignore' });
    children.push(client);
    await until('the client to listen', () => new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    }));
    const { received } = await downloadThroughProxy(port, bytes.port, 3 * MB);
    const usage = await until('carol billed', async () => {
      const u = await api('GET', `/api/v1/usage?user_id=${user.id}`);
      return u.totals.download_bytes >= received && u;
    }, 60_000);
    expect(Math.abs(usage.totals.download_bytes - received) / received).toBeLessThan(0.02);
  });

  it('loads examples/hello-plugin, tested against the installed package, into the installed agent executable', async () => {
    // In the test's folder, so it goes with it.
    const plugin = await helloPluginWith(path.join(root.dir, 'prefix', 'lib', 'node_modules', 'boxfleet'), root.dir);
    const { stdout } = await run('npm', ['test', '--silent'], { cwd: plugin.dir });
    expect(stdout).toMatch(/# pass 3\n/);
    expect(stdout).toMatch(/# fail 0\n/);

    const agentYaml = path.join(layout.configDir, 'agent.yaml');
    const config = parse(await readFile(agentYaml, 'utf8'));
    config.plugins.hello = { module: plugin.module, greeting: 'Hi', max_greetings: 1 };
    await writeFile(agentYaml, stringify(config), { mode: 0o600 });
    const call = (name: string) => run(path.join(layout.prefix, 'bin', 'boxfleet-agent'), ['call', '--config', agentYaml, 'hello.greet', JSON.stringify({ name })]);
    // agent.yaml is re-read when it changes: the plugin starts without restarting the agent.
    const greeted = await until('hello.greet on the installed agent', () => call('Ann').then((r) => JSON.parse(r.stdout), () => false));
    expect(greeted).toEqual({ message: 'Hi, Ann!', count: 1 });
    // The plugin's SDK is the npm package's copy, the agent's its own: typed errors still map.
    await expect(call('Bo')).rejects.toMatchObject({ stderr: expect.stringContaining('FAILED_PRECONDITION') });
  });

  it('ran the hub on the installed package alone', async () => {
    const resolved = (await readFile(resolutions(), 'utf8')).trim().split('\n').filter((u) => u.startsWith('file:'));
    expect(resolved.length).toBeGreaterThan(20);
    expect(resolved.filter((u) => u.startsWith(`file://${REPO}/`))).toEqual([]);
    const maps = await readFile(`/proc/${hub.pid}/maps`, 'utf8');
    expect(maps).toContain(`${root.dir}/prefix/lib/node_modules/boxfleet/node_modules/better-sqlite3/`);
    expect(maps).not.toContain(`${REPO}/`);
    expect(await readdir(path.join(root.dir, 'prefix', 'lib', 'node_modules'))).toEqual(['boxfleet']);
  });
});
