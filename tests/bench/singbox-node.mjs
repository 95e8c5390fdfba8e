// Shared by the node benchmarks: the released agent, installed, on loopback running a real sing-box through
// singbox-config, with clash-stats sampling, driven with `boxfleet-agent call` as an operator would.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
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
  let calls = 0;
  const argv = (command, input) => {
    const file = path.join(dir, `input-${++calls}.json`);
    writeFileSync(file, JSON.stringify(input));
    return ['call', '--config', config, '--timeout', '300000', command, `@${file}`];
  };
  const options = { maxBuffer: 64 * 1024 * 1024 };
  const call = (command, input = {}) => JSON.parse(execFileSync(agent, argv(command, input), options).toString());
  /** The same without blocking this process, so it can watch the agent while the command runs. */
  const callAsync = (command, input = {}) =>
    new Promise((resolve, reject) => execFile(agent, argv(command, input), options, (error, out) => (error ? reject(error) : resolve(JSON.parse(out)))));
  return { dir, agent, config, tarball, call, callAsync, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts the installed agent as its unit does; resolves with the child and its start-up time.
 * `cgroups`: folders whose cgroup.procs the agent enters before it starts (what it runs joins too).
 */
export async function startAgent(prepared, { cgroups = [] } = {}) {
  const { env } = deployedAgent();
  const started = performance.now();
  const enter = 'for g in $BENCH_CGROUPS; do echo $$ > "$g/cgroup.procs" || exit 1; done; exec "$@"';
  const [cmd, argv] = cgroups.length ? ['/bin/sh', ['-c', enter, 'sh', prepared.agent, '--config', prepared.config]] : [prepared.agent, ['--config', prepared.config]];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env, BENCH_CGROUPS: cgroups.join(' ') } });
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

/** A loopback HTTP origin serving exactly N random bytes at /bytes/N, as the e2e tests' byte server. */
export async function startOrigin() {
  const block = crypto.getRandomValues(new Uint8Array(64 * 1024));
  const server = http.createServer((req, res) => {
    let left = Number(/^\/bytes\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
    const pump = () => {
      while (left > 0) {
        const chunk = block.subarray(0, Math.min(left, block.length));
        left -= chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))) };
}

/**
 * A real sing-box client: a mixed inbound on loopback, everything to the node's `tag` inbound of
 * `config` (VLESS or Shadowsocks-2022, as baseConfig writes them) as `user`.
 */
export async function startClient(dir, config, tag, user) {
  const inbound = config.inbounds.find((i) => i.tag === tag);
  const server = { tag: 'node', server: '127.0.0.1', server_port: inbound.listen_port };
  const outbound =
    inbound.type === 'vless'
      ? { type: 'vless', ...server, uuid: user.uuid, flow: '', tls: { enabled: true, server_name: inbound.tls.server_name, certificate: inbound.tls.certificate } }
      : // A 16-byte method: the user's key is the first 16 bytes of ss_key (see the singbox-config README).
        { type: 'shadowsocks', ...server, method: inbound.method, password: `${inbound.password}:${Buffer.from(user.ss_key, 'base64').subarray(0, 16).toString('base64')}` };
  const port = await freePort();
  const file = path.join(dir, `client-${tag}-${user.name}.json`);
  writeFileSync(file, JSON.stringify({ log: { level: 'warn' }, inbounds: [{ type: 'mixed', listen: '127.0.0.1', listen_port: port }], outbounds: [outbound], route: { final: 'node' } }));
  const child = spawn(singboxBin(), ['run', '-c', file], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const up = await new Promise((resolve) => net.connect(port, '127.0.0.1').once('connect', function () { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
    if (up) break;
    if (i > 200 || child.exitCode !== null) throw new Error(`sing-box client for ${tag} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, child };
}

/**
 * Downloads `bytes` from the origin through a client's proxy over one raw TCP connection; resolves
 * with every byte read from (received) and written to (sent) that connection, headers included.
 */
export function download(proxyPort, originPort, bytes) {
  return new Promise((resolve, reject) => {
    const request = `GET http://127.0.0.1:${originPort}/bytes/${bytes} HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\nConnection: close\r\n\r\n`;
    const socket = net.connect(proxyPort, '127.0.0.1', () => socket.write(request));
    let received = 0;
    socket.on('data', (chunk) => (received += chunk.length));
    socket.on('error', reject);
    socket.on('close', () => (received > bytes ? resolve({ received, sent: Buffer.byteLength(request) }) : reject(new Error(`download broke after ${received} bytes`))));
  });
}
