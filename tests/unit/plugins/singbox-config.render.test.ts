// Rendering the served config: no sing-box needed (singbox-config.singbox.test.ts checks the
// output with the real one).
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../agent-core/common/errors.js';
import { checkBase, listeners, redact, render, type RenderInput, type SingboxConfig } from '../../../plugins/singbox-config/render.js';
import { ssmEndpoints } from '../../../plugins/singbox-config/ssm.js';
import { user } from './singbox-config.helpers.js';

const tls = { enabled: true, certificate_path: '/etc/sing-box/cert.pem', key_path: '/etc/sing-box/key.pem' };
const alice = user('alice', { flow: 'xtls-rprx-vision' });
const bob = user('bob');

function renderWith(base: SingboxConfig, extra: Partial<RenderInput> = {}): SingboxConfig {
  checkBase(base);
  return render({ base, users: [alice, bob], routeRules: [], ssm: { port: 6001, prefixes: {} }, ...extra });
}

function inbound(config: SingboxConfig, i = 0): Record<string, unknown> {
  return (config.inbounds as Record<string, unknown>[])[i]!;
}

describe('render: users injected per protocol', () => {
  it('gives vless users name, uuid and flow', () => {
    const out = renderWith({ inbounds: [{ type: 'vless', tag: 'v', listen: '::', listen_port: 443 }] });
    expect(inbound(out).users).toEqual([
      { name: 'alice', uuid: alice.uuid, flow: 'xtls-rprx-vision' },
      { name: 'bob', uuid: bob.uuid, flow: '' },
    ]);
  });

  it('gives vmess users name, uuid and alterId 0 (camelCase on the inbound)', () => {
    const out = renderWith({ inbounds: [{ type: 'vmess', tag: 'vm', listen_port: 10001 }] });
    expect(inbound(out).users).toEqual([
      { name: 'alice', uuid: alice.uuid, alterId: 0 },
      { name: 'bob', uuid: bob.uuid, alterId: 0 },
    ]);
  });

  it('gives trojan, hysteria2 and anytls users name and password', () => {
    const out = renderWith({
      inbounds: [
        { type: 'trojan', tag: 't', listen_port: 8443, tls },
        { type: 'hysteria2', tag: 'h', listen_port: 8444, tls },
        { type: 'anytls', tag: 'a', listen_port: 8445, tls },
      ],
    });
    for (const i of [0, 1, 2]) {
      expect(inbound(out, i).users).toEqual([
        { name: 'alice', password: alice.password },
        { name: 'bob', password: bob.password },
      ]);
    }
  });

  it('gives tuic users name, uuid and password', () => {
    const out = renderWith({ inbounds: [{ type: 'tuic', tag: 'tu', listen_port: 8446, tls }] });
    expect(inbound(out).users).toEqual([
      { name: 'alice', uuid: alice.uuid, password: alice.password },
      { name: 'bob', uuid: bob.uuid, password: bob.password },
    ]);
  });

  it('lower-cases UUIDs (canonical form, pitfall 6)', () => {
    const shouting = user('carol', { uuid: 'ABCDEF01-2345-4678-89AB-CDEF01234567' });
    const out = render({
      base: { inbounds: [{ type: 'vless', tag: 'v', listen_port: 1 }] },
      users: [shouting],
      routeRules: [],
      ssm: { port: 6001, prefixes: {} },
    });
    expect((inbound(out).users as { uuid: string }[])[0]!.uuid).toBe('abcdef01-2345-4678-89ab-cdef01234567');
  });

  it('gives shadowsocks 2022-blake3-aes-128-gcm users the first 16 bytes of ss_key', () => {
    const out = renderWith({
      inbounds: [{ type: 'shadowsocks', tag: 'ss', listen_port: 8388, method: '2022-blake3-aes-128-gcm', password: 'Q7eIvaapGuSHRksb2B2Eyw==' }],
    });
    const users = inbound(out).users as { name: string; password: string }[];
    expect(users[0]).toEqual({ name: 'alice', password: Buffer.from(alice.ss_key, 'base64').subarray(0, 16).toString('base64') });
    expect(Buffer.from(users[0]!.password, 'base64')).toHaveLength(16);
    expect(users[0]!.password).toHaveLength(24);
  });

  it('gives shadowsocks 2022-blake3-aes-256-gcm users the whole 32-byte ss_key', () => {
    const out = renderWith({
      inbounds: [{ type: 'shadowsocks', tag: 'ss', listen_port: 8388, method: '2022-blake3-aes-256-gcm', password: alice.ss_key }],
    });
    expect(inbound(out).users).toEqual([
      { name: 'alice', password: alice.ss_key },
      { name: 'bob', password: bob.ss_key },
    ]);
  });

  it('gives legacy AEAD shadowsocks users their password', () => {
    const out = renderWith({ inbounds: [{ type: 'shadowsocks', tag: 'ss', listen_port: 8388, method: 'aes-256-gcm', password: 'x' }] });
    expect(inbound(out).users).toEqual([
      { name: 'alice', password: alice.password },
      { name: 'bob', password: bob.password },
    ]);
  });

  it('leaves inbounds that take no users alone', () => {
    const mixed = { type: 'mixed', tag: 'm', listen: '127.0.0.1', listen_port: 2080 };
    const out = renderWith({ inbounds: [mixed] });
    expect(inbound(out)).toEqual(mixed);
  });
});

