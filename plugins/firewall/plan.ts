// Which layer enforces which rule: the hub's list and the node's own agent.yaml blocks become one
// list, then an nftables part (source addresses, the node's ports), a sing-box rule-set part
// (destinations) and the BitTorrent switch. Pure functions: no I/O here.
import { ipOrCidrFamily, type BlockedPort, type Rule } from './contract.js';

/** The node's own blocks from agent.yaml. */
export interface LocalConfig {
  blocked_ips: readonly string[];
  blocked_ports: readonly BlockedPort[];
  block_bittorrent: boolean;
}

/**
 * agent.yaml's blocks as rules with `local:` ids. `blocked_ips` stay what they always were, blocked
 * destinations (sing-box), and `blocked_ports` the node's own ports (nftables).
 */
export function localRules({ blocked_ips, blocked_ports, block_bittorrent }: LocalConfig): Rule[] {
  return [
    ...blocked_ips.map((value, i): Rule => ({ id: `local:blocked_ips.${i}`, kind: 'destination_ip', value, comment: 'agent.yaml' })),
    ...blocked_ports.map(({ port, protocol }, i): Rule => ({ id: `local:blocked_ports.${i}`, kind: 'port', port, protocol, comment: 'agent.yaml' })),
    ...(block_bittorrent ? [{ id: 'local:block_bittorrent', kind: 'bittorrent', comment: 'agent.yaml' } satisfies Rule] : []),
  ];
}

/** One element of an nftables set, and the rule it comes from (to name it when nft refuses it). */
export interface Element {
  value: string;
  rule: string;
}

export interface NftPlan {
  sourceV4: Element[];
  sourceV6: Element[];
  tcpPorts: Element[];
  udpPorts: Element[];
}

/** A headless rule of the rule-set file, and the rules it carries. */
export interface RuleSetEntry {
  rule: Record<string, unknown>;
  rules: string[];
}

export interface Plan {
  nft: NftPlan;
  /** How many rules each layer carries. */
  counts: { nft: number; ruleSet: number };
  ruleSet: RuleSetEntry[];
  bittorrent: boolean;
}

/** A rule whose protocol is unset applies to both. */
const protocols = (rule: Rule): ('tcp' | 'udp')[] => (rule.protocol ? [rule.protocol] : ['tcp', 'udp']);

/** The rules by layer. The list must have passed ruleListProblems. */
export function plan(rules: readonly Rule[]): Plan {
  const nft: NftPlan = { sourceV4: [], sourceV6: [], tcpPorts: [], udpPorts: [] };
  // One headless rule per kind (and port protocol): sing-box matches a list in one lookup, where
  // one headless rule per entry would be tried one after another on every connection.
  const groups = new Map<string, { base: Record<string, unknown>; field: string; values: (string | number)[]; rules: string[] }>();
  const counts = { nft: 0, ruleSet: 0 };
  const add = (key: string, base: Record<string, unknown>, field: string, value: string | number, id: string) => {
    const group = groups.get(key) ?? { base, field, values: [], rules: [] };
    groups.set(key, group);
    group.values.push(value);
    group.rules.push(id);
    counts.ruleSet += 1;
  };
  let bittorrent = false;
  for (const rule of rules) {
    switch (rule.kind) {
      case 'source_ip':
        (ipOrCidrFamily(rule.value!) === 4 ? nft.sourceV4 : nft.sourceV6).push({ value: rule.value!, rule: rule.id });
        counts.nft += 1;
        break;
      case 'port':
        for (const p of protocols(rule)) (p === 'tcp' ? nft.tcpPorts : nft.udpPorts).push({ value: String(rule.port), rule: rule.id });
        counts.nft += 1;
        break;
      case 'destination_ip':
        add('ip', {}, 'ip_cidr', rule.value!, rule.id);
        break;
      case 'destination_port':
        add(`port:${rule.protocol ?? 'any'}`, rule.protocol ? { network: [rule.protocol] } : {}, 'port', rule.port!, rule.id);
        break;
      case 'domain':
      case 'domain_suffix':
      case 'domain_keyword':
        // Names are case-insensitive; the file carries them in one case.
        add(rule.kind, {}, rule.kind, rule.value!.toLowerCase(), rule.id);
        break;
      case 'bittorrent':
        bittorrent = true;
        break;
    }
  }
  const ruleSet = [...groups.values()].map((g) => ({ rule: { ...g.base, [g.field]: g.values }, rules: g.rules }));
  return { nft, counts, ruleSet, bittorrent };
}
