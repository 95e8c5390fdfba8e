// Which nodes the hub may push firewall rules to, read from what their agents described, and the
// desired list of a node by its tags.
import { describe, expect, it } from 'vitest';
import { configHash } from '../../../agent-core/common/config-hash.js';
import type { AgentDescription, PluginDescription } from '../../../agent-core/common/description.js';
import type { FirewallRuleSet } from '../../../hub/db/models.js';
import { FirewallPlan, firewallSupport } from '../../../hub/firewall.js';

const plugin = (state: string, commands: string[]): PluginDescription => ({
  id: 'firewall',
  version: '1.0.0',
  state,
  healthy: state === 'running',
  message: '',
  commands: commands.map((name) => ({ name, description: '', input: {}, output: {}, mutates: false, role: 'viewer', timeoutMs: 5000 })),
  events: [],
});
const agent = (...plugins: PluginDescription[]): AgentDescription => ({ agentVersion: '1.0.0', nodeId: 'n', plugins });

describe('firewall support from a node description', () => {
  it('is ready with rules.sync, and names why not otherwise', () => {
    expect(firewallSupport(agent(plugin('running', ['firewall.list', 'firewall.rules.sync'])))).toBe('ready');
    // A plugin that failed to start still gets the push; its refusal is recorded as the node's error.
    expect(firewallSupport(agent(plugin('failed', ['firewall.rules.sync'])))).toBe('ready');
    expect(firewallSupport(agent(plugin('running', ['firewall.list'])))).toBe('outdated');
    expect(firewallSupport(agent(plugin('disabled', [])))).toBe('disabled');
    expect(firewallSupport(agent({ ...plugin('running', ['hello.greet']), id: 'hello' }))).toBe('missing');
    expect(firewallSupport(null)).toBe('unknown');
  });
});

describe('a node\'s desired firewall list', () => {
  const set = (id: number, tags: string[], ruleIds: string[]) =>
    ({ id, tags, rules: ruleIds.map((r) => ({ id: r, kind: 'bittorrent' as const })) }) as unknown as FirewallRuleSet;

  it('takes the sets its tags reach in set order, ids prefixed by set, and names it by the hash of the list', () => {
    const plan = new FirewallPlan([set(7, ['hk'], ['b']), set(2, [], ['a']), set(9, ['us'], ['c'])]);
    const hk = plan.forNode(['hk', 'edge']);
    expect(hk.rules.map((r) => r.id)).toEqual(['2.a', '7.b']);
    expect(hk).toMatchObject({ sets: [2, 7], revision: configHash(hk.rules) });
    expect(plan.forNode([]).rules.map((r) => r.id)).toEqual(['2.a']);
    // Nodes reached by the same sets share one list.
    expect(plan.forNode(['edge', 'hk'])).toBe(hk);
    expect(new FirewallPlan([]).forNode(['hk'])).toEqual({ revision: configHash([]), rules: [], sets: [] });
  });
});
