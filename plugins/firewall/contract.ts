// firewall's commands as the hub and the dashboard see them: the TypeBox schemas of every command's
// input and output, their types, and the one check of a rule list both sides run. Dependency-free
// (TypeBox only), so the hub and the dashboard can import it without the plugin; index.ts declares
// the commands with these.
import { type Static, Type } from '@sinclair/typebox';

/** The most rules one sync may carry; nftables and sing-box take far more, this bounds the input. */
export const MAX_RULES = 10_000;

// An enum rather than a union of literals, so a wrong value reads "must be one of tcp, udp".
const Protocol = Type.Unsafe<'tcp' | 'udp'>({ type: 'string', enum: ['tcp', 'udp'] });

export const BlockedPort = Type.Object({
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  protocol: Protocol,
});
export type BlockedPort = Static<typeof BlockedPort>;

/**
 * What a rule blocks, and where it is enforced:
 * - `source_ip`: connections from this address/CIDR to the node (nftables, input).
 * - `port`: the node's own port (nftables, input).
 * - `destination_ip`, `destination_port`, `domain`, `domain_suffix`, `domain_keyword`: where users'
 *   traffic goes through the proxy (the sing-box rule-set file; no reload).
 * - `bittorrent`: BitTorrent through the proxy (a sniffed protocol, so a route rule; a checked reload).
 */
export const RULE_KINDS = [
  'source_ip',
  'port',
  'destination_ip',
  'destination_port',
  'domain',
  'domain_suffix',
  'domain_keyword',
  'bittorrent',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export const Rule = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$', description: 'Unique within one rule list; named in every error about the rule.' }),
    kind: Type.Unsafe<RuleKind>({ type: 'string', enum: [...RULE_KINDS] }),
    value: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'source_ip/destination_ip: an IP address or CIDR; domain*: a domain name or keyword.' })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'port/destination_port.' })),
    protocol: Type.Optional(Protocol),
    comment: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type Rule = Static<typeof Rule>;

export const RuleList = Type.Array(Rule, { maxItems: MAX_RULES });

const isIpv4 = (text: string): boolean => {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
};

const isIpv6 = (text: string): boolean => {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0] ?? '');
  const tail = groups(halves[1] ?? '');
  const all = [...head, ...tail];
  const last = all.at(-1);
  // An embedded IPv4 tail (::ffff:192.0.2.1) counts as two groups.
  const v4Tail = last !== undefined && last.includes('.');
  if (v4Tail && !isIpv4(last)) return false;
  const hex = v4Tail ? all.slice(0, -1) : all;
  if (!hex.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  const count = hex.length + (v4Tail ? 2 : 0);
  return halves.length === 2 ? count < 8 : count === 8;
};

/** 4 or 6 for an IP address, with an optional /prefix that fits its family; 0 otherwise. */
export function ipOrCidrFamily(value: string): 0 | 4 | 6 {
  const [address = '', prefix, ...rest] = value.split('/');
  if (rest.length > 0) return 0;
  const family = isIpv4(address) ? 4 : isIpv6(address) ? 6 : 0;
  if (family === 0 || prefix === undefined) return family;
  // No leading zeros: nft reads "/024" as octal (a /20), sing-box refuses it.
  return /^(0|[1-9]\d{0,2})$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128) ? family : 0;
}

const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$/;
const KEYWORD = /^[A-Za-z0-9_.-]{1,253}$/;

/** What is wrong with one rule that the schema cannot say, or undefined. */
function ruleProblem(rule: Rule): string | undefined {
  const needs = (field: 'value' | 'port') => (rule[field] === undefined ? `a ${rule.kind} rule needs ${field}` : undefined);
  const forbids = (...fields: ('value' | 'port' | 'protocol')[]) => {
    const extra = fields.find((f) => rule[f] !== undefined);
    return extra ? `a ${rule.kind} rule takes no ${extra}` : undefined;
  };
  switch (rule.kind) {
    case 'source_ip':
    case 'destination_ip':
      return needs('value') ?? forbids('port', 'protocol') ?? (ipOrCidrFamily(rule.value!) === 0 ? `${JSON.stringify(rule.value)} is not an IP address or CIDR` : undefined);
    case 'port':
    case 'destination_port':
      return needs('port') ?? forbids('value');
    case 'domain':
    case 'domain_suffix': {
      // sing-box reads a suffix with a leading dot as "subdomains only".
      const name = rule.kind === 'domain_suffix' ? rule.value?.replace(/^\./, '') : rule.value;
      return needs('value') ?? forbids('port', 'protocol') ?? (DOMAIN.test(name!) ? undefined : `${JSON.stringify(rule.value)} is not a domain name`);
    }
    case 'domain_keyword':
      return needs('value') ?? forbids('port', 'protocol') ?? (KEYWORD.test(rule.value!) ? undefined : `${JSON.stringify(rule.value)} is not a keyword (letters, digits, '.', '-', '_')`);
    case 'bittorrent':
      return forbids('value', 'port', 'protocol');
  }
}

