// The subscription renderers as pure functions: entries from a base config, where every format
// sends clients (agent host, public host, per-inbound overrides, IPv6), share links that parse back
// to what went in for every scheme, Clash.Meta YAML whose every string is a quoted string, the
// sing-box profile's shape, and the headers and User-Agent rules.
import { isMap, isScalar, isSeq, parse, parseDocument, type Node as YamlNode } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { clashDocument, renderClash } from '../../../hub/subscriptions/formats/clash.js';
import { buildEntries, entryName, hostOf, placeholderEntry, type Entry } from '../../../hub/subscriptions/entries.js';
import { realityPublicKey } from '../../../hub/reality.js';
import { chooseFormat, contentDisposition, FORMATS, profileTitle, renderOptionsOf, SUBSCRIPTION_FORMATS, subscriptionUserinfo, type Format } from '../../../hub/subscriptions/format.js';
import { renderBase64 } from '../../../hub/subscriptions/formats/base64.js';
import { renderLinks } from '../../../hub/subscriptions/formats/links.js';
import { shareLink } from '../../../hub/subscriptions/share-link.js';
import { DEFAULT_SINGBOX_TEMPLATE, renderSingbox, SINGBOX_SHAPE } from '../../../hub/subscriptions/formats/singbox.js';
import { parseTemplate } from '../../../hub/subscriptions/templates.js';
import { dialed, makeFixture, parseLink, RENDER_OPTIONS, SERVER_NAME, type Dialed, type Fixture } from './subscription.helpers.js';

describe('subscription entries', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture();
  });

  it('makes one entry per inbound that takes users, named node, region, multiplier and type', () => {
    expect(f.entries.map((e) => e.name)).toEqual(['HK 1 hk ×2 vless', 'HK 1 hk ×2 vmess', 'HK 1 hk ×2 trojan', 'HK 1 hk ×2 shadowsocks', 'HK 1 hk ×2 hysteria2', 'HK 1 hk ×2 tuic', 'HK 1 hk ×2 anytls']);
    expect(entryName({ ...f.node, name: 'hk', multiplier: 1 }, ['hk'], 'vless')).toBe('hk vless');
  });

  it('gives the user the credentials singbox-config puts on the node', () => {
    const byType = Object.fromEntries(f.entries.map((e) => [e.type, e]));
    const userKey16 = Buffer.from(f.user.ss_key, 'base64').subarray(0, 16).toString('base64');
    expect(byType.shadowsocks!.password).toBe(`${f.ssServerKey}:${userKey16}`);
    expect(byType.vless!.uuid).toBe(f.user.uuid);
    expect(byType.hysteria2!.password).toBe(f.user.password);
    expect(byType.hysteria2!.obfs).toEqual({ type: 'salamander', password: 'ob fs/+=:@' });
    expect(byType.vless!.tls!.reality).toEqual({ public_key: f.reality.publicKey, short_id: f.reality.shortId });
    expect(byType.trojan!.tls!.certificate).toContain('BEGIN CERTIFICATE');
    expect(byType.trojan!.tls!.certificate_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(byType.vmess!.transport).toEqual({ type: 'ws', path: '/vm ess', host: 'cdn.example.com' });
  });

  it('derives the REALITY public key from the private key', () => {
    expect(realityPublicKey(f.reality.privateKey)).toBe(f.reality.publicKey);
  });

  it('takes the host from the node address, IPv6 included', () => {
    expect(hostOf('203.0.113.10:50051')).toBe('203.0.113.10');
    expect(hostOf('[2001:db8::1]:50051')).toBe('2001:db8::1');
    expect(hostOf('node.example.com:50051')).toBe('node.example.com');
    expect(hostOf('node.example.com')).toBe('node.example.com');
  });
});

