// What a client needs to reach one inbound of one node as one user: the format-neutral entry every
// renderer (sing-box, Clash.Meta, share links) starts from. Pure functions: no I/O here.
//
// The entry mirrors how singbox-config injects users: the same credential per protocol, and for
// shadowsocks the user key from singbox-config's contract, with the client password
// "<server PSK>:<user key>" for shadowsocks-2022.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { shadowsocksUserKey, ss2022KeyBytes } from '../../plugins/singbox-config/contract.js';
import { realityPublicKey } from '../reality.js';

export type EntryType = 'vless' | 'vmess' | 'trojan' | 'shadowsocks' | 'hysteria2' | 'tuic' | 'anytls';

export interface EntryTls {
  server_name: string;
  alpn?: string[];
  /** The server's self-signed certificate (PEM), when the base config carries it inline: clients pin it. */
  certificate?: string;
  /** SHA-256 of that certificate's DER, hex (mihomo `fingerprint`, hysteria2 `pinSHA256`). */
  certificate_sha256?: string;
  reality?: { public_key: string; short_id: string };
}

export interface EntryTransport {
  type: 'ws' | 'grpc' | 'httpupgrade' | 'http';
  path?: string;
  host?: string;
  service_name?: string;
}

export interface Entry {
  /** Unique within one subscription: the display name and the outbound tag. */
  name: string;
  type: EntryType;
  server: string;
  port: number;
  uuid?: string;
  password?: string;
  /** shadowsocks cipher. */
  method?: string;
  flow?: string;
  tls?: EntryTls;
  transport?: EntryTransport;
  obfs?: { type: 'salamander'; password: string };
  congestion_control?: string;
  /** A stand-in that reaches nothing (suspended or expired user): renderers keep it out of url-test groups. */
  placeholder?: boolean;
}

/** Where clients reach one inbound of a node instead of the node's public host and the inbound's listen port. */
export interface InboundOverride {
  host?: string;
  port?: number;
}

export interface EntryNode {
  id: string;
  name: string;
  /** The agent's gRPC address. */
  address: string;
  /** The host clients dial; empty: the host of `address`. */
  public_host?: string | null;
  /** By inbound tag. */
  inbound_overrides?: Record<string, InboundOverride> | null;
  tags: string[];
  multiplier: number;
  /** Marks of the services the node unlocks, e.g. "NF GPT" (hub/probes.ts). */
  unlock_marks?: string | null;
}

/** Where a client connects to for one inbound. */
export interface Dial {
  host: string;
  port: number;
}

export interface EntryUser {
  uuid: string;
  password: string;
  ss_key: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const TYPES = new Set<string>(['vless', 'vmess', 'trojan', 'shadowsocks', 'hysteria2', 'tuic', 'anytls']);

/** The host part of an agent address (`host:port`, `[v6]:port`, or a bare host). */
export function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1]!;
  const colons = address.split(':').length - 1;
  if (colons === 1) return address.slice(0, address.lastIndexOf(':'));
  return address; // a bare host, or a bare IPv6 address
}

/**
 * Per key or certificate, not per entry: a profile repeats the same few of them once per node and
 * user, and hashing or deriving each again was nearly half the time spent building entries.
 */
function memoized(derive: (input: string) => string): (input: string) => string {
  const cache = new LRUCache<string, string>({ max: 1024 });
  return (input) => {
    let output = cache.get(input);
    if (output === undefined) cache.set(input, (output = derive(input)));
    return output;
  };
}

const realityPublicKeyOf = memoized(realityPublicKey);

function pemOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value.includes('BEGIN CERTIFICATE')) return value;
  if (Array.isArray(value) && value.every((l) => typeof l === 'string')) return pemOf(value.join('\n'));
  return undefined;
}

const certificateSha256 = memoized((pem) => {
  const body = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem)?.[1] ?? '';
  return createHash('sha256').update(Buffer.from(body.replace(/\s+/g, ''), 'base64')).digest('hex');
});

/**
 * The client side of an inbound's `tls` block. An inline certificate is taken as self-signed and
 * pinned; a certificate_path or ACME certificate is taken as publicly trusted (the hub cannot read
 * the node's files).
 *
 * The SNI is the inbound's own server_name when it sets one: its certificate (or REALITY target)
 * is for that name whichever host clients dial. Else it is the host clients dial, so a CDN domain
 * given as an inbound's override host is also its SNI, as the CDN expects.
 */
