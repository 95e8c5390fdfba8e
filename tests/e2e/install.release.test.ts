// The node tarballs as an operator uses them: what they hold, the arm64 build under qemu-user,
// and install.sh — a first install, an upgrade while sing-box serves, --uninstall, and each refusal
// leaving the machine as it was. systemd is not running here, so installs use --no-systemd and the
// units are checked with systemd-analyze.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnrollment } from '../../agent-core/common/enrollment.js';
import pkg from '../../package.json' with { type: 'json' };
import { freePort } from '../support/agent-process.js';
import { agentTarball, extractAgent, nodeLayout, releaseFile, run, scratch, snapshot, useFreeStatsPorts, type NodeLayout } from '../support/release.js';
import { until } from '../support/until.js';

const QEMU = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];
const sha = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');
const lastLine = (text: string) => text.trim().split('\n').at(-1)!;

/** Starts the installed agent as its unit would (without systemd); resolves once it listens. */
async function startInstalled(command: string[], configFile: string): Promise<ChildProcess> {
  const child = spawn(command[0]!, [...command.slice(1), '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  await until('the installed agent to listen', () => output.includes('listening on') || (child.exitCode !== null && Promise.reject(new Error(output))), 60_000);
  return child;
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('release artifacts', () => {
  it('SHA256SUMS matches every artifact', async () => {
    const { stdout } = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: path.dirname(releaseFile(/^SHA256SUMS$/)) });
    expect(stdout.trim().split('\n').sort()).toEqual(
      [`boxfleet-${pkg.version}.tgz: OK`, `boxfleet-agent-${pkg.version}-linux-amd64.tar.gz: OK`, `boxfleet-agent-${pkg.version}-linux-arm64.tar.gz: OK`].sort(),
    );
  });

  it('an agent tarball holds the agent executable, sing-box with the V2Ray API, install.sh, the units and a README', async () => {
    const { stdout } = await run('tar', ['-tzf', agentTarball('amd64')]);
    const top = `boxfleet-agent-${pkg.version}-linux-amd64/`;
    expect(stdout.trim().split('\n').filter((f) => !f.endsWith('/')).sort()).toEqual(
      ['FILES.sha256', 'README.md', 'bin/boxfleet-agent', 'bin/sing-box', 'install.sh', 'systemd/boxfleet-agent.service', 'systemd/boxfleet-sing-box.service'].map((f) => top + f),
    );
    const { dir, cleanup } = await scratch('tarball');
    try {
      const folder = await extractAgent('amd64', dir);
      expect((await run(path.join(folder, 'bin/sing-box'), ['version'])).stdout).toMatch(/Tags: .*with_v2ray_api/);
      expect((await run(path.join(folder, 'bin/boxfleet-agent'), ['--version'])).stdout.trim()).toBe(pkg.version);
      const help = (await run(path.join(folder, 'bin/boxfleet-agent'), ['--help'])).stdout;
      for (const command of ['run', 'init', 'enrollment', 'describe', 'call']) expect(help).toContain(`  ${command}`);
      // The hub's dependencies are neither bundled nor loaded: the executable runs from a folder with no node_modules above it.
      const executable = await readFile(path.join(folder, 'bin/boxfleet-agent'));
      for (const hubOnly of ['better-sqlite3', 'mysql2/promise', 'objection', '@fastify/', 'nodemailer']) expect(executable.includes(hubOnly)).toBe(false);
    } finally {
      await cleanup();
    }
  });

  it('the arm64 agent and sing-box run (under qemu-user): init, describe, one command, sing-box version', async () => {
    const { dir, cleanup } = await scratch('arm64');
    let agent: ChildProcess | undefined;
    try {
      const folder = await extractAgent('arm64', dir);
      const arm = (bin: string) => [...QEMU, path.join(folder, 'bin', bin)];
      expect((await run(QEMU[0]!, [...QEMU.slice(1), path.join(folder, 'bin/sing-box'), 'version'])).stdout).toMatch(/Tags: .*with_v2ray_api/);
      const port = await freePort();
      const [qemu, ...agentArgs] = arm('boxfleet-agent');
      const init = await run(qemu!, [...agentArgs, 'init', '--dir', path.join(dir, 'etc'), '--node-id', 'arm', '--listen', `127.0.0.1:${port}`], { timeout: 60_000 });
      expect(parseEnrollment(lastLine(init.stdout)).nodeId).toBe('arm');
      agent = await startInstalled(arm('boxfleet-agent'), path.join(dir, 'etc/agent.yaml'));
      const describe = JSON.parse((await run(qemu!, [...agentArgs, 'describe', '--config', path.join(dir, 'etc/agent.yaml')], { timeout: 60_000 })).stdout);
      expect(describe.plugins.map((p: { id: string }) => p.id).sort()).toEqual(['clash-stats', 'firewall', 'health-probe', 'scripts', 'singbox-config', 'sysmetrics']);
      const current = JSON.parse((await run(qemu!, [...agentArgs, 'call', '--config', path.join(dir, 'etc/agent.yaml'), 'sysmetrics.current'], { timeout: 60_000 })).stdout);
      expect(current.memory.total_bytes).toBeGreaterThan(0);
    } finally {
      await stopProcess(agent);
      await cleanup();
    }
  }, 180_000);
});

describe('install.sh', () => {
  let root: { dir: string; cleanup(): Promise<void> };
  let folder: string;
  let layout: NodeLayout;
  let port: number;
  let agent: ChildProcess | undefined;
  let singboxPid: number | undefined;

  const subfolder = async (name: string) => {
    const dir = path.join(root.dir, name);
    await mkdir(dir);
    return dir;
  };
  const install = (args: string[], from = folder, options: { uid?: number } = {}) =>
    options.uid === undefined
      ? run(path.join(from, 'install.sh'), args)
      : run('setpriv', [`--reuid=${options.uid}`, `--regid=${options.uid}`, '--clear-groups', path.join(from, 'install.sh'), ...args]);
  const call = async (command: string, input: unknown = {}) =>
    JSON.parse((await run(path.join(layout.prefix, 'bin/boxfleet-agent'), ['call', '--config', path.join(layout.configDir, 'agent.yaml'), command, JSON.stringify(input)])).stdout);
  /** The install.sh run refuses with `message` and changes nothing under the node's folders. */
  const refuses = async (args: string[], message: RegExp, from = folder, options: { uid?: number } = {}) => {
    const before = await snapshot(layout.prefix, layout.configDir, layout.stateDir);
    const failure = await install(args, from, options).then(
      () => expect.fail('install.sh succeeded'),
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure.code).toBe(1);
    expect(failure.stderr).toMatch(message);
    expect(await snapshot(layout.prefix, layout.configDir, layout.stateDir)).toBe(before);
  };

  beforeAll(async () => {
    root = await scratch('install');
    folder = await extractAgent('amd64', root.dir);
    port = await freePort();
    layout = nodeLayout(path.join(root.dir, 'node'), `127.0.0.1:${port}`);
  });
  afterAll(async () => {
    await stopProcess(agent);
    if (singboxPid) process.kill(singboxPid, 'SIGTERM');
    await root.cleanup();
  });

  it('refuses before a first install, leaving nothing behind: not root, no systemd, another architecture, a port in use', async () => {
    await refuses(['--prefix', layout.prefix, '--config-dir', layout.configDir, '--state-dir', layout.stateDir], /run as root/, folder, { uid: 65534 });
    expect(existsSync('/run/systemd/system')).toBe(false);
    await refuses(['--prefix', layout.prefix, '--config-dir', layout.configDir, '--state-dir', layout.stateDir], /systemd is not running on this machine; pass --no-systemd/);
    const arm = await extractAgent('arm64', await subfolder('arm64'));
    await refuses(layout.args, /this tarball is for linux-arm64 but this machine is x86_64: use boxfleet-agent-.*-linux-amd64\.tar\.gz/, arm);
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      await refuses(layout.args, new RegExp(`127\\.0\\.0\\.1:${port} is already in use by another process`));
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    expect(existsSync(layout.configDir) || existsSync(layout.prefix) || existsSync(layout.stateDir)).toBe(false);
  });

  it('installs the agent and sing-box, keeps secrets 0600 in 0700 folders, and prints the enrollment string last', async () => {
    const { stdout } = await install([...layout.args, '--address', `203.0.113.5:${port}`]);
    const enrollment = parseEnrollment(lastLine(stdout));
    expect(enrollment.address).toBe(`203.0.113.5:${port}`);
    expect(enrollment.token).toBe((await readFile(path.join(layout.configDir, 'token'), 'utf8')).trim());
    for (const dir of [layout.configDir, layout.stateDir]) expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const file of await readdir(layout.configDir)) expect(((await stat(path.join(layout.configDir, file))).mode & 0o777).toString(8)).toBe('600');
    const yaml = await readFile(path.join(layout.configDir, 'agent.yaml'), 'utf8');
    expect(yaml).toContain(`binary: "${layout.prefix}/bin/sing-box"`);
    expect(yaml).toContain(`config_path: "${layout.configDir}/sing-box/config.json"`);
    expect(yaml).not.toContain('mode: systemd'); // without systemd, sing-box runs as the agent's child
  });

  it('ships units that systemd-analyze verifies, with the installed paths filled in', async () => {
    const units = path.join(layout.prefix, 'lib/boxfleet-agent/systemd');
    const files = (await readdir(units)).map((f) => path.join(units, f));
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['boxfleet-agent.service', 'boxfleet-sing-box.service']);
    const { stdout, stderr } = await run('systemd-analyze', ['verify', ...files]);
    expect(`${stdout}${stderr}`).toBe('');
    const agentUnit = await readFile(path.join(units, 'boxfleet-agent.service'), 'utf8');
    expect(agentUnit).toContain(`ExecStart=${layout.prefix}/bin/boxfleet-agent --config ${layout.configDir}/agent.yaml`);
    expect(await readFile(path.join(units, 'boxfleet-sing-box.service'), 'utf8')).toContain('CapabilityBoundingSet=CAP_NET_BIND_SERVICE');
  });

  it('upgrades in place while sing-box serves: agent.yaml, token, TLS key and ledger kept; the new agent re-attaches sing-box', async () => {
    await useFreeStatsPorts(layout.configDir);
    agent = await startInstalled([path.join(layout.prefix, 'bin/boxfleet-agent')], path.join(layout.configDir, 'agent.yaml'));
    const inbound = await freePort();
    await call('singbox-config.config.apply', {
      config: { inbounds: [{ type: 'mixed', tag: 'mixed-in', listen: '127.0.0.1', listen_port: inbound }], outbounds: [{ type: 'direct', tag: 'direct' }] },
    });
    singboxPid = (await call('singbox-config.status')).pid as number;
    expect(await accepts(inbound)).toBe(true);
    const ledger = path.join(layout.stateDir, 'clash-stats', 'traffic-ledger.jsonl');
    await until('the ledger file', () => existsSync(ledger));
    const kept = ['agent.yaml', 'token', 'agent.key', 'agent.crt'].map((f) => path.join(layout.configDir, f)).concat(ledger);
    const before = await Promise.all(kept.map(sha));
    const enrollmentBefore = (await run(path.join(layout.prefix, 'bin/boxfleet-agent'), ['enrollment', '--config', path.join(layout.configDir, 'agent.yaml')])).stdout.trim();

    // A newer tarball, as an operator extracts it next to the old one.
    const newer = await extractAgent('amd64', await subfolder('newer'));
    let servingGaps = 0;
    const serving = setInterval(() => void accepts(inbound).then((ok) => ok || servingGaps++), 50);
    const { stdout } = await install(layout.args, newer).finally(() => clearInterval(serving));
    expect(stdout).toContain(`upgraded: kept ${layout.configDir}/agent.yaml`);
    expect(lastLine(stdout)).toBe(enrollmentBefore);
    expect(await Promise.all(kept.map(sha))).toEqual(before);
    expect(servingGaps).toBe(0);

    // The operator restarts the agent on the new executable; sing-box is never restarted.
    await stopProcess(agent);
    agent = await startInstalled([path.join(layout.prefix, 'bin/boxfleet-agent')], path.join(layout.configDir, 'agent.yaml'));
    await until('the new agent to re-attach sing-box', async () => (await call('singbox-config.status')).running);
    expect((await call('singbox-config.status')).pid).toBe(singboxPid);
    expect(await accepts(inbound)).toBe(true);
  }, 120_000);

  it('refuses an upgrade from damaged files and leaves the installation as it was', async () => {
    const damaged = await extractAgent('amd64', await subfolder('damaged'));
    await appendFile(path.join(damaged, 'bin/sing-box'), 'x');
    await refuses(layout.args, /do not match FILES\.sha256/, damaged);
  });

  it('--uninstall removes the binaries and units, keeps config and ledger, and says how to remove them', async () => {
    await stopProcess(agent);
    const { stdout } = await install([...layout.args, '--uninstall']);
    expect(existsSync(layout.prefix)).toBe(false);
    expect(existsSync(path.join(layout.configDir, 'agent.yaml'))).toBe(true);
    expect(existsSync(path.join(layout.stateDir, 'clash-stats', 'traffic-ledger.jsonl'))).toBe(true);
    expect(stdout).toContain(`left in place: ${layout.configDir}`);
    expect(stdout).toContain(`rm -rf '${layout.configDir}' '${layout.stateDir}'`);
  });
});
