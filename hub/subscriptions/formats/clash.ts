// The Clash.Meta (mihomo) profile, rendered from the operator's profile template or the default one
// below. Every string scalar is double-quoted, so an all-digit password or short id stays a string
// (singbox.md §9 pitfall 20). Pure.
import type { Entry } from '../entries.js';
import type { RenderOptions, SubscriptionFormat } from '../subscription-format.js';
import { parseTemplate, renderTemplate, type Origins, type TemplateShape } from '../templates.js';

type Json = Record<string, unknown>;

export const SELECT_GROUP = 'PROXY';
export const URLTEST_GROUP = 'AUTO';

const compact = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** TLS fields; vless/vmess name the SNI `servername`, the others `sni` (pitfall 19). */
function tlsFields(e: Entry, sniKey: 'servername' | 'sni'): Json {
  const tls = e.tls;
  if (!tls) return {};
  return compact({
    [sniKey]: tls.server_name,
    alpn: tls.alpn,
    // A pinned self-signed certificate: mihomo checks this SHA-256 instead of the CA chain.
    fingerprint: tls.certificate_sha256,
    // uTLS profile; REALITY requires it.
    'client-fingerprint': tls.reality || e.type === 'vless' || e.type === 'vmess' || e.type === 'trojan' ? 'chrome' : undefined,
    'reality-opts': tls.reality ? { 'public-key': tls.reality.public_key, 'short-id': tls.reality.short_id } : undefined,
  });
}

function transportFields(e: Entry): Json {
  const t = e.transport;
  if (!t) return { network: 'tcp' };
  switch (t.type) {
    case 'ws':
      return { network: 'ws', 'ws-opts': compact({ path: t.path, headers: t.host ? { Host: t.host } : undefined }) };
    case 'httpupgrade':
      return { network: 'ws', 'ws-opts': compact({ path: t.path, headers: t.host ? { Host: t.host } : undefined, 'v2ray-http-upgrade': true }) };
    case 'grpc':
      return { network: 'grpc', 'grpc-opts': { 'grpc-service-name': t.service_name ?? '' } };
    case 'http':
      return { network: 'h2', 'h2-opts': compact({ path: t.path, host: t.host ? [t.host] : undefined }) };
  }
}

export function clashProxy(e: Entry): Json {
  const common = { name: e.name, type: e.type === 'shadowsocks' ? 'ss' : e.type, server: e.server, port: e.port };
  switch (e.type) {
    case 'vless':
      return compact({ ...common, udp: true, uuid: e.uuid, flow: e.flow || undefined, tls: Boolean(e.tls), ...transportFields(e), ...tlsFields(e, 'servername') });
    case 'vmess':
      // alterId and cipher have no default in mihomo: a missing key is an error.
      return { ...common, udp: true, uuid: e.uuid, alterId: 0, cipher: 'auto', tls: Boolean(e.tls), ...transportFields(e), ...tlsFields(e, 'servername') };
    case 'trojan': {
      const transport = e.transport ? transportFields(e) : {};
      return { ...common, udp: true, password: e.password, ...transport, ...tlsFields(e, 'sni') };
    }
    case 'shadowsocks':
      return { ...common, udp: true, cipher: e.method, password: e.password };
    case 'hysteria2':
      return compact({ ...common, password: e.password, obfs: e.obfs?.type, 'obfs-password': e.obfs?.password, ...tlsFields(e, 'sni') });
    case 'tuic':
      return {
        ...common,
        uuid: e.uuid,
        password: e.password,
        'congestion-controller': e.congestion_control ?? 'cubic',
        'udp-relay-mode': 'native',
        ...tlsFields(e, 'sni'),
        alpn: e.tls?.alpn ?? ['h3'],
      };
    case 'anytls':
      return { ...common, udp: true, password: e.password, ...tlsFields(e, 'sni') };
  }
}

export const CLASH_SHAPE: TemplateShape = {
  format: 'clash',
  proxiesKey: 'proxies',
  groupsKey: 'proxy-groups',
  membersKey: 'proxies',
  nameKey: 'name',
  selectorType: 'select',
  // Never DIRECT, so nothing leaves unproxied by surprise.
  emptySelector: 'REJECT',
  interval: (seconds) => seconds,
};

