// A node base config with every protocol the subscription renderers know (REALITY, a WebSocket
// transport, SS-2022, Hysteria2 with obfs, TUIC, AnyTLS), credentials chosen to trip encoders
// (all digits, reserved URI characters), and the entries a user gets from it.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import selfsigned from 'selfsigned';
import { buildEntries, type Entry, type EntryNode, type EntryUser } from '../../../hub/subscriptions/entries.js';

export const SERVER_NAME = 'node.boxfleet.test';

export interface Fixture {
  base: Record<string, unknown>;
  user: EntryUser;
  node: EntryNode;
  entries: Entry[];
  reality: { privateKey: string; publicKey: string; shortId: string };
  ssServerKey: string;
}

export async function makeFixture(options: { host?: string; password?: string } = {}): Promise<Fixture> {
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
  const node: EntryNode = { id: 'hk-1', name: 'HK 1', address: `${options.host ?? '203.0.113.10'}:50051`, tags: ['hk', 'premium'], multiplier: 2 };
  const entries = buildEntries([{ node, config: base }], ['hk'], user);
  return { base, user, node, entries, reality, ssServerKey };
}
