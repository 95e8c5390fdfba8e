// The structural check of a Clash.Meta (mihomo) profile rendered from a template: what mihomo would
// refuse at load, or what would leave a rule pointing nowhere. Required keys of every proxy and
// group, names unique, every group member, rule target and rule set resolving. There is no mihomo
// on the hub to run, so this is the check (the sing-box profile gets the real sing-box check). Pure.
import type { Finding } from './templates-singbox.js';
import type { Json, Path } from './templates.js';

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** mihomo's own targets, usable in groups and rules without being declared. */
const BUILTIN = new Set(['DIRECT', 'REJECT', 'REJECT-DROP', 'PASS', 'COMPATIBLE']);
const GROUP_TYPES = new Set(['select', 'url-test', 'fallback', 'load-balance', 'relay']);
const INCLUDES = ['use', 'include-all', 'include-all-proxies', 'include-all-providers'];
/** mihomo's rule types (rules/parser.go); logic ones (AND, OR, NOT) take a parenthesised payload. */
const RULE_TYPES = new Set([
  'DOMAIN', 'DOMAIN-SUFFIX', 'DOMAIN-KEYWORD', 'DOMAIN-REGEX', 'DOMAIN-WILDCARD', 'GEOSITE', 'GEOIP', 'SRC-GEOIP', 'IP-ASN', 'SRC-IP-ASN',
  'IP-CIDR', 'IP-CIDR6', 'SRC-IP-CIDR', 'IP-SUFFIX', 'SRC-IP-SUFFIX', 'SRC-PORT', 'DST-PORT', 'IN-PORT', 'IN-USER', 'IN-NAME', 'IN-TYPE',
  'DSCP', 'PROCESS-NAME', 'PROCESS-PATH', 'PROCESS-NAME-REGEX', 'PROCESS-PATH-REGEX', 'PROCESS-NAME-WILDCARD', 'PROCESS-PATH-WILDCARD',
  'UID', 'NETWORK', 'RULE-SET', 'SUB-RULE', 'AND', 'OR', 'NOT', 'MATCH',
]);
const RULE_OPTIONS = new Set(['no-resolve', 'src']);
const PROVIDER_TYPES = new Set(['http', 'file', 'inline']);
const BEHAVIORS = new Set(['domain', 'ipcidr', 'classical']);

