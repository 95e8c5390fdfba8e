// Real sing-box processes for end-to-end tests: a node's base config with VLESS (TLS),
// Shadowsocks-2022 and Hysteria2 (self-signed TLS) inbounds (and, when asked, a managed
// Shadowsocks-2022 inbound whose users go through the SSM API), and client processes that expose a
// local mixed (HTTP/SOCKS) proxy and reach the node as one user through one protocol.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import selfsigned from 'selfsigned';
import type { SyncUser as User } from '../../plugins/singbox-config/contract.js';
import { freePort, freeUdpPort } from './agent-process.js';

/** `shadowsocks-managed` is only there when makeNodeProfile was asked for it. */
export type Protocol = 'vless' | 'shadowsocks' | 'hysteria2' | 'shadowsocks-managed';
/** The inbounds every profile has. */
export const PROTOCOLS: Protocol[] = ['vless', 'shadowsocks', 'hysteria2'];
const SERVER_NAME = 'node.boxfleet.test';
const SS_METHOD = '2022-blake3-aes-128-gcm';

/** A user as users.sync takes it. */
export type TestUser = User;

export function makeUser(name: string, overrides: Partial<TestUser> = {}): TestUser {
  return {
    name,
    uuid: randomUUID(),
    password: randomBytes(18).toString('base64url'),
    ss_key: randomBytes(32).toString('base64'),
    flow: '',
    remaining_bytes: null,
    expires_at: null,
    ...overrides,
  };
}

export interface NodeProfile {
  /** The address the node's inbounds listen on and clients dial. */
  host: string;
  ports: Partial<Record<Protocol, number>>;
  certificate: string;
  ssServerKey: string;
  /** The admin-authored base config (no users: those come from users.sync). */
  baseConfig: Record<string, unknown>;
}

/** `host`: the node's address (loopback unless given, e.g. its end of a veth pair in a namespace). */
export async function makeNodeProfile({ managedShadowsocks = false, host = '127.0.0.1' } = {}): Promise<NodeProfile> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: SERVER_NAME }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: SERVER_NAME }] }],
  });
  const ports: NodeProfile['ports'] = { vless: await freePort(), shadowsocks: await freePort(), hysteria2: await freeUdpPort() };
  const ssServerKey = randomBytes(16).toString('base64');
  const tls = { enabled: true, server_name: SERVER_NAME, certificate: pems.cert, key: pems.private };
  const shadowsocks = { listen: host, network: 'tcp', method: SS_METHOD, password: ssServerKey };
  const managed = [];
  if (managedShadowsocks) {
    ports['shadowsocks-managed'] = await freePort();
    managed.push({ type: 'shadowsocks', tag: 'ss-managed', managed: true, listen_port: ports['shadowsocks-managed'], ...shadowsocks });
  }
  return {
    host,
    ports,
    certificate: pems.cert,
    ssServerKey,
    baseConfig: {
      log: { level: 'warn' },
      inbounds: [
        { type: 'vless', tag: 'vless-in', listen: host, listen_port: ports.vless, tls },
        { type: 'shadowsocks', tag: 'ss-in', listen_port: ports.shadowsocks, ...shadowsocks },
        { type: 'hysteria2', tag: 'hy2-in', listen: host, listen_port: ports.hysteria2, tls },
        ...managed,
      ],
      outbounds: [{ type: 'direct', tag: 'direct' }],
      route: { final: 'direct' },
    },
  };
}

function outbound(profile: NodeProfile, protocol: Protocol, user: TestUser): Record<string, unknown> {
  const tls = { enabled: true, server_name: SERVER_NAME, certificate: profile.certificate };
  const port = profile.ports[protocol];
  if (port === undefined) throw new Error(`the node profile has no ${protocol} inbound`);
  const server = { tag: 'node', server: profile.host, server_port: port };
  switch (protocol) {
    case 'vless':
      return { type: 'vless', ...server, uuid: user.uuid, flow: '', tls };
    case 'shadowsocks':
    case 'shadowsocks-managed':
      // 16-byte method: the user's key is the first 16 bytes of ss_key (see the singbox-config README).
      return {
        type: 'shadowsocks',
        ...server,
        method: SS_METHOD,
        password: `${profile.ssServerKey}:${Buffer.from(user.ss_key, 'base64').subarray(0, 16).toString('base64')}`,
      };
    case 'hysteria2':
      return { type: 'hysteria2', ...server, password: user.password, tls };
  }
}

/**
 * agent.yaml plugin settings for a node running real sing-box: singbox-config supervising `bin`
 * (its config in the agent's folder) and clash-stats reading sing-box's Clash and V2Ray APIs on
 * free loopback ports. `singbox` and `clash` add to or override each plugin's settings.
 */
export async function singboxNodePlugins(bin: string, extra: { singbox?: Record<string, unknown>; clash?: Record<string, unknown> } = {}) {
  const [clashPort, v2rayPort] = [await freePort(), await freePort()];
  return (dir: string) => ({
    'singbox-config': { enabled: true, binary: bin, config_path: path.join(dir, 'sing-box', 'config.json'), coalesce_ms: 200, ...extra.singbox },
    'clash-stats': {
      enabled: true,
      clash_api: { url: `http://127.0.0.1:${clashPort}`, secret: 'clash-secret' },
      v2ray_api: { listen: `127.0.0.1:${v2rayPort}` },
      ...extra.clash,
    },
  });
}

export interface SingboxClient {
  proxyPort: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A sing-box client: a mixed inbound on loopback, everything to the node as `user` over `protocol`. */
export async function startClient(
  bin: string,
  dir: string,
  profile: NodeProfile,
  protocol: Protocol,
  user: TestUser,
): Promise<SingboxClient> {
  return runClient(bin, dir, `client-${protocol}-${user.name}`, (proxyPort) => ({
    log: { level: 'warn' },
    inbounds: [{ type: 'mixed', tag: 'mixed-in', listen: '127.0.0.1', listen_port: proxyPort }],
    outbounds: [outbound(profile, protocol, user)],
    route: { final: 'node' },
  }));
}

/**
 * A sing-box client run from a subscription's sing-box profile as the hub gave it, but for its
 * mixed inbound's port (a free one) and everything going to the outbound tagged `final`. The byte
 * server is on loopback, which the profile (rightly) sends direct: that rule is dropped here.
 */
export function startProfileClient(bin: string, dir: string, profile: Record<string, any>, final: string): Promise<SingboxClient> {
  return runClient(bin, dir, 'client-profile', (proxyPort) => {
    const copy = structuredClone(profile);
    copy.inbounds[0].listen_port = proxyPort;
    copy.route.final = final;
    copy.route.rules = copy.route.rules.filter((rule: Record<string, unknown>) => !rule.ip_is_private);
    return copy;
  });
}

/** Runs sing-box on the config made for a free proxy port; resolves once that port accepts connections. */
async function runClient(bin: string, dir: string, name: string, config: (proxyPort: number) => object): Promise<SingboxClient> {
  const proxyPort = await freePort();
  const file = path.join(dir, `${name}-${proxyPort}.json`);
  await writeFile(file, JSON.stringify(config(proxyPort)));
  const child = spawn(bin, ['run', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`client exited: ${stderr}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(proxyPort, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`client did not listen within 10 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proxyPort,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
