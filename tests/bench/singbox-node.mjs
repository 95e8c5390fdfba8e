// Shared by the node benchmarks: a built agent on loopback running a real sing-box through
// singbox-config, with clash-stats sampling, driven with `boxfleet agent call` as an operator would.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const cli = path.resolve('dist/cli.js');

export function singboxBin() {
  const bin = process.env.BOXFLEET_SINGBOX_BIN || path.join(os.homedir(), '.cache/boxfleet/sing-box-v1.13.2/sing-box');
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

/** The agent unit's node flags and environment, so benchmarks run the agent as deployed. */
export function deployedAgent() {
  const unit = readFileSync(process.env.BENCH_UNIT ?? 'deploy/boxfleet-agent.service', 'utf8');
  const nodeFlags = /ExecStart=\S*env node ((?:--\S+ )*)/.exec(unit)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
  const env = Object.fromEntries([...unit.matchAll(/^Environment=(\w+)=(\S*)$/gm)].map((m) => [m[1], m[2]]));
  return { nodeFlags, env };
}

/**
 * `agent init` in a temp folder. Returns the folder, config file and a `call(command, input)`
 * that runs `boxfleet agent call`.
 */
export async function prepareAgent() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxfleet-bench-'));
  const port = await freePort();
  execFileSync(process.execPath, [cli, 'agent', 'init', '--dir', dir, '--node-id', 'bench', '--listen', `127.0.0.1:${port}`]);
  const config = path.join(dir, 'agent.yaml');
  const call = (command, input = {}) => {
    const file = path.join(dir, `input-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify(input));
    const out = execFileSync(process.execPath, [cli, 'agent', 'call', '--config', config, '--timeout', '300000', command, `@${file}`], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return JSON.parse(out.toString());
  };
  return { dir, config, call, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the agent as the unit does; resolves with the child and its start-up time. */
export async function startAgent(config) {
  const { nodeFlags, env } = deployedAgent();
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, cli, 'agent', '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => chunk.toString().includes('listening on') && resolve());
    child.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  return { child, startupMs: Math.round(performance.now() - started), nodeFlags, env };
}

/** Rewrites the agent's singbox-config and clash-stats settings so they run a real sing-box. */
export async function enableSingbox(agent) {
  const [clash, v2ray] = [await freePort(), await freePort()];
  const settings = `  singbox-config:
    enabled: true
    binary: ${singboxBin()}
    config_path: ${path.join(agent.dir, 'sing-box', 'config.json')}
  clash-stats:
    enabled: true
    clash_api:
      url: http://127.0.0.1:${clash}
      secret: bench-secret
    v2ray_api:
      listen: 127.0.0.1:${v2ray}
`;
  const yaml = readFileSync(agent.config, 'utf8');
  const written = yaml.replace('  singbox-config:\n    enabled: true\n  clash-stats:\n    enabled: true\n', settings);
  if (written === yaml) throw new Error(`${agent.config} is not as agent init wrote it`);
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
