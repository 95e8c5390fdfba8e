// The fleet's firewall: rule sets per node tag, and per node the revision it should enforce
// against the one its firewall plugin confirmed. The rules are the firewall plugin's (contract.ts).
import type { Rule } from '../../../plugins/firewall/contract.js';
import { request } from './http.js';

export type { Rule, RuleKind } from '../../../plugins/firewall/contract.js';

export interface RuleSet {
  id: number;
  name: string;
  /** The set reaches the nodes carrying any of these; none: every node. */
  tags: string[];
  rules: Rule[];
  comment: string;
  created_by: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
}

export type NewRuleSet = Pick<RuleSet, 'name' | 'tags' | 'rules' | 'comment'>;

/** Whether a node takes the hub's rules: only `ready` nodes are pushed to. */
export type FirewallSupport = 'ready' | 'missing' | 'disabled' | 'outdated' | 'unknown';

export interface NodeFirewall {
  node_id: string;
  name: string;
  tags: string[];
  enabled: boolean;
  firewall: FirewallSupport;
  desired_revision: string;
  rules: number;
  sets: number[];
  confirmed_revision: string | null;
  synced_at: string | null;
  in_sync: boolean;
  warnings: string[];
  last_error: { message: string; revision: string | null; at: string } | null;
}

export const listRuleSets = () => request<{ items: RuleSet[] }>('GET', '/api/v1/firewall/rule-sets').then((r) => r.items);

export const createRuleSet = (body: NewRuleSet) => request<RuleSet>('POST', '/api/v1/firewall/rule-sets', body);

/** Replaces the whole set: what the body leaves out is gone. */
export const replaceRuleSet = (id: number, body: NewRuleSet) => request<RuleSet>('PUT', `/api/v1/firewall/rule-sets/${id}`, body);

export const deleteRuleSet = (id: number) => request<void>('DELETE', `/api/v1/firewall/rule-sets/${id}`);

export const listNodeFirewalls = () => request<{ items: NodeFirewall[] }>('GET', '/api/v1/firewall/nodes').then((r) => r.items);