describe('render: managed shadowsocks and the SSM API', () => {
  const base = {
    inbounds: [{ type: 'shadowsocks', tag: 'ss-m', listen: '::', listen_port: 8389, method: '2022-blake3-aes-128-gcm', password: 'Q7eIvaapGuSHRksb2B2Eyw==', managed: true }],
  };

  it('puts no users in a managed inbound and adds a loopback ssm-api service with the secret prefix and no cache_path', () => {
    const out = renderWith(base, { ssm: { port: 6123, prefixes: { 'ss-m': '/ssm-secret' } } });
    expect(inbound(out)).not.toHaveProperty('users');
    expect(out.services).toEqual([{ type: 'ssm-api', listen: '127.0.0.1', listen_port: 6123, servers: { '/ssm-secret': 'ss-m' } }]);
    expect(ssmEndpoints(out)).toEqual([{ inbound: 'ss-m', method: '2022-blake3-aes-128-gcm', url: 'http://127.0.0.1:6123/ssm-secret' }]);
  });

  it('adds no service when no inbound is managed', () => {
    expect(renderWith({ inbounds: [] }).services).toBeUndefined();
  });
});

describe('render: contributions', () => {
  it('puts sniff first, then the firewall rules, then the base rules (without a second bare sniff)', () => {
    const out = renderWith(
      { route: { rules: [{ action: 'sniff' }, { domain: ['example.org'], action: 'reject' }], final: 'direct' } },
      { routeRules: [{ ip_cidr: ['203.0.113.7'], action: 'reject' }] },
    );
    expect(out.route).toEqual({
      rules: [{ action: 'sniff' }, { ip_cidr: ['203.0.113.7'], action: 'reject' }, { domain: ['example.org'], action: 'reject' }],
      final: 'direct',
    });
  });

  it("adds the firewall's rule-sets after the base config's own", () => {
    const own = { type: 'local', tag: 'ads', format: 'source', path: '/etc/sing-box/ads.json' };
    const block = { type: 'local', tag: 'boxfleet-block', format: 'source', path: '/var/lib/boxfleet/firewall/boxfleet-block.json' };
    const out = renderWith(
      { route: { rule_set: [own], final: 'direct' } },
      { routeRules: [{ rule_set: 'boxfleet-block', action: 'reject' }], ruleSets: [block] },
    );
    expect(out.route).toEqual({
      rules: [{ action: 'sniff' }, { rule_set: 'boxfleet-block', action: 'reject' }],
      rule_set: [own, block],
      final: 'direct',
    });
  });

  it("refuses a base config whose rule-set tag is the firewall's, naming it", () => {
    const block = { type: 'local', tag: 'boxfleet-block', format: 'source', path: '/x.json' };
    expect(() => renderWith({ route: { rule_set: [{ ...block, path: '/mine.json' }] } }, { ruleSets: [block] })).toThrow(
      new InvalidArgumentError('route.rule_set: the base config has a rule-set tagged "boxfleet-block", which the firewall plugin uses; rename it'),
    );
  });

  it('merges the experimental sections from clash-stats with the base ones', () => {
    const clash_api = { external_controller: '127.0.0.1:9090', secret: 's3cret' };
    const out = renderWith({ experimental: { cache_file: { enabled: true } } }, { experimental: { clash_api } });
    expect(out.experimental).toEqual({ cache_file: { enabled: true }, clash_api });
  });
});