function clientTls(tls: unknown, host: string): EntryTls | undefined {
  if (!isObject(tls) || tls.enabled !== true) return undefined;
  const out: EntryTls = { server_name: str(tls.server_name) ?? host };
  if (Array.isArray(tls.alpn) && tls.alpn.length > 0) out.alpn = tls.alpn.map(String);
  const reality = tls.reality;
  if (isObject(reality) && reality.enabled === true && typeof reality.private_key === 'string') {
    const ids = Array.isArray(reality.short_id) ? reality.short_id.map(String) : [];
    out.reality = { public_key: realityPublicKeyOf(reality.private_key), short_id: ids[0] ?? '' };
    return out;
  }
  const pem = pemOf(tls.certificate);
  if (pem) {
    out.certificate = pem;
    out.certificate_sha256 = certificateSha256(pem);
  }
  return out;
}

function transportOf(value: unknown): EntryTransport | undefined {
  if (!isObject(value)) return undefined;
  const type = String(value.type);
  if (type === 'ws' || type === 'httpupgrade') {
    const headers = isObject(value.headers) ? value.headers : {};
    return { type, path: str(value.path) ?? '/', host: str(value.host) ?? str(headers.Host) ?? str(headers.host) };
  }
  if (type === 'grpc') return { type, service_name: str(value.service_name) ?? '' };
  if (type === 'http') return { type, path: str(value.path) ?? '/', host: Array.isArray(value.host) ? str(value.host[0]) : undefined };
  return undefined;
}

/** The user's key on a shadowsocks inbound with this method; undefined when the method takes no users. */
export function shadowsocksPassword(inbound: Json, user: EntryUser): string | undefined {
  const method = String(inbound.method ?? '');
  const userKey = shadowsocksUserKey(method, user);
  return userKey !== undefined && ss2022KeyBytes(method) !== undefined ? `${String(inbound.password ?? '')}:${userKey}` : userKey;
}

/**
 * Where clients reach an inbound: its override, else the node's public host, else the host of the
 * agent's address; the override's port, else the inbound's listen port.
 */
function dialOf(node: EntryNode, inbound: Json): Dial | undefined {
  const port = inbound.listen_port;
  if (typeof port !== 'number' || port <= 0) return undefined;
  const override = typeof inbound.tag === 'string' ? node.inbound_overrides?.[inbound.tag] : undefined;
  return { host: override?.host || node.public_host || hostOf(node.address), port: override?.port ?? port };
}

/** The user's part of an entry: uuid and/or password. */
type Credentials = Pick<Entry, 'uuid' | 'password'>;

/** Everything but the name and the user's credentials, for one inbound that takes users; undefined for any other. */
function entryBase(inbound: Json, dial: Dial): Omit<Entry, 'name'> | undefined {
  const type = String(inbound.type);
  if (!TYPES.has(type)) return undefined;
  const base = { type: type as EntryType, server: dial.host, port: dial.port, tls: clientTls(inbound.tls, dial.host), transport: transportOf(inbound.transport) };
  switch (type) {
    case 'hysteria2': {
      const obfs = isObject(inbound.obfs) && inbound.obfs.type === 'salamander' ? { type: 'salamander' as const, password: String(inbound.obfs.password ?? '') } : undefined;
      return { ...base, obfs };
    }
    case 'vless':
      // The flow is the inbound's (singbox-config gives it to every user there): clients must send the same.
      return { ...base, flow: str(inbound.flow) ?? '' };
    case 'tuic':
      return { ...base, congestion_control: str(inbound.congestion_control) ?? 'cubic' };
    case 'shadowsocks': {
      if (Array.isArray(inbound.destinations)) return undefined; // relay mode has no users
      // A method that takes no users gives no key to any user.
      if (shadowsocksUserKey(String(inbound.method ?? ''), { password: '', ss_key: '' }) === undefined) return undefined;
      return { ...base, tls: undefined, transport: undefined, method: String(inbound.method) };
    }
  }
  return base;
}

function credentialsOf(type: EntryType, inbound: Json, user: EntryUser): Credentials {
  switch (type) {
    case 'vless':
    case 'vmess':
      return { uuid: user.uuid.toLowerCase() };
    case 'tuic':
      return { uuid: user.uuid.toLowerCase(), password: user.password };
    case 'shadowsocks':
      return { password: shadowsocksPassword(inbound, user) };
    default:
      return { password: user.password };
  }
}

