// Profile templates: the default of each format renders today's body byte for byte (compared with
// bodies captured from the renderers before templates existed), what a template changes shows in
// the profile, and a template is refused, with its line, for what would break every client.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Entry } from '../../../hub/subscriptions/entries.js';
import { clash, CLASH_SHAPE, DEFAULT_CLASH_TEMPLATE } from '../../../hub/subscriptions/formats/clash.js';
import { DEFAULT_SINGBOX_TEMPLATE, singbox, SINGBOX_SHAPE } from '../../../hub/subscriptions/formats/singbox.js';
import type { RenderOptions } from '../../../hub/subscriptions/subscription-format.js';
import { parseTemplate, TemplateProblem } from '../../../hub/subscriptions/templates.js';
import { RENDER_OPTIONS } from './subscription.helpers.js';

interface Captured {
  captured_at_commit: string;
  cases: { name: string; entries: Entry[]; options: RenderOptions; singbox: string; clash: string }[];
}
const captured = JSON.parse(readFileSync(new URL('../../fixtures/profile-templates/before-templates.json', import.meta.url), 'utf8')) as Captured;

describe('default profile templates', () => {
  it.each(captured.cases.map((c) => [c.name, c] as const))('render the body the renderers gave before templates: %s', (_, c) => {
    expect(singbox.render(c.entries, c.options)).toBe(c.singbox);
    expect(clash.render(c.entries, c.options)).toBe(c.clash);
    // The same through the default template's text, as the editor shows it.
    expect(singbox.render(c.entries, { ...c.options, template: parseTemplate(SINGBOX_SHAPE, DEFAULT_SINGBOX_TEMPLATE, '') })).toBe(c.singbox);
    expect(clash.render(c.entries, { ...c.options, template: parseTemplate(CLASH_SHAPE, DEFAULT_CLASH_TEMPLATE, '') })).toBe(c.clash);
  });
});

const entries = captured.cases[0]!.entries;

