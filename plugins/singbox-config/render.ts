// Base config + users + contributions → the config sing-box serves. Pure functions: no I/O here.
// What a base config may carry and the shadowsocks user keys are the contract's (contract.ts).
import { InvalidArgumentError } from '../../agent-core/sdk.js';
import { baseConfigProblem, isManaged, shadowsocksUserKey, takesUsers, type SyncUser, type UserProtocol } from './contract.js';

export type SingboxConfig = Record<string, unknown>;
type Json = Record<string, unknown>;

/** What each protocol puts in an inbound's `users` (contract, singbox.md §4). Shadowsocks is by method. */
const USER_FIELDS: Record<UserProtocol, (user: SyncUser) => Json> = {
  vless: (u) => ({ name: u.name, uuid: u.uuid.toLowerCase(), flow: u.flow ?? '' }),
  vmess: (u) => ({ name: u.name, uuid: u.uuid.toLowerCase(), alterId: 0 }),
  trojan: (u) => ({ name: u.name, password: u.password }),
  hysteria2: (u) => ({ name: u.name, password: u.password }),
  tuic: (u) => ({ name: u.name, uuid: u.uuid.toLowerCase(), password: u.password }),
  anytls: (u) => ({ name: u.name, password: u.password }),
};

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function inboundsOf(config: SingboxConfig): Json[] {
  return Array.isArray(config.inbounds) ? config.inbounds.filter(isObject) : [];
}

/**
 * Refuses a base config that carries what boxfleet manages, naming the path (the contract's rule,
 * as the plugin's error).
 */
export function checkBase(config: unknown): asserts config is SingboxConfig {
  const problem = baseConfigProblem(config);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
}

/** A served user's key on a shadowsocks inbound; checkBase let through only methods that take users. */
export function userKey(method: string, user: SyncUser): string {
  return shadowsocksUserKey(method, user)!;
}

/** Tags and methods of the managed shadowsocks inbounds (their users go through the SSM API). */
export function managedInbounds(config: SingboxConfig): { tag: string; method: string }[] {
  return inboundsOf(config)
    .filter(isManaged)
    .map((inbound) => ({ tag: String(inbound.tag), method: String(inbound.method ?? '') }));
}

/** Whether any inbound carries users in the config itself (so V2Ray stats need the names). */
export function hasConfigUserInbound(config: SingboxConfig): boolean {
  return inboundsOf(config).some((inbound) => takesUsers(inbound) && !isManaged(inbound));
}

export interface RenderInput {
  base: SingboxConfig;
  users: readonly SyncUser[];
  /** firewall.singbox-contribution route_rules; empty when firewall is absent. */
  routeRules: readonly unknown[];
  /** firewall.singbox-contribution rule_sets (route.rule_set entries its rules name); empty when absent. */
  ruleSets?: readonly unknown[];
  /** clash-stats.singbox-contribution experimental sections; undefined when clash-stats is absent. */
  experimental?: Json;
  /** The ssm-api service: its port and the secret path prefix of each managed inbound tag. */
  ssm: { port: number; prefixes: Readonly<Record<string, string>> };
}

const SNIFF = { action: 'sniff' };

function isBareSniff(rule: unknown): boolean {
  return isObject(rule) && Object.keys(rule).length === 1 && rule.action === 'sniff';
}

/** The served config. The base must have passed checkBase; every managed tag must have a prefix. */
export function render({ base, users, routeRules, ruleSets = [], experimental, ssm }: RenderInput): SingboxConfig {
  const config = structuredClone(base);
  if (Array.isArray(config.inbounds)) {
    config.inbounds = inboundsOf(config).map((inbound) => {
      if (!takesUsers(inbound) || isManaged(inbound)) return inbound;
      if (inbound.type === 'shadowsocks') {
        const method = String(inbound.method);
        return { ...inbound, users: users.map((u) => ({ name: u.name, password: userKey(method, u) })) };
      }
      if (inbound.type === 'vless' && 'flow' in inbound) {
        // The inbound's flow (checkBase allowed only xtls-rprx-vision) goes to every user there.
        const { flow, ...rest } = inbound;
        return { ...rest, users: users.map((u) => USER_FIELDS.vless({ ...u, flow: flow as SyncUser['flow'] })) };
      }
      return { ...inbound, users: users.map(USER_FIELDS[inbound.type as UserProtocol]) };
    });
  }

  // Sniffing first so protocol rules (BitTorrent) can match (pitfall 2); then firewall, then the admin's rules.
  const route = isObject(config.route) ? config.route : {};
  const ownRules = Array.isArray(route.rules) ? route.rules.filter((rule) => !isBareSniff(rule)) : [];
  config.route = { ...route, rules: [SNIFF, ...routeRules, ...ownRules] };
  if (ruleSets.length > 0) {
    const own = Array.isArray(route.rule_set) ? route.rule_set : [];
    const tags = new Set(own.map((entry) => (isObject(entry) ? entry.tag : undefined)));
    const taken = ruleSets.filter(isObject).find((entry) => tags.has(entry.tag));
    if (taken) {
      throw new InvalidArgumentError(`route.rule_set: the base config has a rule-set tagged ${JSON.stringify(taken.tag)}, which the firewall plugin uses; rename it`);
    }
    (config.route as Json).rule_set = [...own, ...ruleSets];
  }

  if (experimental && Object.keys(experimental).length > 0) {
    config.experimental = { ...(isObject(config.experimental) ? config.experimental : {}), ...experimental };
  }

  const managed = managedInbounds(config);
  if (managed.length > 0) {
    const servers: Record<string, string> = {};
    for (const { tag } of managed) {
      const prefix = ssm.prefixes[tag];
      if (!prefix) throw new Error(`no SSM path prefix for inbound ${tag}`);
      servers[prefix] = tag;
    }
    // No cache_path: managed users are re-sent after every start and reload instead (contract).
    const service = { type: 'ssm-api', listen: '127.0.0.1', listen_port: ssm.port, servers };
    config.services = [...(Array.isArray(config.services) ? config.services : []), service];
  }
  return config;
}