/**
 * "<node name> <region tag> ×<multiplier> <inbound type>": the region is the first node tag the
 * plan reaches (left out when it is the node's name), the multiplier only when it is not 1.
 * A template (sub_entry_name_template, or a profile template's name pattern) arranges {name} (that),
 * {node}, {region}, {type}, {unlock} and {multiplier} ("×2", empty at 1) instead; separators left dangling by an empty field are dropped ("{node} | {unlock}" → "HK-1").
 */
export function entryName(node: EntryNode, planTags: readonly string[], type: string, template = ''): string {
  const region = node.tags.find((t) => planTags.includes(t)) ?? node.tags[0];
  const parts = [node.name];
  if (region && region.toLowerCase() !== node.name.toLowerCase()) parts.push(region);
  const multiplier = Number(node.multiplier) !== 1 ? `×${Number(node.multiplier)}` : '';
  if (multiplier) parts.push(multiplier);
  parts.push(type);
  const name = parts.join(' ');
  if (template === '') return name;
  const fields: Record<string, string> = { name, node: node.name, region: region ?? '', type, unlock: node.unlock_marks ?? '', multiplier };
  const words: string[] = [];
  for (const word of template.replace(/\{(name|node|region|type|unlock|multiplier)\}/g, (_, key: string) => fields[key]!).split(/\s+/)) {
    if (word === '') continue;
    // A separator only between two words: not first, not after another, not last (popped below).
    if (SEPARATOR.test(word) && (words.length === 0 || SEPARATOR.test(words.at(-1)!))) continue;
    words.push(word);
  }
  while (words.length > 0 && SEPARATOR.test(words.at(-1)!)) words.pop();
  return words.join(' ') || name;
}

/** A word of a name template that only separates others: `|`, `-`, `/`, `·`, `,`. */
const SEPARATOR = /^[|,/·-]+$/;

/** One entry of a plan's profile without the user's credentials: every user of the plan shares it. */
export interface EntryTemplate {
  entry: Entry;
  inbound: Json;
}

/** One template per user-taking inbound of each node's base config, with unique names, in node order. */
export function entryTemplates(nodes: readonly { node: EntryNode; config: Json }[], planTags: readonly string[], nameTemplate = ''): EntryTemplate[] {
  const templates: EntryTemplate[] = [];
  const taken = new Set<string>();
  for (const { node, config } of nodes) {
    const inbounds = Array.isArray(config.inbounds) ? config.inbounds.filter(isObject) : [];
    for (const inbound of inbounds) {
      const dial = dialOf(node, inbound);
      const base = dial && entryBase(inbound, dial);
      if (!base) continue;
      let name = entryName(node, planTags, base.type, nameTemplate);
      // Two inbounds of one type on one node: tell them apart by tag, else by number.
      if (taken.has(name) && typeof inbound.tag === 'string') name = `${name} ${inbound.tag}`;
      for (let i = 2; taken.has(name); i++) name = `${entryName(node, planTags, base.type, nameTemplate)} ${i}`;
      taken.add(name);
      templates.push({ entry: { name, ...base }, inbound });
    }
  }
  return templates;
}

/** A user's entries: the templates with the user's credentials. */
export const entriesFor = (templates: readonly EntryTemplate[], user: EntryUser): Entry[] =>
  templates.map(({ entry, inbound }) => ({ ...entry, ...credentialsOf(entry.type, inbound, user) }));

/** One entry per user-taking inbound of each node's base config, with unique names, in node order. */
export function buildEntries(nodes: readonly { node: EntryNode; config: Json }[], planTags: readonly string[], user: EntryUser): Entry[] {
  return entriesFor(entryTemplates(nodes, planTags), user);
}

/**
 * What a suspended or expired user gets instead of nodes: one entry that reaches nothing (a closed
 * loopback port, with a throwaway key) and whose name says why. Clients show it in their node
 * list, so the user reads the reason where they would pick a node; no real credential or node
 * address is given out.
 */
export function placeholderEntry(reason: string): Entry {
  return {
    name: reason,
    type: 'shadowsocks',
    server: '127.0.0.1',
    port: 1,
    method: 'chacha20-ietf-poly1305',
    password: 'boxfleet-unavailable',
    placeholder: true,
  };
}
