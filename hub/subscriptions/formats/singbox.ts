// The sing-box client profile: a complete config (sing-box has no provider mechanism), rendered
// from the operator's profile template or the default one below; typed DNS servers (1.12+; legacy
// strings are fatal on 1.13). Pure.
import type { Entry, EntryTls, EntryTransport } from '../entries.js';
import type { RenderOptions, SubscriptionFormat } from '../subscription-format.js';
import { parseTemplate, renderTemplate, type Origins, type TemplateShape } from '../templates.js';

type Json = Record<string, unknown>;

export const SELECTOR_TAG = 'proxy';
export const URLTEST_TAG = 'auto';
export const DIRECT_TAG = 'direct';

function tlsBlock(tls: EntryTls | undefined): Json | undefined {
  if (!tls) return undefined;
  const out: Json = { enabled: true, server_name: tls.server_name };
  if (tls.alpn) out.alpn = tls.alpn;
  if (tls.certificate) out.certificate = tls.certificate;
  if (tls.reality) {
    // REALITY rides on uTLS: the client refuses it without.
    out.utls = { enabled: true, fingerprint: 'chrome' };
    out.reality = { enabled: true, public_key: tls.reality.public_key, short_id: tls.reality.short_id };
  }
  return out;
}

function transportBlock(t: EntryTransport | undefined): Json | undefined {
  if (!t) return undefined;
  switch (t.type) {
    case 'ws':
      return { type: 'ws', path: t.path, ...(t.host ? { headers: { Host: t.host } } : {}) };
    case 'httpupgrade':
      return { type: 'httpupgrade', path: t.path, ...(t.host ? { host: t.host } : {}) };
    case 'grpc':
      return { type: 'grpc', service_name: t.service_name };
    case 'http':
      return { type: 'http', path: t.path, ...(t.host ? { host: [t.host] } : {}) };
  }
}

/** Drops undefined fields: sing-box parses strictly, and `null` is not "absent" to every field. */
const compact = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export function singboxOutbound(e: Entry): Json {
  const common = { type: e.type, tag: e.name, server: e.server, server_port: e.port };
  const tls = tlsBlock(e.tls);
  const transport = transportBlock(e.transport);
  switch (e.type) {
    case 'vless':
      return compact({ ...common, uuid: e.uuid, flow: e.flow || undefined, tls, transport });
    case 'vmess':
      return compact({ ...common, uuid: e.uuid, security: 'auto', alter_id: 0, tls, transport });
    case 'trojan':
      return compact({ ...common, password: e.password, tls, transport });
    case 'shadowsocks':
      return { ...common, method: e.method, password: e.password };
    case 'hysteria2':
      return compact({ ...common, password: e.password, obfs: e.obfs, tls });
    case 'tuic':
      return compact({ ...common, uuid: e.uuid, password: e.password, congestion_control: e.congestion_control, tls });
    case 'anytls':
      return compact({ ...common, password: e.password, tls });
  }
}

/** A duration as sing-box reads it: whole minutes as `5m`, else seconds. */
const duration = (seconds: number) => (seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`);

export const SINGBOX_SHAPE: TemplateShape = {
  format: 'singbox',
  proxiesKey: 'outbounds',
  groupsKey: 'outbounds',
  membersKey: 'outbounds',
  nameKey: 'tag',
  selectorType: 'selector',
  // Only for a profile without a single entry; a stand-in profile's selector holds the stand-in.
  emptySelector: DIRECT_TAG,
  interval: duration,
};

/**
 * The profile an operator has not shaped (profile templates, templates.ts): a local mixed (HTTP +
 * SOCKS) inbound, a selector over a urltest group and every node, typed DNS servers and route rules
 * that work as imported; node addresses may be names, so they are resolved by the local DNS server,
 * not through the proxy they lead to (default_domain_resolver).
 */
export const DEFAULT_SINGBOX_TEMPLATE = `{
  "log": { "level": "warn", "timestamp": true },
  "dns": {
    "servers": [
      { "type": "https", "tag": "remote", "server": "1.1.1.1", "detour": "${SELECTOR_TAG}" },
      { "type": "local", "tag": "local" }
    ],
    "final": "remote"
  },
  "inbounds": [{ "type": "mixed", "tag": "mixed-in", "listen": "127.0.0.1", "listen_port": 2080 }],
  "outbounds": [
    { "type": "selector", "tag": "${SELECTOR_TAG}", "outbounds": ["${URLTEST_TAG}", "$all"], "default": "${URLTEST_TAG}" },
    { "type": "urltest", "tag": "${URLTEST_TAG}", "outbounds": ["$usable"], "url": "$urltest_url", "interval": "$urltest_interval", "tolerance": "$urltest_tolerance" },
    "$proxies",
    { "type": "direct", "tag": "${DIRECT_TAG}" }
  ],
  "route": {
    "rules": [
      { "action": "sniff" },
      { "protocol": "dns", "action": "hijack-dns" },
      { "ip_is_private": true, "outbound": "${DIRECT_TAG}" }
    ],
    "final": "${SELECTOR_TAG}",
    "default_domain_resolver": "local"
  }
}
`;

const DEFAULT = parseTemplate(SINGBOX_SHAPE, DEFAULT_SINGBOX_TEMPLATE, '');

/** The profile document: the template (else the default) with the entries in it. */
export function renderSingbox(entries: readonly Entry[], options: RenderOptions, origins?: Origins): Json {
  return renderTemplate(
    SINGBOX_SHAPE,
    options.template ?? DEFAULT,
    {
      proxies: entries.map(singboxOutbound),
      all: entries.map((e) => e.name),
      usable: entries.filter((e) => !e.placeholder).map((e) => e.name),
      urltest: options.urltest,
    },
    origins,
  );
}

export const singbox: SubscriptionFormat<'singbox'> = {
  name: 'singbox',
  contentType: 'application/json; charset=utf-8',
  extension: 'json',
  // sing-box's own apps (Android, iOS, macOS, tvOS) and the clients built on it.
  userAgent: /^(SFA|SFI|SFM|SFT|Karing|HiddifyNext)/,
  render: (entries, options) => JSON.stringify(renderSingbox(entries, options), null, 2),
};