/**
 * The config without its inbounds' user lists: what the plugin keeps of a served config between
 * applies (listeners, APIs, managed inbounds). At 10,000 users the lists are most of it, and only
 * the file needs them.
 */
export function withoutUsers(config: SingboxConfig): SingboxConfig {
  if (!Array.isArray(config.inbounds)) return config;
  const inbounds = config.inbounds.map((inbound: unknown) => {
    if (!isObject(inbound) || !('users' in inbound)) return inbound;
    const { users: _users, ...rest } = inbound;
    return rest;
  });
  return { ...config, inbounds };
}

const REDACTED = '<redacted>';

/** The rendered config without user credentials, API secrets or SSM path prefixes. */
export function redact(config: SingboxConfig): SingboxConfig {
  const copy = structuredClone(config);
  for (const inbound of inboundsOf(copy)) {
    if (!takesUsers(inbound) || !Array.isArray(inbound.users)) continue;
    inbound.users = inbound.users.map((user: Json) => {
      const out: Json = { ...user };
      for (const key of ['uuid', 'password']) if (key in out) out[key] = REDACTED;
      return out;
    });
  }
  const clash = isObject(copy.experimental) ? copy.experimental.clash_api : undefined;
  if (isObject(clash) && typeof clash.secret === 'string' && clash.secret !== '') clash.secret = REDACTED;
  for (const service of Array.isArray(copy.services) ? copy.services : []) {
    if (isObject(service) && service.type === 'ssm-api' && isObject(service.servers)) {
      service.servers = Object.fromEntries(Object.values(service.servers).map((tag) => [`/${REDACTED}/${String(tag)}`, tag]));
    }
  }
  return copy;
}

export type Proto = 'tcp' | 'udp';

/** A socket the config makes sing-box listen on. */
export interface Listener {
  /** What opens it, for messages: `inbound "vless-in"`, `experimental.clash_api`... */
  owner: string;
  host: string;
  port: number;
  proto: Proto;
}

const UDP_ONLY = new Set(['hysteria', 'hysteria2', 'tuic']);
const TCP_AND_UDP = new Set(['shadowsocks', 'direct', 'tproxy']);
const NO_LISTENER = new Set(['tun']);

/** `127.0.0.1:9090`, `[::1]:9090`, `:9090` (all interfaces) → host and port. */
function parseHostPort(value: unknown): { host: string; port: number } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(value);
  if (!match) return undefined;
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '::' : host, port: Number(match[3]) };
}

/** Every TCP/UDP socket this config listens on: inbounds and the APIs. */
export function listeners(config: SingboxConfig): Listener[] {
  const out: Listener[] = [];
  inboundsOf(config).forEach((inbound, i) => {
    const port = inbound.listen_port;
    if (typeof port !== 'number' || port <= 0 || NO_LISTENER.has(String(inbound.type))) return;
    const owner = typeof inbound.tag === 'string' && inbound.tag ? `inbound "${inbound.tag}"` : `inbounds[${i}]`;
    // sing-box binds 127.0.0.1 when `listen` is omitted (singbox.md §4).
    const host = typeof inbound.listen === 'string' && inbound.listen ? inbound.listen : '127.0.0.1';
    const type = String(inbound.type);
    const network = inbound.network;
    const protos: Proto[] = UDP_ONLY.has(type)
      ? ['udp']
      : TCP_AND_UDP.has(type)
        ? network === 'tcp' || network === 'udp' ? [network] : ['tcp', 'udp']
        : ['tcp'];
    for (const proto of protos) out.push({ owner, host, port, proto });
  });
  const experimental = isObject(config.experimental) ? config.experimental : {};
  const clash = isObject(experimental.clash_api) ? parseHostPort(experimental.clash_api.external_controller) : undefined;
  if (clash) out.push({ owner: 'experimental.clash_api', ...clash, proto: 'tcp' });
  const v2ray = isObject(experimental.v2ray_api) ? parseHostPort(experimental.v2ray_api.listen) : undefined;
  if (v2ray) out.push({ owner: 'experimental.v2ray_api', ...v2ray, proto: 'tcp' });
  for (const service of Array.isArray(config.services) ? config.services : []) {
    if (isObject(service) && typeof service.listen_port === 'number') {
      const host = typeof service.listen === 'string' && service.listen ? service.listen : '127.0.0.1';
      out.push({ owner: `${String(service.type)} service`, host, port: service.listen_port, proto: 'tcp' });
    }
  }
  return out;
}

/** The Clash API address and secret of a rendered config, if it has one. */
export function clashApi(config: SingboxConfig): { host: string; port: number; secret: string } | undefined {
  const api = isObject(config.experimental) ? config.experimental.clash_api : undefined;
  if (!isObject(api)) return undefined;
  const address = parseHostPort(api.external_controller);
  return address && { ...address, secret: typeof api.secret === 'string' ? api.secret : '' };
}

/** The ssm-api service of a rendered config: its port and prefix → inbound tag. */
export function ssmService(config: SingboxConfig): { port: number; servers: Record<string, string> } | undefined {
  for (const service of Array.isArray(config.services) ? config.services : []) {
    if (isObject(service) && service.type === 'ssm-api' && typeof service.listen_port === 'number' && isObject(service.servers)) {
      return { port: service.listen_port, servers: service.servers as Record<string, string> };
    }
  }
  return undefined;
}