describe('a profile template', () => {
  it('adds what it sets (a DNS rule, a rule set, a group) around the entries', () => {
    const doc = JSON.parse(DEFAULT_SINGBOX_TEMPLATE);
    doc.dns.rules = [{ domain_suffix: ['corp.example'], server: 'local' }];
    doc.route.rule_set = [{ type: 'remote', tag: 'ads', format: 'binary', url: 'https://rules.example/ads.srs', download_detour: 'proxy' }];
    doc.route.rules.push({ rule_set: 'ads', action: 'reject' });
    doc.outbounds[1].interval = '10m';
    const template = parseTemplate(SINGBOX_SHAPE, JSON.stringify(doc, null, 2), '');
    const profile = JSON.parse(singbox.render(entries, { ...RENDER_OPTIONS, template }));
    expect(profile.dns.rules).toEqual([{ domain_suffix: ['corp.example'], server: 'local' }]);
    expect(profile.route.rules.at(-1)).toEqual({ rule_set: 'ads', action: 'reject' });
    expect(profile.outbounds[1]).toMatchObject({ tag: 'auto', interval: '10m', outbounds: entries.map((e) => e.name) });
    expect(profile.outbounds.slice(2, -1).map((o: { tag: string }) => o.tag)).toEqual(entries.map((e) => e.name));
  });

  it('escapes what users control: an entry name with quotes, a colon and a newline stays one value', () => {
    const odd = [{ ...entries[0]!, name: 'x": "y\nz: #1' }];
    const yamlText = clash.render(odd, RENDER_OPTIONS);
    expect(parse(yamlText).proxies[0].name).toBe('x": "y\nz: #1');
    expect(JSON.parse(singbox.render(odd, RENDER_OPTIONS)).outbounds.at(-2).tag).toBe('x": "y\nz: #1');
  });

  it('quotes a key of the template that YAML would read as something else', () => {
    const template = parseTemplate(CLASH_SHAPE, `${DEFAULT_CLASH_TEMPLATE}hosts:\n  "yes": 1.2.3.4\n  "a b": 5.6.7.8\n`, '');
    expect(parse(clash.render(entries, { ...RENDER_OPTIONS, template })).hosts).toEqual({ yes: '1.2.3.4', 'a b': '5.6.7.8' });
  });

  it('keeps, for a user who is not served, only the stand-in in the groups that list entries, and the other groups as written', () => {
    const text = DEFAULT_CLASH_TEMPLATE.replace('proxy-groups:\n', 'proxy-groups:\n  - name: Ads\n    type: select\n    proxies: [REJECT, DIRECT]\n');
    const template = parseTemplate(CLASH_SHAPE, text, '');
    const standIn = parse(clash.render([{ ...entries[0]!, name: '⛔ expired', placeholder: true }], { ...RENDER_OPTIONS, template }));
    expect(standIn['proxy-groups']).toEqual([
      { name: 'Ads', type: 'select', proxies: ['REJECT', 'DIRECT'] },
      { name: 'PROXY', type: 'select', proxies: ['⛔ expired'] },
    ]);
  });

  it('takes a "__proto__" key of a template as a key like any other', () => {
    const text = DEFAULT_SINGBOX_TEMPLATE.replace('"log": {', '"experimental": { "__proto__": { "polluted": true } },\n  "log": {');
    const profile = singbox.render(entries, { ...RENDER_OPTIONS, template: parseTemplate(SINGBOX_SHAPE, text, '') });
    expect(profile).toContain('"__proto__": {');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  const refusal = (shape: typeof SINGBOX_SHAPE, text: string, pattern = '') => {
    try {
      parseTemplate(shape, text, pattern);
    } catch (error) {
      expect(error).toBeInstanceOf(TemplateProblem);
      return error as TemplateProblem;
    }
    throw new Error('not refused');
  };

  it('is refused, with the line, when it is not JSON / YAML', () => {
    expect(refusal(SINGBOX_SHAPE, '{\n  "log": {},\n  "outbounds": ["$proxies",]\n}')).toMatchObject({ line: 3 });
    expect(refusal(CLASH_SHAPE, 'proxies:\n  - $proxies\nrules: [a\n')).toMatchObject({ message: expect.stringContaining('not YAML') });
  });

  it('is refused for a slot it does not know, or one out of place, naming the line', () => {
    const unknown = refusal(SINGBOX_SHAPE, DEFAULT_SINGBOX_TEMPLATE.replace('"$usable"', '"$fastest"'));
    expect(unknown.message).toMatch(/outbounds\[1\]\.outbounds\[0\]: unknown slot \$fastest/);
    expect(unknown.line).toBe(DEFAULT_SINGBOX_TEMPLATE.split('\n').findIndex((l) => l.includes('$usable')) + 1);
    expect(refusal(SINGBOX_SHAPE, DEFAULT_SINGBOX_TEMPLATE.replace('"final": "remote"', '"final": "$all"')).message).toMatch(/dns\.final: \$all goes only in a group's member list/);
    expect(refusal(SINGBOX_SHAPE, DEFAULT_SINGBOX_TEMPLATE.replace('"$proxies",', '')).message).toMatch(/must hold "\$proxies"/);
    expect(refusal(CLASH_SHAPE, DEFAULT_CLASH_TEMPLATE.replace('rules:', 'rules:\n  - $proxies')).message).toMatch(/only once|top-level proxies list only/);
  });

  it('is refused when too big, nested too deep, or with an unknown name field', () => {
    expect(refusal(SINGBOX_SHAPE, ' '.repeat(70 * 1024)).message).toMatch(/larger than 64 KiB/);
    expect(refusal(SINGBOX_SHAPE, `${'['.repeat(40)}${']'.repeat(40)}`).message).toMatch(/nests deeper/);
    expect(refusal(SINGBOX_SHAPE, DEFAULT_SINGBOX_TEMPLATE, '{node} {protocol}').message).toMatch(/unknown field \{protocol\}/);
  });
});
