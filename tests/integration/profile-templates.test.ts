// /api/v1/profile-templates on SQLite: what an operator sees and saves, what /sub then serves, and
// what is refused with the checker's message and the template line. The real `sing-box check` runs
// in profile-templates.singbox.test.ts; here the hub has no sing-box, so a sing-box template is
// refused for that (after the hub's own reference check) and the Clash ones get the structural check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Node } from '../../hub/db/models.js';
import { DEFAULT_CLASH_TEMPLATE } from '../../hub/subscriptions/formats/clash.js';
import { DEFAULT_SINGBOX_TEMPLATE } from '../../hub/subscriptions/formats/singbox.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { makeFixture } from '../unit/hub/subscription.helpers.js';

describe('profile templates, hub on SQLite', () => {
  let hub: TestHub;
  let token: string;

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { config: { sub_singbox_binary: '/nonexistent/sing-box' } });
    const { base } = await makeFixture();
    const version = (await ownerApi(hub, 'POST', '/api/v1/configs', { config: base })).id;
    await Node.query(hub.app.db).insert({ id: 'hk-1', name: 'HK 1', tags: ['hk'], address: '203.0.113.10:50051', token: 'x', multiplier: 1, enabled: true, health: 'online', applied_config_version: version });
    const plan = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'hk', traffic_limit_bytes: 2 ** 30, duration_days: 30, node_tags: ['hk'] });
    const user = await ownerApi(hub, 'POST', '/api/v1/users', { name: 'tpl' });
    await ownerApi(hub, 'POST', '/api/v1/subscriptions', { user_id: user.id, plan_id: plan.id });
    token = (await ownerApi(hub, 'GET', `/api/v1/users/${user.id}/credentials`)).sub_token;
  });
  afterAll(async () => {
    await hub?.close();
  });

  const put = async (format: string, template: string, name_pattern?: string) =>
    hub.app.inject({ method: 'PUT', url: `/api/v1/profile-templates/${format}`, headers: hub.auth, payload: { template, ...(name_pattern === undefined ? {} : { name_pattern }) } });
  const sub = async (format: string) => (await hub.app.inject({ method: 'GET', url: `/sub/${token}?format=${format}` })).body;
  const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;

  it('shows the default of each format until one is saved', async () => {
    const singbox = await ownerApi(hub, 'GET', '/api/v1/profile-templates/singbox');
    expect(singbox).toMatchObject({ format: 'singbox', template: DEFAULT_SINGBOX_TEMPLATE, is_default: true, version: null, updated_by: null, name_pattern: '' });
    expect(Object.keys(singbox.slots)).toEqual(['$proxies', '$all', '$usable', '$urltest_url', '$urltest_interval', '$urltest_tolerance']);
    expect((await ownerApi(hub, 'GET', '/api/v1/profile-templates/clash')).template).toBe(DEFAULT_CLASH_TEMPLATE);
  });

  it('saves a Clash template that passes the structural check: /sub serves its rules and names; audited; a reset brings the default back', async () => {
    const template = DEFAULT_CLASH_TEMPLATE.replace('rules:\n', 'rule-providers:\n  ads:\n    type: http\n    behavior: domain\n    url: https://rules.example/ads.yaml\nrules:\n  - RULE-SET,ads,REJECT\n');
    const res = await put('clash', template, '{node} {type}');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ is_default: false, updated_by: 'test-owner', name_pattern: '{node} {type}', check: { ok: true, checker: 'structure' } });
    const profile = parse(await sub('clash'));
    expect(profile.rules[0]).toBe('RULE-SET,ads,REJECT');
    expect(profile['rule-providers'].ads.url).toBe('https://rules.example/ads.yaml');
    expect(profile.proxies.map((p: { name: string }) => p.name)).toContain('HK 1 vless');
    const audit = await hub.app.db('audit_log').where({ action: 'profile-template.save' }).first();
    expect(audit).toMatchObject({ target: 'profile-template:clash', result: 'ok', admin: 'test-owner' });

    expect((await hub.app.inject({ method: 'DELETE', url: '/api/v1/profile-templates/clash', headers: hub.auth })).json()).toMatchObject({ is_default: true, template: DEFAULT_CLASH_TEMPLATE });
    expect(parse(await sub('clash')).rules[0]).toBe('IP-CIDR,127.0.0.0/8,DIRECT,no-resolve');
    expect(await hub.app.db('audit_log').where({ action: 'profile-template.reset' }).first()).toMatchObject({ target: 'profile-template:clash' });
  });

  it.each([
    ['a rule to a group that does not exist', DEFAULT_CLASH_TEMPLATE.replace('  - MATCH,PROXY', '  - MATCH,NOWHERE'), 'MATCH,NOWHERE', /rules\[8\]: the target "NOWHERE" is not a proxy or group/],
    ['a rule set that is not declared', DEFAULT_CLASH_TEMPLATE.replace('rules:\n', 'rules:\n  - RULE-SET,ads,REJECT\n'), 'RULE-SET,ads', /rules\[0\]: "ads" is not in rule-providers/],
    ['two groups of one name', DEFAULT_CLASH_TEMPLATE.replace('  - name: AUTO', '  - name: PROXY'), 'name: PROXY\n    type: url', /proxy-groups\[1\]\.name: the name "PROXY" is taken/],
    ['a group member that does not exist', DEFAULT_CLASH_TEMPLATE.replace('[AUTO, $all, DIRECT]', '[AUTO, $all, FAST]'), '[AUTO, $all, FAST]', /"FAST" is not a proxy or group/],
    ['a group of an unknown type', DEFAULT_CLASH_TEMPLATE.replace('type: url-test', 'type: fastest'), 'type: fastest', /type must be one of select/],
  ])('refuses a Clash template with %s, with the line and the message, and changes nothing', async (_, template, needle, message) => {
    const before = await sub('clash');
    const res = await put('clash', template);
    expect(res.statusCode).toBe(400);
    const text = res.json().message as string;
    expect(text).toMatch(message);
    expect(text).toContain(`line ${lineOf(template, needle)}:`);
    expect(await sub('clash')).toBe(before);
  });

  it('refuses a Clash template whose group is left out for a user who is not served and is still named by a rule', async () => {
    const template = DEFAULT_CLASH_TEMPLATE.replace('rules:\n', 'rules:\n  - DOMAIN-SUFFIX,video.example,AUTO\n');
    const res = await put('clash', template);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/line \d+: in the profile of a user who is not served .*: rules\[0\]: the target "AUTO" is not a proxy or group/);
  });

  it('refuses a sing-box template whose DNS rule names a server that does not exist, with the line', async () => {
    const template = DEFAULT_SINGBOX_TEMPLATE.replace('"final": "remote"', '"rules": [{ "domain_suffix": ["corp.example"], "server": "corp-dns" }],\n    "final": "remote"');
    const res = await put('singbox', template);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe(
      `the singbox template is refused: line ${lineOf(template, 'corp-dns')}: dns.rules[0].server: no DNS server is tagged "corp-dns" (DNS servers: remote, local)`,
    );
  });

  it('refuses a sing-box template that would have sing-box read a file of the hub', async () => {
    const template = DEFAULT_SINGBOX_TEMPLATE.replace('"default_domain_resolver": "local"', '"default_domain_resolver": "local",\n    "rule_set": [{ "type": "local", "tag": "x", "format": "source", "path": "/etc/shadow" }]');
    const res = await put('singbox', template);
    expect(res.json().message).toMatch(/route\.rule_set\[0\]\.path: file paths must be relative/);
  });

  it('refuses to save a sing-box template unchecked when the hub cannot run sing-box, and says so; the preview still renders it', async () => {
    const template = DEFAULT_SINGBOX_TEMPLATE.replace('"level": "warn"', '"level": "info"');
    const res = await put('singbox', template);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/sing-box check cannot run on this hub \(cannot run \/nonexistent\/sing-box: .*ENOENT\); set sub_singbox_binary/);
    const preview = await ownerApi(hub, 'POST', '/api/v1/profile-templates/singbox/preview', { template, name_pattern: '{node} {multiplier} {type}' });
    expect(preview.check).toMatchObject({ ok: false, checker: 'sing-box check', unavailable: true });
    const profile = JSON.parse(preview.profile);
    expect(profile.log.level).toBe('info');
    expect(profile.outbounds.map((o: { tag: string }) => o.tag)).toEqual(expect.arrayContaining(['HK 1 vless', 'JP 2 ×2 hysteria2']));
    expect((await ownerApi(hub, 'GET', '/api/v1/profile-templates/singbox')).is_default).toBe(true);
  });

  it('previews a template that does not parse as a refusal with the line and no profile', async () => {
    const preview = await ownerApi(hub, 'POST', '/api/v1/profile-templates/clash/preview', { template: 'proxies:\n  - $proxies\nrules: [\n' });
    expect(preview).toMatchObject({ profile: null, check: { ok: false, checker: 'template', message: expect.stringMatching(/not YAML/) } });
  });
});
