// A node base config with every protocol the subscription renderers know (REALITY, a WebSocket
// transport, SS-2022, Hysteria2 with obfs, TUIC, AnyTLS), credentials chosen to trip encoders
// (all digits, reserved URI characters), and the entries a user gets from it; an independent
// share-link parser, and what a client of each format would dial, read back from its text.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import selfsigned from 'selfsigned';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { buildEntries, type Entry, type EntryNode, type EntryUser, type InboundOverride } from '../../../hub/subscriptions/entries.js';
import { resolveHubConfig } from '../../../hub/config.js';
import { renderOptionsOf, type Format } from '../../../hub/subscriptions/format.js';

export const SERVER_NAME = 'node.boxfleet.test';

/** What the route renders with under the default settings. */
export const RENDER_OPTIONS = renderOptionsOf(resolveHubConfig({}, {}));

export interface Fixture {
  base: Record<string, unknown>;
  user: EntryUser;
  node: EntryNode;
  entries: Entry[];
  reality: { privateKey: string; publicKey: string; shortId: string };
  ssServerKey: string;
}

export interface FixtureOptions {
  /** The host of the agent's address. */
  host?: string;
  password?: string;
  publicHost?: string;
  overrides?: Record<string, InboundOverride>;
}

export async function makeFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: SERVER_NAME }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: SERVER_NAME }] }],
  });
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const reality = {
    privateKey: String(privateKey.export({ format: 'jwk' }).d),
    publicKey: String(publicKey.export({ format: 'jwk' }).x),
    shortId: '0123456789',
  };
  const tls = { enabled: true, server_name: SERVER_NAME, certificate: pems.cert, key: pems.private };
  // '+', '/' and '=' in the key: SIP002 2022 links must percent-encode all of them.
  const ssServerKey = Buffer.from('fbff'.repeat(8), 'hex').toString('base64');
  const base = {
    log: { level: 'warn' },
    inbounds: [
      {
        type: 'vless', tag: 'vless-reality', listen: '::', listen_port: 10443,
        tls: { enabled: true, server_name: 'www.example.com', reality: { enabled: true, handshake: { server: 'www.example.com', server_port: 443 }, private_key: reality.privateKey, short_id: [reality.shortId] } },
      },
      { type: 'vmess', tag: 'vmess-ws', listen: '::', listen_port: 10001, transport: { type: 'ws', path: '/vm ess', headers: { Host: 'cdn.example.com' } } },
      { type: 'trojan', tag: 'trojan-in', listen: '::', listen_port: 10002, tls },
      { type: 'shadowsocks', tag: 'ss-in', listen: '::', listen_port: 10003, method: '2022-blake3-aes-128-gcm', password: ssServerKey },
      { type: 'hysteria2', tag: 'hy2-in', listen: '::', listen_port: 10004, obfs: { type: 'salamander', password: 'ob fs/+=:@' }, tls },
      { type: 'tuic', tag: 'tuic-in', listen: '::', listen_port: 10005, congestion_control: 'bbr', tls: { ...tls, alpn: ['h3'] } },
      { type: 'anytls', tag: 'anytls-in', listen: '::', listen_port: 10006, tls },
      // Not a user inbound: no entry.
      { type: 'mixed', tag: 'local-in', listen: '127.0.0.1', listen_port: 10007 },
    ],
    outbounds: [{ type: 'direct', tag: 'direct' }],
  };
  const user: EntryUser = {
    uuid: randomUUID(),
    // All digits: a YAML renderer that does not quote it turns it into a number.
    password: options.password ?? '12345678901234567890',
    ss_key: Buffer.from(Array.from({ length: 32 }, (_, i) => 250 - i)).toString('base64'),
  };
  const node: EntryNode = {
    id: 'hk-1',
    name: 'HK 1',
    address: `${options.host ?? '203.0.113.10'}:50051`,
    public_host: options.publicHost ?? null,
    inbound_overrides: options.overrides ?? {},
    tags: ['hk', 'premium'],
    multiplier: 2,
  };
  const entries = buildEntries([{ node, config: base }], ['hk'], user);
  return { base, user, node, entries, reality, ssServerKey };
}

export interface ParsedLink {
  scheme: string;
  host: string;
  port: number;
  /** uuid, password, or "method:password" for ss, "uuid:password" for tuic. */
  credential: string;
  params: Record<string, string>;
  name: string;
}

/** A small independent parser: WHATWG URL for the URI schemes, base64 JSON for vmess. */
export function parseLink(link: string): ParsedLink {
  const scheme = link.slice(0, link.indexOf('://'));
  if (scheme === 'vmess') {
    const body = JSON.parse(Buffer.from(link.slice('vmess://'.length), 'base64').toString('utf8'));
    expect(typeof body.ps).toBe('string');
    expect(typeof body.port).toBe('string');
    return { scheme, host: body.add, port: Number(body.port), credential: body.id, params: body, name: body.ps };
  }
  // Parse as http so WHATWG URL splits userinfo and host the same way for every scheme.
  const url = new URL(`http://${link.slice(scheme.length + 3)}`);
  const params = Object.fromEntries(url.searchParams);
  const user = decodeURIComponent(url.username);
  const pass = url.password === '' ? undefined : decodeURIComponent(url.password);
  let credential = pass === undefined ? user : `${user}:${pass}`;
  if (scheme === 'ss' && pass === undefined) credential = Buffer.from(user, 'base64url').toString('utf8');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { scheme, host, port: Number(url.port || 443), credential, params, name: decodeURIComponent(url.hash.slice(1)) };
}

export interface Dialed {
  host: string;
  port: number;
  /** The TLS server name the client sends; absent without TLS. */
  sni?: string;
}

/** What a client of `format` dials for each entry, by entry name, read back from the body it fetched. */
export function dialed(format: Format, body: string): Record<string, Dialed> {
  switch (format) {
    case 'singbox': {
      const outbounds = (JSON.parse(body).outbounds as Record<string, any>[]).filter((o) => o.server);
      return Object.fromEntries(outbounds.map((o) => [o.tag, { host: o.server, port: o.server_port, sni: o.tls?.server_name }]));
    }
    case 'clash': {
      const proxies = parse(body).proxies as Record<string, any>[];
      return Object.fromEntries(proxies.map((p) => [p.name, { host: p.server, port: p.port, sni: p.servername ?? p.sni }]));
    }
    case 'links':
    case 'base64': {
      const text = format === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
      return Object.fromEntries(
        text.split('\n').map((link) => {
          const p = parseLink(link);
          return [p.name, { host: p.host, port: p.port, sni: p.params.sni || undefined }];
        }),
      );
    }
  }
}