describe('checkBase: what users.sync and other plugins manage is refused, naming the path', () => {
  const refusals: [string, unknown, string][] = [
    ['users on a vless inbound', { inbounds: [{ type: 'mixed' }, { type: 'vless', users: [] }] }, 'config.inbounds[1].users: users are managed by users.sync; remove them from the base config'],
    ['users on a shadowsocks inbound', { inbounds: [{ type: 'shadowsocks', method: 'aes-128-gcm', users: [{ name: 'x', password: 'y' }] }] }, 'config.inbounds[0].users: users are managed by users.sync'],
    ['a Clash API section', { experimental: { clash_api: { external_controller: '127.0.0.1:9090' } } }, 'config.experimental.clash_api: managed by clash-stats; remove it from the base config'],
    ['a V2Ray API section', { experimental: { v2ray_api: { listen: '127.0.0.1:10085' } } }, 'config.experimental.v2ray_api: managed by clash-stats'],
    ['an ssm-api service', { services: [{ type: 'ssm-api', servers: {} }] }, 'config.services[0]: the ssm-api service is managed by singbox-config'],
    ['2022-blake3-chacha20-poly1305', { inbounds: [{ type: 'shadowsocks', method: '2022-blake3-chacha20-poly1305', password: 'k' }] }, 'config.inbounds[0].method: 2022-blake3-chacha20-poly1305 does not support multiple users'],
    ['a managed inbound without a tag', { inbounds: [{ type: 'shadowsocks', method: '2022-blake3-aes-128-gcm', managed: true }] }, 'config.inbounds[0].tag: a managed shadowsocks inbound needs a tag'],
    ['an inbound that is not an object', { inbounds: ['vless'] }, 'config.inbounds[0]: must be an object'],
    // A method named like an Object.prototype member is no method sing-box knows.
    ['a shadowsocks method named "constructor"', { inbounds: [{ type: 'shadowsocks', method: 'constructor', password: 'k' }] }, 'config.inbounds[0].method: "constructor" cannot take users'],
    ['a flow other than xtls-rprx-vision', { inbounds: [{ type: 'vless', tls, flow: 'xtls-rprx-direct' }] }, 'config.inbounds[0].flow: must be "xtls-rprx-vision"; leave it out for no flow'],
    ['an empty flow', { inbounds: [{ type: 'vless', tls, flow: '' }] }, 'config.inbounds[0].flow: must be "xtls-rprx-vision"'],
    ['a flow on a trojan inbound', { inbounds: [{ type: 'trojan', tls, flow: 'xtls-rprx-vision' }] }, 'config.inbounds[0].flow: only a VLESS inbound takes a flow'],
    ['a flow on a VLESS inbound without TLS', { inbounds: [{ type: 'mixed' }, { type: 'vless', flow: 'xtls-rprx-vision' }] }, 'config.inbounds[1].flow: xtls-rprx-vision needs TLS (tls.enabled, plain or REALITY)'],
    ['a flow on a VLESS inbound with TLS disabled', { inbounds: [{ type: 'vless', tls: { ...tls, enabled: false }, flow: 'xtls-rprx-vision' }] }, 'config.inbounds[0].flow: xtls-rprx-vision needs TLS'],
    ['a flow over a transport', { inbounds: [{ type: 'vless', tls, transport: { type: 'ws', path: '/' }, flow: 'xtls-rprx-vision' }] }, 'config.inbounds[0].flow: xtls-rprx-vision runs on the TLS connection itself; remove the transport or the flow'],
    ['a flow with multiplex', { inbounds: [{ type: 'vless', tls, multiplex: { enabled: true }, flow: 'xtls-rprx-vision' }] }, 'config.inbounds[0].flow: xtls-rprx-vision does not work with multiplex'],
  ];
  it.each(refusals)('refuses %s', (_what, base, message) => {
    expect(() => checkBase(base)).toThrow(InvalidArgumentError);
    expect(() => checkBase(base)).toThrow(message);
  });

  it('accepts a base config without managed parts', () => {
    expect(() => checkBase({ inbounds: [{ type: 'vless', tag: 'v' }], experimental: { cache_file: { enabled: true } }, services: [] })).not.toThrow();
  });
  it('accepts xtls-rprx-vision on a VLESS inbound over TLS or REALITY, multiplex off', () => {
    const reality = { enabled: true, server_name: 'www.example.com', reality: { enabled: true, handshake: { server: 'www.example.com', server_port: 443 }, private_key: 'k', short_id: ['01'] } };
    expect(() => checkBase({ inbounds: [{ type: 'vless', tls, flow: 'xtls-rprx-vision' }] })).not.toThrow();
    expect(() => checkBase({ inbounds: [{ type: 'vless', tls: reality, multiplex: { enabled: false }, flow: 'xtls-rprx-vision' }] })).not.toThrow();
  });
});