describe('where clients connect', () => {
  /** As the route renders it: through the registry. */
  const RENDER = (format: Format, entries: Entry[]) => SUBSCRIPTION_FORMATS[format].render(entries, RENDER_OPTIONS);
  /** The fixture's inbounds: listen port and the TLS server name each sets (none for vmess and ss). */
  const INBOUNDS: Record<string, Dialed> = {
    vless: { host: '', port: 10443, sni: 'www.example.com' },
    vmess: { host: '', port: 10001 },
    trojan: { host: '', port: 10002, sni: SERVER_NAME },
    shadowsocks: { host: '', port: 10003 },
    hysteria2: { host: '', port: 10004, sni: SERVER_NAME },
    tuic: { host: '', port: 10005, sni: SERVER_NAME },
    anytls: { host: '', port: 10006, sni: SERVER_NAME },
  };
  /** What every format must dial: `host` and the listen ports, but for the entries of the types in `changed`. */
  const expected = (entries: Entry[], host: string, changed: Record<string, Partial<Dialed>> = {}) =>
    Object.fromEntries(entries.map((e) => [e.name, { ...INBOUNDS[e.type]!, host, ...changed[e.type] }]));
  const expectEveryFormat = (entries: Entry[], want: Record<string, Dialed>) => {
    for (const format of FORMATS) expect(dialed(format, RENDER(format, entries)), format).toEqual(want);
  };

  it("dials the host of the agent's address when the node has no public host", async () => {
    const { entries } = await makeFixture();
    expectEveryFormat(entries, expected(entries, '203.0.113.10'));
  });

  it('dials the public host instead of the agent address when the node has one', async () => {
    const { entries } = await makeFixture({ host: '10.0.0.5', publicHost: 'edge.example.net' });
    expectEveryFormat(entries, expected(entries, 'edge.example.net'));
  });

  it("changes the host and/or port of an overridden inbound only, and keeps the server name the inbound sets", async () => {
    const { entries } = await makeFixture({
      host: '10.0.0.5',
      publicHost: 'edge.example.net',
      overrides: { 'trojan-in': { host: 'cdn.example.org' }, 'ss-in': { port: 20003 }, 'hy2-in': { host: '198.51.100.7', port: 443 }, 'gone-in': { port: 1 } },
    });
    expectEveryFormat(
      entries,
      expected(entries, 'edge.example.net', { trojan: { host: 'cdn.example.org' }, shadowsocks: { port: 20003 }, hysteria2: { host: '198.51.100.7', port: 443 } }),
    );
  });

  it('sends the host clients dial as the server name of an inbound that sets none, an override host included', () => {
    const tls = { enabled: true, certificate_path: '/etc/sing-box/cert.pem', key_path: '/etc/sing-box/key.pem' };
    const config = {
      inbounds: [
        { type: 'trojan', tag: 'via-cdn', listen: '::', listen_port: 8443, tls },
        { type: 'trojan', tag: 'direct', listen: '::', listen_port: 9443, tls },
      ],
    };
    const node = { id: 'n', name: 'n', address: '10.0.0.5:50051', public_host: 'edge.example.net', inbound_overrides: { 'via-cdn': { host: 'cdn.example.org', port: 443 } }, tags: [], multiplier: 1 };
    const entries = buildEntries([{ node, config }], [], { uuid: '00000000-0000-4000-8000-000000000000', password: 'pw', ss_key: '' });
    expectEveryFormat(entries, {
      'n trojan': { host: 'cdn.example.org', port: 443, sni: 'cdn.example.org' },
      'n trojan direct': { host: 'edge.example.net', port: 9443, sni: 'edge.example.net' },
    });
  });

  it('brackets an IPv6 host in share links and gives sing-box and Clash the bare address', async () => {
    const { entries } = await makeFixture({ publicHost: '2001:db8::10', overrides: { 'vmess-ws': { host: '2001:db8::20' } } });
    expectEveryFormat(entries, expected(entries, '2001:db8::10', { vmess: { host: '2001:db8::20' } }));
    const links = renderLinks(entries).split('\n');
    for (const link of links.filter((l) => !l.startsWith('vmess://'))) expect(link).toMatch(/@\[2001:db8::10\]:\d+[/?#]/);
    const vmess = links.find((l) => l.startsWith('vmess://'))!;
    expect(JSON.parse(Buffer.from(vmess.slice('vmess://'.length), 'base64').toString()).add).toBe('2001:db8::20');
    expect(renderClash(entries, RENDER_OPTIONS)).toContain('server: "2001:db8::10"');
    expect((renderSingbox(entries, RENDER_OPTIONS).outbounds as { server?: string }[]).filter((o) => o.server).map((o) => o.server)).toContain('2001:db8::10');
  });
});

describe('share links', () => {
  for (const host of ['203.0.113.10', '[2001:db8::1]']) {
    it(`round-trip host, port, credentials and parameters for every scheme (${host})`, async () => {
      const f = await makeFixture({ host, password: 'p@ss:w/rd+=%?#1' });
      const expectedHost = host.replace(/^\[|\]$/g, '');
      for (const entry of f.entries) {
        const link = shareLink(entry);
        const p = parseLink(link);
        const label = `${entry.type}: ${link}`;
        expect(p.host, label).toBe(expectedHost);
        expect(p.port, label).toBe(entry.port);
        expect(p.name, label).toBe(entry.name);
        switch (entry.type) {
          case 'vless':
            expect(p.scheme).toBe('vless');
            expect(p.credential).toBe(f.user.uuid);
            expect(p.params).toMatchObject({ encryption: 'none', security: 'reality', sni: 'www.example.com', pbk: f.reality.publicKey, sid: f.reality.shortId, fp: 'chrome', type: 'tcp' });
            break;
          case 'vmess':
            expect(p.credential).toBe(f.user.uuid);
            expect(p.params).toMatchObject({ v: '2', aid: '0', scy: 'auto', net: 'ws', path: '/vm ess', host: 'cdn.example.com', tls: '' });
            break;
          case 'trojan':
            expect(p.credential).toBe(f.user.password);
            expect(p.params).toMatchObject({ security: 'tls', sni: SERVER_NAME, allowInsecure: '1', type: 'tcp' });
            break;
          case 'shadowsocks':
            // 2022: plain userinfo with every reserved character percent-encoded, never base64.
            expect(link).toMatch(/^ss:\/\/2022-blake3-aes-128-gcm:[^@/+=]*@/);
            expect(p.credential).toBe(`2022-blake3-aes-128-gcm:${entry.password}`);
            break;
          case 'hysteria2':
            expect(p.credential).toBe(f.user.password);
            expect(p.params).toMatchObject({ obfs: 'salamander', 'obfs-password': 'ob fs/+=:@', sni: SERVER_NAME, insecure: '1', pinSHA256: entry.tls!.certificate_sha256 });
            break;
          case 'tuic':
            expect(link).toContain(`tuic://${f.user.uuid}:`);
            expect(p.credential).toBe(`${f.user.uuid}:${f.user.password}`);
            expect(p.params).toMatchObject({ congestion_control: 'bbr', alpn: 'h3', sni: SERVER_NAME, udp_relay_mode: 'native' });
            break;
          case 'anytls':
            expect(p.credential).toBe(f.user.password);
            expect(p.params).toMatchObject({ security: 'tls', sni: SERVER_NAME, insecure: '1' });
            break;
        }
      }
    });
  }

  it('encodes legacy shadowsocks userinfo as base64url of method:password', () => {
    const entry: Entry = { name: 'x', type: 'shadowsocks', server: 'h', port: 8388, method: 'aes-128-gcm', password: 'pw:1' };
    expect(parseLink(shareLink(entry)).credential).toBe('aes-128-gcm:pw:1');
  });

  it('lists them one per line, and as padded standard base64 of that list', async () => {
    const { entries } = await makeFixture();
    const links = renderLinks(entries);
    expect(links.split('\n')).toHaveLength(entries.length);
    const b64 = renderBase64(entries);
    expect(b64).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(b64.length % 4).toBe(0);
    expect(Buffer.from(b64, 'base64').toString('utf8')).toBe(links);
  });
});

describe('Clash.Meta YAML', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture();
  });

  it('parses, with every string scalar double-quoted and read back as a string', () => {
    const text = renderClash(f.entries, RENDER_OPTIONS);
    const doc = parseDocument(text);
    expect(doc.errors).toEqual([]);
    const walk = (node: YamlNode | null | undefined, path: string) => {
      if (isScalar(node)) {
        if (typeof node.value === 'string') expect(node.type, path).toBe('QUOTE_DOUBLE');
        else expect(['number', 'boolean'], path).toContain(typeof node.value);
      } else if (isMap(node)) for (const pair of node.items) walk(pair.value as YamlNode, `${path}.${String((pair.key as { value: unknown }).value)}`);
      else if (isSeq(node)) node.items.forEach((item, i) => walk(item as YamlNode, `${path}[${i}]`));
    };
    walk(doc.contents as YamlNode, '');
    const parsed = parse(text);
    expect(parsed).toEqual(clashDocument(f.entries, RENDER_OPTIONS));
    const trojan = parsed.proxies.find((p: { type: string }) => p.type === 'trojan');
    expect(trojan.password).toBe('12345678901234567890');
    const vless = parsed.proxies.find((p: { type: string }) => p.type === 'vless');
    expect(vless['reality-opts']['short-id']).toBe('0123456789');
  });

  it('writes any name or password so that it reads back unchanged', () => {
    const nasty = ['a "quoted" \\ name', 'line\nbreak\ttab', '- leading dash', 'key: value # not a comment', '测试 ×2 ⛔', 'sep\u2028arator', '007', 'true', 'null', ''];
    const entries: Entry[] = nasty.map((name, i) => ({ name: `${name} ${i}`, type: 'trojan', server: 'h', port: 443 + i, password: name }));
    const parsed = parse(renderClash(entries, RENDER_OPTIONS));
    expect(parsed.proxies.map((p: { name: string }) => p.name)).toEqual(entries.map((e) => e.name));
    expect(parsed.proxies.map((p: { password: string }) => p.password)).toEqual(nasty);
    expect(parsed).toEqual(clashDocument(entries, RENDER_OPTIONS));
  });

  it('follows mihomo field names: servername for vless/vmess, sni for the rest, udp, vmess alterId and cipher', () => {
    const proxies = clashDocument(f.entries, RENDER_OPTIONS).proxies as Record<string, unknown>[];
    const by = (type: string) => proxies.find((p) => p.type === type)!;
    expect(by('vless')).toMatchObject({ servername: 'www.example.com', 'client-fingerprint': 'chrome', udp: true, tls: true, network: 'tcp' });
    expect(by('vmess')).toMatchObject({ alterId: 0, cipher: 'auto', network: 'ws', 'ws-opts': { path: '/vm ess', headers: { Host: 'cdn.example.com' } } });
    expect(by('trojan')).toMatchObject({ sni: SERVER_NAME, udp: true, fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(by('ss')).toMatchObject({ cipher: '2022-blake3-aes-128-gcm', udp: true });
    expect(by('hysteria2')).toMatchObject({ obfs: 'salamander', 'obfs-password': 'ob fs/+=:@', sni: SERVER_NAME });
    expect(by('tuic')).toMatchObject({ 'congestion-controller': 'bbr', 'udp-relay-mode': 'native', alpn: ['h3'] });
    expect(by('anytls')).toMatchObject({ sni: SERVER_NAME, udp: true });
  });

  it('has a select group over a url-test group and every node, and ends its rules with MATCH', () => {
    const doc = clashDocument(f.entries, RENDER_OPTIONS);
    const names = f.entries.map((e) => e.name);
    expect(doc['proxy-groups']).toEqual([
      { name: 'PROXY', type: 'select', proxies: ['AUTO', ...names, 'DIRECT'] },
      { name: 'AUTO', type: 'url-test', proxies: names, url: 'https://www.gstatic.com/generate_204', interval: 300, tolerance: 50 },
    ]);
    expect((doc.rules as string[]).at(-1)).toBe('MATCH,PROXY');
  });

  // mihomo could not be built here (the Go module proxy refused github.com/metacubex/mihomo), so the
  // YAML is held to mihomo's documented structure: the keys its adapter/outbound structs need (no
  // omitempty), unique proxy and group names, and groups and rules that only name what exists.
  it('meets the structure mihomo documents: required keys, unique names, resolvable references', () => {
    const doc = parse(renderClash(f.entries, RENDER_OPTIONS));
    const REQUIRED: Record<string, string[]> = {
      vless: ['name', 'server', 'port', 'uuid'],
      vmess: ['name', 'server', 'port', 'uuid', 'alterId', 'cipher'],
      trojan: ['name', 'server', 'port', 'password'],
      ss: ['name', 'server', 'port', 'cipher', 'password'],
      hysteria2: ['name', 'server', 'port'],
      tuic: ['name', 'server', 'port'],
      anytls: ['name', 'server', 'port', 'password'],
    };
    for (const proxy of doc.proxies) {
      for (const key of REQUIRED[proxy.type]!) expect(proxy, `${proxy.type}.${key}`).toHaveProperty(key);
      expect(Number.isInteger(proxy.port)).toBe(true);
      if (proxy['reality-opts']) expect(proxy['client-fingerprint'], 'REALITY needs client-fingerprint').toBeTruthy();
    }
    const proxyNames = doc.proxies.map((p: { name: string }) => p.name);
    const groupNames = doc['proxy-groups'].map((g: { name: string }) => g.name);
    const all = [...proxyNames, ...groupNames];
    expect(new Set(all).size).toBe(all.length);
    const known = new Set([...all, 'DIRECT', 'REJECT']);
    for (const group of doc['proxy-groups']) {
      expect(['select', 'url-test', 'fallback', 'load-balance', 'relay']).toContain(group.type);
      for (const name of group.proxies) expect(known.has(name), `${group.name} → ${name}`).toBe(true);
      if (group.type === 'url-test') expect(group.url).toMatch(/^https?:\/\//);
    }
    for (const rule of doc.rules as string[]) {
      const parts = rule.split(',');
      const target = parts[0] === 'MATCH' ? parts[1]! : parts[2]!;
      expect(known.has(target), rule).toBe(true);
    }
    expect(doc.rules.at(-1)).toMatch(/^MATCH,/);
    for (const key of ['mixed-port', 'mode', 'proxies', 'proxy-groups', 'rules']) expect(doc).toHaveProperty(key);
  });

  it('offers only the stand-in when nothing is usable, never DIRECT', () => {
    const doc = clashDocument([placeholderEntry('⛔ subscription expired')], RENDER_OPTIONS);
    expect(doc['proxy-groups']).toEqual([{ name: 'PROXY', type: 'select', proxies: ['⛔ subscription expired'] }]);
  });
});

describe("the clients' failover groups", () => {
  it('test with the URL, interval and tolerance the settings give, in every format that has such a group', async () => {
    const { entries } = await makeFixture();
    const options = renderOptionsOf({ sub_urltest_url: 'http://probe.example.net/204', sub_urltest_interval_s: 45, sub_urltest_tolerance_ms: 150 });
    const singbox = renderSingbox(entries, options) as Record<string, any>;
    expect(singbox.outbounds[1]).toMatchObject({ type: 'urltest', url: 'http://probe.example.net/204', interval: '45s', tolerance: 150 });
    const clash = parse(SUBSCRIPTION_FORMATS.clash.render(entries, options));
    expect(clash['proxy-groups'][1]).toMatchObject({ type: 'url-test', url: 'http://probe.example.net/204', interval: 45, tolerance: 150 });
  });

  it('keeps the 5-minute gstatic test by default', async () => {
    const { entries } = await makeFixture();
    expect((renderSingbox(entries, RENDER_OPTIONS).outbounds as Record<string, unknown>[])[1]).toMatchObject({ url: 'https://www.gstatic.com/generate_204', interval: '5m', tolerance: 50 });
  });
});

describe('sing-box profile', () => {
  it('has a mixed inbound, a selector over urltest and the nodes, typed DNS servers and a working route', async () => {
    const { entries } = await makeFixture();
    const config = renderSingbox(entries, RENDER_OPTIONS) as Record<string, any>;
    expect(config.inbounds).toEqual([{ type: 'mixed', tag: 'mixed-in', listen: '127.0.0.1', listen_port: 2080 }]);
    const names = entries.map((e) => e.name);
    expect(config.outbounds[0]).toEqual({ type: 'selector', tag: 'proxy', outbounds: ['auto', ...names], default: 'auto' });
    expect(config.outbounds[1]).toMatchObject({ type: 'urltest', tag: 'auto', outbounds: names });
    for (const server of config.dns.servers) {
      expect(server.type).toBeTypeOf('string');
      expect(server).not.toHaveProperty('address');
    }
    expect(config.route).toMatchObject({ final: 'proxy', default_domain_resolver: 'local' });
    expect(config.route.rules[0]).toEqual({ action: 'sniff' });
    // The port is the profile template's to choose.
    const template = parseTemplate(SINGBOX_SHAPE, DEFAULT_SINGBOX_TEMPLATE.replace('"listen_port": 2080', '"listen_port": 7777'), '');
    expect(renderSingbox(entries, { ...RENDER_OPTIONS, template }).inbounds).toEqual([{ type: 'mixed', tag: 'mixed-in', listen: '127.0.0.1', listen_port: 7777 }]);
  });
});

describe('client detection and headers', () => {
  it('picks the format from ?format, else the User-Agent (Meta patterns first), else base64', () => {
    expect(chooseFormat('links', 'clash.meta/1.19')).toBe('links');
    const cases: [string, string][] = [
      ['clash.meta/v1.19.2', 'clash'],
      ['clash-verge/v2.0', 'clash'],
      ['Clash-Meta', 'clash'],
      ['FlClash/0.8', 'clash'],
      ['mihomo/1.19', 'clash'],
      ['SFA/1.11.0 (573; sing-box 1.11.0)', 'singbox'],
      ['SFI/1.11', 'singbox'],
      ['SFM/1.11', 'singbox'],
      ['SFT/1.11', 'singbox'],
      ['Karing/1.0', 'singbox'],
      ['HiddifyNext/2.0', 'singbox'],
      ['v2rayN/6.42', 'base64'],
      ['Shadowrocket/2070', 'base64'],
      ['Mozilla/5.0', 'base64'],
      ['', 'base64'],
    ];
    for (const [ua, format] of cases) expect(chooseFormat(undefined, ua), ua).toBe(format);
    expect(chooseFormat(undefined, undefined)).toBe('base64');
  });

  it('writes subscription-userinfo as Marzban does, a UTF-8 safe file name and a base64 title', () => {
    expect(subscriptionUserinfo({ used: 1234.4, total: 107374182400, expire: 1767225600 })).toBe('upload=0; download=1234; total=107374182400; expire=1767225600');
    expect(contentDisposition('boxfleet-alice', 'clash')).toBe(`attachment; filename="boxfleet-alice.yaml"; filename*=UTF-8''boxfleet-alice.yaml`);
    expect(contentDisposition('测试 "x"', 'singbox')).toBe(`attachment; filename="__ _x_.json"; filename*=UTF-8''%E6%B5%8B%E8%AF%95%20%22x%22.json`);
    expect(profileTitle('boxfleet · 测试')).toBe(`base64:${Buffer.from('boxfleet · 测试').toString('base64')}`);
  });
});
