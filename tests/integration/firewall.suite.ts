// The hub's firewall: rule sets through the API (who may change them, what is refused and named,
// the audit log), each node's desired list as the firewall screen reads it, and the `firewall` job
// pushing the lists to real agent processes running the firewall plugin: once per revision, a
// node whose tags change, a node that refuses, a node whose firewall is off. Run on SQLite by
// firewall.test.ts, on MariaDB by firewall.mariadb.test.ts.
//
// The agents' rules are destination and domain rules only, and their nftables table has a name of
// its own: source-IP and port rules would go into the host's nftables (the namespaced tests of the
// plugin, tests/e2e/firewall*, cover those).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configHash } from '../../agent-core/common/config-hash.js';
import { randomBytes } from 'node:crypto';
import type { Rule, RulesListOutput, StatusOutput } from '../../plugins/firewall/contract.js';
import type { FirewallSummary } from '../../hub/jobs/firewall.js';
import { startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';
import { enroll, nodeCommand, nodeRow, seedUnreachableNode } from './jobs.suite.js';

const BAN: Rule = { id: 'ban-1', kind: 'source_ip', value: '198.51.100.0/24', comment: 'scanner' };
const ADS: Rule = { id: 'ads', kind: 'domain_suffix', value: 'ads.example.com' };
const SMTP: Rule = { id: 'smtp', kind: 'destination_port', port: 25, protocol: 'tcp' };
const NET: Rule = { id: 'net', kind: 'destination_ip', value: '203.0.113.0/24' };

/** A set's rules as a node gets them: ids prefixed by the set's. */
const listFor = (...sets: { id: number; rules: Rule[] }[]) => sets.flatMap((s) => s.rules.map((r) => ({ ...r, id: `${s.id}.${r.id}` })));

/** A real agent whose only plugin is the firewall (on or off), with an nftables table of its own. */
function startFirewallNode(nodeId: string, enabled = true): Promise<AgentProcess> {
  return startAgentProcess({
    nodeId,
    configure: (config) => {
      config.plugins = { firewall: { enabled, table: `fwhub_${randomBytes(4).toString('hex')}` } };
      config.reload_on_change = false;
    },
  });
}

export function firewallSuite(kind: DatabaseKind): void {
  describe(`firewall rule sets, hub on ${kind}`, () => {
    let hub: TestHub;
    const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, headers = hub.auth) =>
      hub.app.inject({ method, url: `/api/v1/firewall${url}`, headers, payload });
    /** The audit rows of `action` once there are `count` (they are written after the answer). */
    const audits = (action: string, count: number) =>
      until(`${count} audit rows of ${action}`, async () => {
        const rows = await hub.app.db('audit_log').where({ action }).orderBy('id');
        return rows.length >= count && rows;
      });
    const sets = async () => (await api('GET', '/rule-sets')).json().items as { id: number; name: string; rules: Rule[] }[];
    const nodes = async () => (await api('GET', '/nodes')).json().items as Record<string, any>[];
    const node = async (id: string) => (await nodes()).find((n) => n.node_id === id)!;

    beforeAll(async () => {
      hub = await startTestHub(kind);
      await seedUnreachableNode(hub.app.db, 'fw-edge', ['edge']);
      await seedUnreachableNode(hub.app.db, 'fw-core', ['core']);
    });

    afterAll(async () => {
      await hub?.close();
    });

    it('creates, reads, replaces and deletes a rule set, each change audited with who made it', async () => {
      const created = await api('POST', '/rule-sets', { name: 'Abusers', tags: ['edge'], rules: [BAN, SMTP], comment: 'from the abuse desk' });
      expect(created.statusCode, created.body).toBe(201);
      const set = created.json();
      expect(set).toMatchObject({ name: 'Abusers', tags: ['edge'], rules: [BAN, SMTP], comment: 'from the abuse desk', created_by: 'test-owner', updated_by: 'test-owner' });
      expect((await api('GET', `/rule-sets/${set.id}`)).json()).toEqual(set);

      const admin = await hub.as('admin');
      const replaced = await api('PUT', `/rule-sets/${set.id}`, { name: 'Abusers', tags: ['edge', 'core'], rules: [BAN] }, admin);
      expect(replaced.statusCode, replaced.body).toBe(200);
      // A replacement: what the body leaves out is gone (the comment), the history stays.
      expect(replaced.json()).toMatchObject({ id: set.id, tags: ['edge', 'core'], rules: [BAN], comment: '', created_by: 'test-owner', updated_by: 'test-admin' });
      expect(await sets()).toMatchObject([{ id: set.id, rules: [BAN] }]);

      expect((await api('DELETE', `/rule-sets/${set.id}`, undefined, admin)).statusCode).toBe(204);
      expect(await sets()).toEqual([]);
      expect((await api('GET', `/rule-sets/${set.id}`)).json()).toMatchObject({ statusCode: 404, message: `no firewall rule set ${set.id}` });

      const target = `firewall-rule-set:${set.id}`;
      expect(await audits('firewall.rule-set.create', 1)).toMatchObject([{ admin: 'test-owner', target, result: 'ok', status_code: 201 }]);
      expect(await audits('firewall.rule-set.update', 1)).toMatchObject([{ admin: 'test-admin', target, result: 'ok', status_code: 200 }]);
      expect(await audits('firewall.rule-set.delete', 1)).toMatchObject([{ admin: 'test-admin', target, result: 'ok', status_code: 204 }]);
      expect(JSON.parse((await audits('firewall.rule-set.create', 1))[0].input)).toMatchObject({ name: 'Abusers', rules: [BAN, SMTP] });
    });

    it('lets viewers and operators read the sets and the nodes, and only admins change them', async () => {
      const created = await api('POST', '/rule-sets', { name: 'Readable', rules: [ADS] });
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json().id;
      for (const role of ['viewer', 'operator'] as const) {
        const as = await hub.as(role);
        expect((await api('GET', '/rule-sets', undefined, as)).json().items).toMatchObject([{ name: 'Readable' }]);
        expect((await api('GET', '/nodes', undefined, as)).statusCode).toBe(200);
        for (const [method, url] of [['POST', '/rule-sets'], ['PUT', `/rule-sets/${id}`], ['DELETE', `/rule-sets/${id}`]] as const) {
          const res = await api(method, url, { name: 'Mine', rules: [] }, as);
          expect(res.json(), `${method} ${url} as ${role}`).toMatchObject({ statusCode: 403, message: `this needs the admin role; test-${role} is ${role}` });
        }
      }
      expect(await sets()).toMatchObject([{ id, name: 'Readable', rules: [ADS] }]);
      const refused = (await audits('firewall.rule-set.update', 3)).filter((a) => a.admin === 'test-operator');
      expect(refused).toMatchObject([{ result: 'error', status_code: 403 }]);
      expect((await api('DELETE', `/rule-sets/${id}`)).statusCode).toBe(204);
    });

    it('refuses a rule the nodes would refuse with a 400 naming the rule, and stores nothing', async () => {
      const refusals: [object, string][] = [
        [{ name: 'Bad', rules: [ADS, { id: 'wide', kind: 'source_ip', value: '10.0.0.0/33' }] }, 'body.rules: rule "wide": "10.0.0.0/33" is not an IP address or CIDR'],
        [{ name: 'Bad', rules: [ADS, { id: 'p', kind: 'port', value: 'x', port: 22, protocol: 'tcp' }] }, 'body.rules: rule "p": a port rule takes no value'],
        [{ name: 'Bad', rules: [ADS, ADS] }, 'body.rules: rule "ads" appears twice'],
        // The schema's own refusals name the rule too, not only its place in the list.
        [{ name: 'Bad', rules: [ADS, { id: 'high', kind: 'destination_port', port: 70000 }] }, 'rule "high": body.rules.1.port: must be <= 65535'],
        [{ name: 'Bad', rules: [{ id: 'odd', kind: 'geoip', value: 'cn' }] }, `rule "odd": body.rules.0.kind: must be one of source_ip, port, destination_ip, destination_port, domain, domain_suffix, domain_keyword, bittorrent`],
        [{ name: 'Bad', rules: [{ id: 'x', kind: 'bittorrent', note: 'y' }] }, 'rule "x": body.rules.0.note: unknown field'],
        [{ name: 'Bad', rules: [{ id: 'no spaces', kind: 'bittorrent' }] }, 'rule "no spaces": body.rules.0.id: must match pattern "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"'],
        // 64 characters at most, so that `<set id>.` in front still fits the 80 a node takes.
        [{ name: 'Bad', rules: [{ id: 'a'.repeat(65), kind: 'bittorrent' }] }, `rule "${'a'.repeat(65)}": body.rules.0.id: must NOT have more than 64 characters`],
        [{ name: 'Bad', tags: ['Not A Tag'], rules: [] }, 'body.tags.0: must match pattern "^[a-z0-9][a-z0-9_-]{0,31}$"'],
        [{ rules: [] }, 'body.name: is required'],
      ];
      for (const [body, message] of refusals) {
        const res = await api('POST', '/rule-sets', body);
        expect(res.json(), JSON.stringify(body)).toEqual({ statusCode: 400, code: 'HUB_ERR_BAD_REQUEST', message });
      }
      expect(await sets()).toEqual([]);
      // The first test's set, the second's, and the refusals of a viewer and an operator came before.
      const refused = await audits('firewall.rule-set.create', 4 + refusals.length);
      expect(refused.slice(-refusals.length).map((a) => [a.result, a.error])).toEqual(refusals.map(([, message]) => ['error', message]));

      // A replacement that is refused leaves the set as it was.
      const kept = (await api('POST', '/rule-sets', { name: 'Kept', rules: [ADS] })).json();
      const res = await api('PUT', `/rule-sets/${kept.id}`, { name: 'Kept', rules: [{ id: 'v6', kind: 'destination_ip', value: '2001:db8::/129' }] });
      expect(res.json()).toMatchObject({ statusCode: 400, message: 'body.rules: rule "v6": "2001:db8::/129" is not an IP address or CIDR' });
      expect(await sets()).toMatchObject([{ id: kept.id, rules: [ADS] }]);
      expect((await api('DELETE', `/rule-sets/${kept.id}`)).statusCode).toBe(204);
    });

    it('refuses a second set of the same name and more rules in all sets than one node takes', async () => {
      const first = (await api('POST', '/rule-sets', { name: 'Big', rules: [ADS] })).json();
      expect((await api('POST', '/rule-sets', { name: 'BIG', rules: [] })).json()).toMatchObject({
        statusCode: 409,
        message: 'a firewall rule set named BIG already exists (names are compared without case)',
      });
      const many = Array.from({ length: 10_000 }, (_, i): Rule => ({ id: `r${i}`, kind: 'destination_port', port: 1 + (i % 65535) }));
      const res = await api('POST', '/rule-sets', { name: 'Huge', rules: many });
      expect(res.json()).toMatchObject({ statusCode: 400, message: 'body.rules: all rule sets together would hold 10001 rules; a node takes at most 10000' });
      expect((await sets()).map((s) => s.name)).toEqual(['Big']);
      // Without the other set's rule the same list fits.
      expect((await api('PUT', `/rule-sets/${first.id}`, { name: 'Big', rules: many })).statusCode).toBe(200);
      expect((await api('DELETE', `/rule-sets/${first.id}`)).statusCode).toBe(204);
    });

    it("gives each node the rules of the sets its tags reach, ids prefixed by set, and a revision that moves with the list", async () => {
      const everywhere = (await api('POST', '/rule-sets', { name: 'Everywhere', rules: [ADS] })).json();
      const edgeOnly = (await api('POST', '/rule-sets', { name: 'Edge only', tags: ['edge'], rules: [BAN, SMTP] })).json();

      expect(await node('fw-edge')).toMatchObject({
        firewall: 'unknown',
        desired_revision: configHash(listFor(everywhere, edgeOnly)),
        rules: 3,
        sets: [everywhere.id, edgeOnly.id],
        confirmed_revision: null,
        in_sync: false,
        last_error: null,
      });
      const core = await node('fw-core');
      expect(core).toMatchObject({ desired_revision: configHash(listFor(everywhere)), rules: 1, sets: [everywhere.id] });

      // The node's tags decide: fw-core tagged edge gets fw-edge's list.
      await hub.app.db('nodes').where({ id: 'fw-core' }).update({ tags: JSON.stringify(['core', 'edge']) });
      expect((await node('fw-core')).desired_revision).toBe((await node('fw-edge')).desired_revision);
      // A change that leaves the list as it was leaves the revision.
      await api('PUT', `/rule-sets/${edgeOnly.id}`, { name: 'Edge only', tags: ['edge'], rules: [BAN, SMTP], comment: 'now with a comment' });
      expect((await node('fw-edge')).desired_revision).toBe(configHash(listFor(everywhere, edgeOnly)));
      await api('PUT', `/rule-sets/${edgeOnly.id}`, { name: 'Edge only', tags: ['edge'], rules: [SMTP] });
      expect((await node('fw-edge')).desired_revision).toBe(configHash(listFor(everywhere, { id: edgeOnly.id, rules: [SMTP] })));

      for (const set of [everywhere, edgeOnly]) await api('DELETE', `/rule-sets/${set.id}`);
      expect(await node('fw-edge')).toMatchObject({ desired_revision: configHash([]), rules: 0, sets: [] });
    });
  });

  describe(`pushing firewall rules to real agents, hub on ${kind}`, () => {
    const clock = { now: Date.UTC(2033, 1, 1) };
    let hub: TestHub;
    let edge: AgentProcess;
    let off: AgentProcess;
    const sets: Record<'everywhere' | 'edge', { id: number; rules: Rule[] }> = {} as never;

    const push = async (): Promise<FirewallSummary> => {
      const run = await hub.app.jobs.run('firewall');
      if (!run.ran) throw new Error('the firewall lease was held elsewhere');
      return run.result as FirewallSummary;
    };
    const api = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      hub.app.inject({ method, url: `/api/v1${url}`, headers: hub.auth, payload });
    const view = async (id: string) => ((await api('GET', '/firewall/nodes')).json().items as Record<string, any>[]).find((n) => n.node_id === id)!;
    const listed = () => nodeCommand<RulesListOutput>(hub, 'fw-edge', 'firewall.rules.list');
    const pushes = () => hub.app.db('audit_log').where({ action: 'node.firewall.sync', target: 'fw-edge' }).orderBy('id');

    beforeAll(async () => {
      [edge, off, hub] = await Promise.all([startFirewallNode('fw-edge'), startFirewallNode('fw-off', false), startTestHub(kind, { clock: () => clock.now })]);
      await enroll(hub, edge, { tags: ['edge'] });
      await enroll(hub, off, { tags: ['edge'] });
      for (const [key, body] of [
        ['everywhere', { name: 'Everywhere', rules: [ADS] }],
        ['edge', { name: 'Edge', tags: ['edge'], rules: [NET, SMTP] }],
      ] as const) {
        const res = await api('POST', '/firewall/rule-sets', body);
        expect(res.statusCode, res.body).toBe(201);
        sets[key] = res.json();
      }
    });

    afterAll(async () => {
      await hub?.close();
      await Promise.all([edge?.stop(), off?.stop()]);
    });

    it('pushes each node its list once, recorded and audited, and leaves a node whose firewall is off', async () => {
      const revision = configHash(listFor(sets.everywhere, sets.edge));
      const result = await push();
      expect(result).toMatchObject({ nodes: 2, in_sync: 0, applied: 1, failed: 0, skipped: 1 });
      expect(result.results).toEqual([
        { node_id: 'fw-edge', revision, status: 'applied', rules: 3, changed: true, warnings: [] },
        { node_id: 'fw-off', revision, status: 'skipped', firewall: 'disabled' },
      ]);
      // The node enforces it: the list it holds, and its rule-set file carries all three.
      expect(await listed()).toMatchObject({ revision, rules: listFor(sets.everywhere, sets.edge) });
      const status = await nodeCommand<StatusOutput>(hub, 'fw-edge', 'firewall.status');
      expect(status).toMatchObject({ revision, rule_set: { rules: 3 }, nftables: { rules: 0 }, last_error: null });

      expect(await view('fw-edge')).toMatchObject({
        firewall: 'ready',
        desired_revision: revision,
        confirmed_revision: revision,
        in_sync: true,
        synced_at: new Date(clock.now).toISOString(),
        rules: 3,
        last_error: null,
      });
      expect(await view('fw-off')).toMatchObject({ firewall: 'disabled', desired_revision: revision, confirmed_revision: null, in_sync: false });
      expect(await pushes()).toMatchObject([{ admin: 'firewall', result: 'ok', status_code: 200 }]);
      expect(JSON.parse((await pushes())[0].input)).toEqual({ revision, rules: 3, sets: [sets.everywhere.id, sets.edge.id] });

      // In sync: the next tick sends nothing.
      expect(await push()).toMatchObject({ in_sync: 1, applied: 0, skipped: 1 });
      expect(await pushes()).toHaveLength(1);
    });

    it('sends a revision again when the hub lost what the node confirmed, and the node takes it as a no-op', async () => {
      const before = await listed();
      await hub.app.db('node_firewall').where({ node_id: 'fw-edge' }).delete();
      expect((await push()).results[0]).toMatchObject({ node_id: 'fw-edge', status: 'applied', changed: false });
      // Nothing was applied again: the node's list is the one synced before, at the same time.
      expect(await listed()).toEqual(before);
      expect((await view('fw-edge')).in_sync).toBe(true);
    });

    it('gives a node whose tags change the list its new tags reach', async () => {
      const res = await api('PATCH', '/nodes/fw-edge', { tags: ['core'] });
      expect(res.statusCode, res.body).toBe(200);
      const revision = configHash(listFor(sets.everywhere));
      expect(await view('fw-edge')).toMatchObject({ desired_revision: revision, in_sync: false, rules: 1, sets: [sets.everywhere.id] });
      expect((await push()).results[0]).toMatchObject({ node_id: 'fw-edge', revision, status: 'applied', rules: 1, changed: true });
      expect(await listed()).toMatchObject({ revision, rules: listFor(sets.everywhere) });
      expect((await nodeCommand<StatusOutput>(hub, 'fw-edge', 'firewall.status')).rule_set.rules).toBe(1);
    });

    it('records what a node refuses, keeps its last good list there, backs off, and clears the error once it takes one', async () => {
      const good = await listed();
      // A rule the hub's check lets through would be refused by nodes just the same: stored
      // behind the API's back, as a hub with an older check could have.
      const stored = { tags: ['core'], rules: [{ id: 'wide', kind: 'destination_ip', value: '10.0.0.0/33' }] };
      const [id] = await hub.app.db('firewall_rule_sets').insert({
        name: 'Stored elsewhere',
        tags: JSON.stringify(stored.tags),
        rules: JSON.stringify(stored.rules),
        hash: configHash(stored),
        comment: '',
        created_by: 'someone',
        updated_by: 'someone',
        created_at: clock.now,
        updated_at: clock.now,
      });
      const setId = Number(id ?? (await hub.app.db('firewall_rule_sets').where({ name: 'Stored elsewhere' }).first()).id);
      const failed = (await push()).results[0]!;
      expect(failed).toMatchObject({ node_id: 'fw-edge', status: 'failed', code: 'HUB_ERR_BAD_REQUEST', unreachable: false });
      const message = `rule "${setId}.wide": "10.0.0.0/33" is not an IP address or CIDR`;
      expect('error' in failed && failed.error).toContain(message);
      const shown = await view('fw-edge');
      expect(shown).toMatchObject({ in_sync: false, confirmed_revision: good.revision, last_error: { revision: failed.revision, at: new Date(clock.now).toISOString() } });
      expect(shown.last_error.message).toContain(message);
      expect(await listed()).toEqual(good);
      // The node answered, so it is online; its last error says what the firewall push met.
      expect(await nodeRow(hub.app.db, 'fw-edge')).toMatchObject({ health: 'online' });
      expect((await nodeRow(hub.app.db, 'fw-edge')).last_error).toMatch(/^firewall: revision [0-9a-f]{64}: /);
      expect((await pushes()).at(-1)).toMatchObject({ result: 'error', status_code: 400 });

      // Backed off: not asked again for 5 s.
      expect((await push()).results[0]).toMatchObject({ status: 'waiting', retry_at: new Date(clock.now + 5_000).toISOString() });
      const fixed = await api('PUT', `/firewall/rule-sets/${setId}`, { name: 'Stored elsewhere', tags: ['core'], rules: [{ id: 'wide', kind: 'destination_ip', value: '10.0.0.0/8' }] });
      expect(fixed.statusCode, fixed.body).toBe(200);
      clock.now += 5_000;
      expect((await push()).results[0]).toMatchObject({ status: 'applied', rules: 2, changed: true });
      expect(await view('fw-edge')).toMatchObject({ in_sync: true, last_error: null });
      expect((await nodeRow(hub.app.db, 'fw-edge')).last_error).toBeNull();
    });
  });
}
