// Shared by the node benchmarks: the released agent, installed, on loopback running a real sing-box through
// singbox-config, with clash-stats sampling, driven with `boxfleet-agent call` as an operator would.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function singboxBin() {
  const bin = process.env.BOXFLEET_SINGBOX_BIN || path.join(os.homedir(), '.cache/boxfleet/sing-box-v1.13.2-linux-amd64/sing-box');
  if (!existsSync(bin)) throw new Error(`no sing-box at ${bin}: set BOXFLEET_SINGBOX_BIN or run .ci/run once`);
  return bin;
}

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The agent unit's environment (NODE_OPTIONS, MALLOC_ARENA_MAX), so benchmarks run the agent as deployed. */
export function deployedAgent() {
  const unit = readFileSync('deploy/node/boxfleet-agent.service', 'utf8');
  const env = Object.fromEntries([...unit.matchAll(/^Environment="?(\w+)=([^"\n]*)"?$/gm)].map((m) => [m[1], m[2]]));
  return { env };
}

/**
 * The released amd64 agent (release/, from `npm run release`) installed as install.sh installs it
 * (`--no-systemd`, into a temp prefix), on a loopback port. Returns the folder, the installed
 * executable, the config file and a `call(command, input)` that runs `boxfleet-agent call`.
 */
export async function prepareAgent() {
  const tarball = readdirSync('release').find((f) => /^boxfleet-agent-.*-linux-amd64\.tar\.gz$/.test(f));
  if (!tarball) throw new Error('no release/boxfleet-agent-*-linux-amd64.tar.gz: run npm run release');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxfleet-bench-'));
  execFileSync('tar', ['-xzf', path.resolve('release', tarball), '-C', dir]);
  const installer = path.join(dir, tarball.replace(/\.tar\.gz$/, ''), 'install.sh');
  const port = await freePort();
  execFileSync(installer, ['--no-systemd', '--prefix', path.join(dir, 'opt'), '--config-dir', path.join(dir, 'etc'), '--state-dir', path.join(dir, 'var'), '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const agent = path.join(dir, 'opt', 'bin', 'boxfleet-agent');
  const config = path.join(dir, 'etc', 'agent.yaml');
  const call = (command, input = {}) => {
    const file = path.join(dir, `input-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify(input));
    const out = execFileSync(agent, ['call', '--config', config, '--timeout', '300000', command, `@${file}`], { maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(out.toString());
  };
  return { dir, agent, config, tarball, call, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the installed agent as its unit does; resolves with the child and its start-up time. */
export async function startAgent(prepared) {
  const { env } = deployedAgent();
  const started = performance.now();
  const child = spawn(prepared.agent, ['--config', prepared.config], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => chunk.toString().includes('listening on') && resolve());
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  return { child, startupMs: Math.round(performance.now() - started), env };
}

/** Points clash-stats at the installed sing-box's Clash and V2Ray APIs, so it samples as on a serving node. */
export async function enableSingbox(agent) {
  const [clash, v2ray] = [await freePort(), await freePort()];
  const settings = `  clash-stats:
    enabled: true
    clash_api:
      url: http://127.0.0.1:${clash}
      secret: bench-secret
    v2ray_api:
      listen: 127.0.0.1:${v2ray}
`;
  const yaml = readFileSync(agent.config, 'utf8');
  const written = yaml.replace('  clash-stats:\n    enabled: true\n', settings);
  if (written === yaml) throw new Error(`${agent.config} is not as install.sh wrote it`);
  writeFileSync(agent.config, written);
}

/** `count` users for users.sync with fresh credentials. */
export function makeUsers(count, limits = { remaining_bytes: null, expires_at: null }) {
  return Array.from({ length: count }, (_, i) => ({
    name: `user${String(i).padStart(5, '0')}`,
    uuid: crypto.randomUUID(),
    password: Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64url'),
    ss_key: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64'),
    ...limits,
  }));
}

/** A base config with VLESS (TLS), Shadowsocks-2022 and Hysteria2 inbounds on free loopback ports. */
export async function baseConfig() {
  const pair = execFileSync(singboxBin(), ['generate', 'tls-keypair', 'bench.boxfleet.test']).toString();
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pair)[0];
  const certificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pair)[0];
  const tls = { enabled: true, server_name: 'bench.boxfleet.test', certificate, key };
  const udp = await freePort();
  return {
    log: { level: 'warn' },
    inbounds: [
      { type: 'vless', tag: 'vless-in', listen: '127.0.0.1', listen_port: await freePort(), tls },
      { type: 'shadowsocks', tag: 'ss-in', listen: '127.0.0.1', listen_port: await freePort(), network: 'tcp', method: '2022-blake3-aes-128-gcm', password: execFileSync(singboxBin(), ['generate', 'rand', '16', '--base64']).toString().trim() },
      { type: 'hysteria2', tag: 'hy2-in', listen: '127.0.0.1', listen_port: udp, tls },
    ],
    outbounds: [{ type: 'direct', tag: 'direct' }],
  };
}
