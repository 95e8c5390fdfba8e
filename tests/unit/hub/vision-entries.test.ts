// A VLESS inbound's flow in every subscription format: the node gives it to every user of the
// inbound (singbox-config's render), so each client must send the same one, or the node refuses it
// ("flow mismatch").
import { describe, expect, it } from 'vitest';
import { realityKeyPair } from '../../../hub/reality.js';
import { buildEntries, type EntryNode } from '../../../hub/subscriptions/entries.js';
import { clashProxy } from '../../../hub/subscriptions/formats/clash.js';
import { singboxOutbound } from '../../../hub/subscriptions/formats/singbox.js';
import { shareLink } from '../../../hub/subscriptions/share-link.js';

const keys = realityKeyPair();
const reality = { enabled: true, handshake: { server: 'www.example.com', server_port: 443 }, private_key: keys.private_key, short_id: [keys.short_id] };
const base = {
  inbounds: [
    { type: 'vless', tag: 'vision', listen_port: 443, flow: 'xtls-rprx-vision', tls: { enabled: true, server_name: 'www.example.com', reality } },
    { type: 'vless', tag: 'plain', listen_port: 8443, tls: { enabled: true, server_name: 'node.example.com', certificate_path: '/c.pem', key_path: '/k.pem' } },
  ],
};
const node: EntryNode = { id: 'hk', name: 'HK', address: 'hk.example.com:7443', tags: ['hk'], multiplier: 1 };
const user = { uuid: '3F1B6C1E-2B9A-4C55-9E1A-5D8F0B7A6C21', password: 'p'.repeat(16), ss_key: Buffer.alloc(32, 7).toString('base64') };
const [vision, plain] = buildEntries([{ node, config: base }], ['hk'], user);

describe('the VLESS flow of an inbound in subscriptions', () => {
  it('gives the entry of a Vision inbound its flow and REALITY public key, and a plain one no flow', () => {
    expect(vision).toMatchObject({ type: 'vless', flow: 'xtls-rprx-vision', tls: { server_name: 'www.example.com', reality: { public_key: keys.public_key, short_id: keys.short_id } } });
    expect(plain).toMatchObject({ type: 'vless', flow: '' });
  });

  it('carries it in the sing-box outbound, the Clash.Meta proxy and the share link', () => {
    expect(singboxOutbound(vision!)).toMatchObject({ flow: 'xtls-rprx-vision', tls: { reality: { enabled: true, public_key: keys.public_key, short_id: keys.short_id } } });
    expect(clashProxy(vision!)).toMatchObject({ flow: 'xtls-rprx-vision', 'reality-opts': { 'public-key': keys.public_key, 'short-id': keys.short_id } });
    const link = new URL(shareLink(vision!));
    expect(Object.fromEntries(link.searchParams)).toMatchObject({ flow: 'xtls-rprx-vision', security: 'reality', pbk: keys.public_key, sid: keys.short_id });

    expect(singboxOutbound(plain!)).not.toHaveProperty('flow');
    expect(clashProxy(plain!)).not.toHaveProperty('flow');
    expect(new URL(shareLink(plain!)).searchParams.has('flow')).toBe(false);
  });
});