/**
 * The profile an operator has not shaped (profile templates, templates.ts): a select group over a
 * url-test group and every node, private ranges direct, the rest through the select group.
 */
export const DEFAULT_CLASH_TEMPLATE = `mixed-port: 7890
allow-lan: false
mode: rule
log-level: info
proxies:
  - $proxies
proxy-groups:
  - name: ${SELECT_GROUP}
    type: select
    proxies: [${URLTEST_GROUP}, $all, DIRECT]
  - name: ${URLTEST_GROUP}
    type: url-test
    proxies: [$usable]
    url: $urltest_url
    interval: $urltest_interval
    tolerance: $urltest_tolerance
rules:
  - IP-CIDR,127.0.0.0/8,DIRECT,no-resolve
  - IP-CIDR,10.0.0.0/8,DIRECT,no-resolve
  - IP-CIDR,172.16.0.0/12,DIRECT,no-resolve
  - IP-CIDR,192.168.0.0/16,DIRECT,no-resolve
  - IP-CIDR,169.254.0.0/16,DIRECT,no-resolve
  - IP-CIDR6,::1/128,DIRECT,no-resolve
  - IP-CIDR6,fc00::/7,DIRECT,no-resolve
  - IP-CIDR6,fe80::/10,DIRECT,no-resolve
  - MATCH,${SELECT_GROUP}
`;

const DEFAULT = parseTemplate(CLASH_SHAPE, DEFAULT_CLASH_TEMPLATE, '');

/** The profile document: the template (else the default) with the entries in it. */
export function clashDocument(entries: readonly Entry[], options: RenderOptions, origins?: Origins): Json {
  return renderTemplate(
    CLASH_SHAPE,
    options.template ?? DEFAULT,
    {
      proxies: entries.map(clashProxy),
      all: entries.map((e) => e.name),
      usable: entries.filter((e) => !e.placeholder).map((e) => e.name),
      urltest: options.urltest,
    },
    origins,
  );
}

/**
 * A JSON string is a valid YAML double-quoted scalar (YAML's escapes are a superset of JSON's);
 * U+2028/2029 are escaped too, since YAML 1.1 readers take them for line breaks.
 */
const quoted = (text: string) => JSON.stringify(text).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

function scalar(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  throw new Error(`clash: cannot write ${typeof value} as YAML`);
}

/** Block-style YAML for the plain data this module builds (maps, lists, strings, numbers, booleans). */
function emit(value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === 'object' && (Array.isArray(item) ? item.length : Object.keys(item).length) > 0) {
        const lines: string[] = [];
        emit(item, `${indent}  `, lines);
        out.push(`${indent}- ${lines[0]!.slice(indent.length + 2)}`, ...lines.slice(1));
      } else out.push(`${indent}- ${leaf(item)}`);
    }
    return;
  }
  for (const [k, v] of Object.entries(value as Json)) {
    const key = keyText(k);
    if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length : Object.keys(v).length) > 0) {
      out.push(`${indent}${key}:`);
      emit(v, `${indent}  `, out);
    } else out.push(`${indent}${key}: ${leaf(v)}`);
  }
}

/** A key as a plain scalar when it reads back as that same string in any YAML reader, else quoted (a template's keys are the operator's). */
const keyText = (key: string) => (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) && !/^(y|n|yes|no|on|off|true|false|null)$/i.test(key) ? key : quoted(key));

const leaf = (v: unknown) => (Array.isArray(v) ? '[]' : v !== null && typeof v === 'object' ? '{}' : scalar(v));

/**
 * The document as YAML text. Written by hand rather than with the yaml package's stringify: plain
 * data in block style is all a profile needs, and this is several times faster on a 150-proxy profile.
 */
export function renderClash(entries: readonly Entry[], options: RenderOptions): string {
  const out: string[] = [];
  emit(clashDocument(entries, options), '', out);
  return `${out.join('\n')}\n`;
}

export const clash: SubscriptionFormat<'clash'> = {
  name: 'clash',
  contentType: 'text/yaml; charset=utf-8',
  extension: 'yaml',
  // The clients built on Clash.Meta (mihomo).
  userAgent: /^(clash-verge|clash[-.]?meta|flclash|mihomo)/i,
  render: renderClash,
};