/**
 * Every problem of a schema-valid rule list, each naming its rule: `rule "ban-1": "10.0.0.0/33" is
 * not an IP address or CIDR`, `rule "x" appears twice`. Empty when the list can be applied. The hub
 * runs it before storing rules and the node before applying them, so both refuse the same lists.
 */
export function ruleListProblems(rules: readonly Rule[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.id)) problems.push(`rule ${JSON.stringify(rule.id)} appears twice`);
    seen.add(rule.id);
    const problem = ruleProblem(rule);
    if (problem) problems.push(`rule ${JSON.stringify(rule.id)}: ${problem}`);
  }
  return problems;
}

export const RulesSyncInput = Type.Object(
  {
    revision: Type.String({ minLength: 1, maxLength: 64, description: "The hub's name for this rule list (a content hash); the node's current one makes the sync a no-op." }),
    rules: RuleList,
  },
  { additionalProperties: false },
);
export type RulesSyncInput = Static<typeof RulesSyncInput>;

/** How one layer took a sync: applied, nothing of this kind to do, or not possible here (why in status). */
export const LayerOutcome = Type.Unsafe<'applied' | 'empty' | 'unavailable'>({ type: 'string', enum: ['applied', 'empty', 'unavailable'] });
export type LayerOutcome = Static<typeof LayerOutcome>;

export const RulesSyncOutput = Type.Object({
  revision: Type.String(),
  /** false: the node already had this revision and did nothing. */
  changed: Type.Boolean(),
  nftables: LayerOutcome,
  rule_set: LayerOutcome,
  /** Whether sing-box was reloaded (only when the BitTorrent block was switched on or off). */
  singbox_reloaded: Type.Boolean(),
  /** Why a layer is unavailable, e.g. "nft not found on PATH; source-IP and port blocks are not enforced". */
  warnings: Type.Array(Type.String()),
});
export type RulesSyncOutput = Static<typeof RulesSyncOutput>;

export const RulesListInput = Type.Object({}, { additionalProperties: false });
export const RulesListOutput = Type.Object({
  /** null until the first sync. */
  revision: Type.Union([Type.String(), Type.Null()]),
  synced_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /** The hub's rules, then the node's own from agent.yaml (ids `local:…`). */
  rules: RuleList,
});
export type RulesListOutput = Static<typeof RulesListOutput>;

export const NftablesState = Type.Object({
  available: Type.Boolean(),
  table_present: Type.Boolean(),
  /** Rules in the table (source_ip and port rules). */
  rules: Type.Integer({ minimum: 0 }),
  message: Type.String(),
});
export type NftablesState = Static<typeof NftablesState>;

export const StatusInput = Type.Object({}, { additionalProperties: false });
export const StatusOutput = Type.Object({
  revision: Type.Union([Type.String(), Type.Null()]),
  table: Type.String(),
  nftables: NftablesState,
  rule_set: Type.Object({
    path: Type.String(),
    /** Rules in the file (destination and domain rules). */
    rules: Type.Integer({ minimum: 0 }),
    /** Whether sing-box has read the current file; null when it is not running. */
    loaded: Type.Union([Type.Boolean(), Type.Null()]),
    message: Type.String(),
  }),
  bittorrent_blocked: Type.Boolean(),
  /** The last sync the node refused or could not apply; null after a good one. */
  last_error: Type.Union([Type.Object({ at: Type.String({ format: 'date-time' }), revision: Type.String(), message: Type.String() }), Type.Null()]),
});
export type StatusOutput = Static<typeof StatusOutput>;

export const SingboxContributionInput = Type.Object({});
export const SingboxContributionOutput = Type.Object({
  route_rules: Type.Array(Type.Unsafe<Record<string, unknown>>({ type: 'object' }), {
    description: 'sing-box route rules; singbox-config puts them after {"action":"sniff"} and before the base config\'s rules.',
  }),
  rule_sets: Type.Optional(
    Type.Array(Type.Unsafe<Record<string, unknown>>({ type: 'object' }), {
      description: 'sing-box route.rule_set entries the route rules reference (local files sing-box watches); singbox-config adds them to route.rule_set.',
    }),
  ),
});
export type SingboxContributionOutput = Static<typeof SingboxContributionOutput>;