describe('render: the VLESS flow of an inbound', () => {
  it('gives every user of the inbound its flow and takes it off the inbound; other inbounds keep each user\'s own', () => {
    const out = renderWith({
      inbounds: [
        { type: 'vless', tag: 'vision', listen_port: 443, tls, flow: 'xtls-rprx-vision' },
        { type: 'vless', tag: 'plain', listen_port: 8443, tls },
      ],
    });
    expect(inbound(out, 0)).toEqual({
      type: 'vless',
      tag: 'vision',
      listen_port: 443,
      tls,
      users: [
        { name: 'alice', uuid: alice.uuid, flow: 'xtls-rprx-vision' },
        { name: 'bob', uuid: bob.uuid, flow: 'xtls-rprx-vision' },
      ],
    });
    expect(inbound(out, 1).users).toEqual([
      { name: 'alice', uuid: alice.uuid, flow: 'xtls-rprx-vision' },
      { name: 'bob', uuid: bob.uuid, flow: '' },
    ]);
  });
});

describe('listeners', () => {
  it('lists TCP and UDP sockets by protocol, with sing-box\'s default listen address, and the APIs', () => {
    const out = listeners({
      inbounds: [
        { type: 'vless', tag: 'v', listen: '::', listen_port: 443 },
        { type: 'hysteria2', tag: 'h', listen: '0.0.0.0', listen_port: 443 },
        { type: 'shadowsocks', tag: 's', listen_port: 8388 },
        { type: 'shadowsocks', tag: 's-tcp', listen_port: 8389, network: 'tcp' },
        { type: 'tun', tag: 'tun' },
      ],
      experimental: { clash_api: { external_controller: '127.0.0.1:9090' }, v2ray_api: { listen: '[::1]:10085' } },
      services: [{ type: 'ssm-api', listen: '127.0.0.1', listen_port: 6001, servers: {} }],
    });
    expect(out).toEqual([
      { owner: 'inbound "v"', host: '::', port: 443, proto: 'tcp' },
      { owner: 'inbound "h"', host: '0.0.0.0', port: 443, proto: 'udp' },
      { owner: 'inbound "s"', host: '127.0.0.1', port: 8388, proto: 'tcp' },
      { owner: 'inbound "s"', host: '127.0.0.1', port: 8388, proto: 'udp' },
      { owner: 'inbound "s-tcp"', host: '127.0.0.1', port: 8389, proto: 'tcp' },
      { owner: 'experimental.clash_api', host: '127.0.0.1', port: 9090, proto: 'tcp' },
      { owner: 'experimental.v2ray_api', host: '::1', port: 10085, proto: 'tcp' },
      { owner: 'ssm-api service', host: '127.0.0.1', port: 6001, proto: 'tcp' },
    ]);
  });
});

describe('redact', () => {
  it('hides user credentials, the Clash API secret and the SSM path prefixes', () => {
    const out = renderWith(
      {
        inbounds: [
          { type: 'vless', tag: 'v', listen_port: 1 },
          { type: 'shadowsocks', tag: 'ss-m', listen_port: 2, method: '2022-blake3-aes-128-gcm', password: 'Q7eIvaapGuSHRksb2B2Eyw==', managed: true },
        ],
      },
      { experimental: { clash_api: { external_controller: '127.0.0.1:9090', secret: 'clash-secret' } }, ssm: { port: 6001, prefixes: { 'ss-m': '/ssm-topsecret' } } },
    );
    const text = JSON.stringify(redact(out));
    for (const secret of [alice.uuid, bob.uuid, 'clash-secret', 'ssm-topsecret']) expect(text).not.toContain(secret);
    expect(text).toContain('"name":"alice"');
    expect(JSON.stringify(out)).toContain(alice.uuid); // the original is untouched
  });
});
