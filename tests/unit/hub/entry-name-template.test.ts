// sub_entry_name_template: entry names arranged from {name}, {node}, {region}, {type} and {unlock}
// (the node's unlock marks), with separators an empty field would leave dangling dropped; no
// template keeps the usual names.
import { describe, expect, it } from 'vitest';
import { entryName, entryTemplates, type EntryNode } from '../../../hub/subscriptions/entries.js';

const node: EntryNode = { id: 'hk-1', name: 'HK-1', address: '203.0.113.10:50051', tags: ['hk'], multiplier: 2, unlock_marks: 'NF GPT' };
const bare = { ...node, unlock_marks: null };

describe('entry name template', () => {
  it('keeps the usual name without a template', () => {
    expect(entryName(node, ['hk'], 'vless')).toBe('HK-1 hk ×2 vless');
    expect(entryName(node, ['hk'], 'vless', '')).toBe('HK-1 hk ×2 vless');
  });

  it.each([
    ['{node} | {unlock}', node, 'HK-1 | NF GPT'],
    ['{node} | {unlock}', bare, 'HK-1'],
    ['{name} [{unlock}]', node, 'HK-1 hk ×2 vless [NF GPT]'],
    ['{unlock} · {node} · {type}', bare, 'HK-1 · vless'],
    ['{node} | {unlock} | {region} {type}', bare, 'HK-1 | hk vless'],
    ['{unlock}', bare, 'HK-1 hk ×2 vless'],
  ])('%s → %s', (template, n, expected) => {
    expect(entryName(n, ['hk'], 'vless', template)).toBe(expected);
  });

  it('still gives two inbounds of one node different names', () => {
    const config = { inbounds: [{ type: 'trojan', tag: 'a', listen_port: 443 }, { type: 'trojan', tag: 'b', listen_port: 8443 }] };
    const names = entryTemplates([{ node, config }], ['hk'], '{node} | {unlock}').map((t) => t.entry.name);
    expect(names).toEqual(['HK-1 | NF GPT', 'HK-1 | NF GPT b']);
  });
});