/** The first problem of the profile; undefined when it is sound. */
export function clashStructure(doc: Json): Finding | undefined {
  const at = (message: string, path: Path): Finding => ({ message, path });
  if (!Array.isArray(doc.proxies)) return at('must be a list', ['proxies']);
  const groups = doc['proxy-groups'] ?? [];
  if (!Array.isArray(groups)) return at('must be a list', ['proxy-groups']);
  const names = new Set<string>();
  const name = (item: Json, path: Path): Finding | undefined => {
    const n = item.name;
    if (typeof n !== 'string' || n === '') return at('needs a name', [...path, 'name']);
    if (names.has(n) || BUILTIN.has(n)) return at(`the name ${JSON.stringify(n)} is taken${BUILTIN.has(n) ? ' by mihomo itself' : ''}`, [...path, 'name']);
    names.add(n);
    return undefined;
  };
  for (const [i, proxy] of doc.proxies.entries()) {
    const path: Path = ['proxies', i];
    if (!isObject(proxy)) return at('must be a mapping', path);
    const found = name(proxy, path);
    if (found) return found;
    for (const key of ['type', 'server'] as const) if (typeof proxy[key] !== 'string' || proxy[key] === '') return at(`needs ${key}`, [...path, key]);
    if (!Number.isInteger(proxy.port) || (proxy.port as number) < 1 || (proxy.port as number) > 65535) return at('needs a port (1-65535)', [...path, 'port']);
  }
  for (const [i, group] of groups.entries()) {
    if (!isObject(group)) return at('must be a mapping', ['proxy-groups', i]);
    const found = name(group, ['proxy-groups', i]);
    if (found) return found;
    if (!GROUP_TYPES.has(String(group.type))) return at(`type must be one of ${[...GROUP_TYPES].join(', ')}`, ['proxy-groups', i, 'type']);
  }
  const providers = isObject(doc['proxy-providers']) ? doc['proxy-providers'] : {};
  for (const [i, group] of (groups as Json[]).entries()) {
    const path: Path = ['proxy-groups', i];
    const members = group.proxies ?? [];
    if (!Array.isArray(members)) return at('must be a list', [...path, 'proxies']);
    if (members.length === 0 && !INCLUDES.some((k) => group[k])) return at('a group needs proxies (or use / include-all)', [...path, 'proxies']);
    for (const [j, member] of members.entries()) {
      if (typeof member !== 'string' || !(names.has(member) || BUILTIN.has(member))) return at(`${JSON.stringify(member)} is not a proxy or group`, [...path, 'proxies', j]);
      if (member === group.name) return at('a group cannot hold itself', [...path, 'proxies', j]);
    }
    for (const [j, provider] of (Array.isArray(group.use) ? group.use : []).entries()) {
      if (typeof provider !== 'string' || !(provider in providers)) return at(`${JSON.stringify(provider)} is not in proxy-providers`, [...path, 'use', j]);
    }
  }
  const ruleProviders = doc['rule-providers'] ?? {};
  if (!isObject(ruleProviders)) return at('must be a mapping', ['rule-providers']);
  for (const [key, provider] of Object.entries(ruleProviders)) {
    const path: Path = ['rule-providers', key];
    if (!isObject(provider)) return at('must be a mapping', path);
    if (!PROVIDER_TYPES.has(String(provider.type))) return at(`type must be one of ${[...PROVIDER_TYPES].join(', ')}`, [...path, 'type']);
    if (!BEHAVIORS.has(String(provider.behavior))) return at(`behavior must be one of ${[...BEHAVIORS].join(', ')}`, [...path, 'behavior']);
    if (provider.type === 'http' && typeof provider.url !== 'string') return at('an http rule provider needs a url', [...path, 'url']);
    if (provider.type === 'file' && typeof provider.path !== 'string') return at('a file rule provider needs a path', [...path, 'path']);
  }
  const subRules = isObject(doc['sub-rules']) ? doc['sub-rules'] : {};
  const rules = doc.rules ?? [];
  if (!Array.isArray(rules)) return at('must be a list', ['rules']);
  for (const [i, rule] of rules.entries()) {
    const found = ruleProblem(rule, names, ruleProviders, subRules);
    if (found) return at(found, ['rules', i]);
  }
  const dns = doc.dns;
  if (dns !== undefined && !isObject(dns)) return at('must be a mapping', ['dns']);
  for (const key of ['nameserver', 'fallback', 'default-nameserver', 'proxy-server-nameserver']) {
    const servers = isObject(dns) ? dns[key] : undefined;
    if (servers !== undefined && !(Array.isArray(servers) && servers.every((s) => typeof s === 'string'))) return at('must be a list of servers', ['dns', key]);
  }
  return undefined;
}

/** What is wrong with one rule line, if anything. */
function ruleProblem(rule: unknown, names: Set<string>, ruleProviders: Json, subRules: Json): string | undefined {
  if (typeof rule !== 'string') return 'a rule is one line of text, e.g. DOMAIN-SUFFIX,example.com,DIRECT';
  const type = rule.slice(0, rule.indexOf(',') >>> 0).trim().toUpperCase();
  if (!RULE_TYPES.has(type)) return `unknown rule type ${JSON.stringify(type)}`;
  // A logic rule's payload is parenthesised and has commas of its own: the target follows its last ')'.
  const rest = type === 'AND' || type === 'OR' || type === 'NOT' ? rule.slice(rule.lastIndexOf(')') + 1).replace(/^,/, '') : rule.slice(type.length + 1);
  const fields = rest.split(',').map((f) => f.trim());
  while (fields.length > 1 && RULE_OPTIONS.has(fields.at(-1)!)) fields.pop();
  const needed = type === 'MATCH' || ['AND', 'OR', 'NOT'].includes(type) ? 1 : 2;
  if (fields.length < needed || fields.some((f) => f === '')) return `${JSON.stringify(rule)} needs ${needed === 1 ? 'a target' : 'a payload and a target'}`;
  const target = fields.at(-1)!;
  if (type === 'SUB-RULE') return target in subRules ? undefined : `${JSON.stringify(target)} is not in sub-rules`;
  if (type === 'RULE-SET' && !(fields[0]! in ruleProviders)) return `${JSON.stringify(fields[0])} is not in rule-providers`;
  if (!(names.has(target) || BUILTIN.has(target))) return `the target ${JSON.stringify(target)} is not a proxy or group`;
  return undefined;
}
