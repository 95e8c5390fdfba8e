import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import { PluginHost } from '../../../agent-core/plugin-host.js';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError } from '../../../agent-core/common/errors.js';
import { definePlugin, Type, type AnyPluginDefinition } from '../../../agent-core/sdk.js';
import { ruleListProblems, type Rule, type RulesListOutput, type RulesSyncOutput, type StatusOutput } from '../../../plugins/firewall/contract.js';
import firewall from '../../../plugins/firewall/index.js';
import { until } from '../../support/until.js';

let tmp: string;
let harness: Harness | undefined;
const originalPath = process.env.PATH;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'firewall-test-'));
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  process.env.PATH = originalPath;
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/**
 * A stand-in `nft` first on PATH (no test here may touch the machine's own tables): it keeps every
 * script it is given, answers `list table` as if the last script left a table, and fails with the
 * text of `<dir>/fail` while that file exists.
 */
async function fakeNft(): Promise<{ scripts: () => Promise<string[]>; fail: (stderr: string | undefined) => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmp, 'bin-'));
  await writeFile(
    path.join(dir, 'nft'),
    `#!/bin/sh
d=${dir}
if [ -f $d/fail ]; then cat $d/fail >&2; exit 1; fi
if [ "$1" = "-f" ]; then cat > $d/last; cat $d/last >> $d/scripts; echo '#END' >> $d/scripts; exit 0; fi
if grep -q 'hook input' $d/last 2>/dev/null; then echo table; exit 0; fi
echo 'Error: No such file or directory' >&2; exit 1
`,
  );
  await chmod(path.join(dir, 'nft'), 0o755);
  process.env.PATH = `${dir}:${originalPath}`;
  return {
    scripts: async () => (await readFile(path.join(dir, 'scripts'), 'utf8').catch(() => '')).split('#END\n').filter(Boolean),
    fail: async (stderr) => (stderr === undefined ? rm(path.join(dir, 'fail'), { force: true }) : writeFile(path.join(dir, 'fail'), stderr)),
  };
}

async function start(config: Record<string, unknown> = {}, plugins: AnyPluginDefinition[] = []): Promise<Harness> {
  harness = await createHarness([firewall, ...plugins], { config: { firewall: config } });
  return harness;
}

const ruleSetFile = (h: Harness) => path.join(h.stateDir, 'firewall', 'boxfleet-block.json');
const readRuleSet = async (h: Harness) => JSON.parse(await readFile(ruleSetFile(h), 'utf8')) as { version: number; rules: unknown[] };

const RULES: Rule[] = [
  { id: 'abuser', kind: 'source_ip', value: '198.51.100.7', comment: 'scanner' },
  { id: 'abuser-net6', kind: 'source_ip', value: '2001:db8:bad::/48' },
  { id: 'smtp', kind: 'port', port: 25, protocol: 'tcp' },
  { id: 'dns-any', kind: 'port', port: 53 },
  { id: 'bad-net', kind: 'destination_ip', value: '203.0.113.0/24' },
  { id: 'telnet-out', kind: 'destination_port', port: 23, protocol: 'tcp' },
  { id: 'bad-site', kind: 'domain', value: 'Bad.Example' },
  { id: 'bad-zone', kind: 'domain_suffix', value: 'evil.test' },
  { id: 'tracker', kind: 'domain_keyword', value: 'tracker' },
];

describe('firewall.rules.sync', () => {
  it('puts source and port rules in one nft transaction that replaces the whole table', async () => {
    const nft = await fakeNft();
    const h = await start({ table: 'edge_fw' });
    const out = await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r1', rules: RULES }, { remote: true });
    expect(out).toEqual({ revision: 'r1', changed: true, nftables: 'applied', rule_set: 'applied', singbox_reloaded: false, warnings: [] });
    const script = (await nft.scripts()).at(-1)!;
    // Created, deleted and defined again in one script: nft applies it as one transaction.
    expect(script.split('\n').slice(0, 3)).toEqual(['table inet edge_fw {}', 'delete table inet edge_fw', 'table inet edge_fw {']);
    expect(script).toMatch(/set source_v4 \{\s+type ipv4_addr; flags interval; auto-merge\s+elements = \{\s+198\.51\.100\.7\s+\}/);
    expect(script).toMatch(/set source_v6 \{[^}]+2001:db8:bad::\/48/);
    expect(script).toMatch(/set ports_tcp \{[^}]+25,\s+53\s+\}/);
    expect(script).toMatch(/set ports_udp \{[^}]+53\s+\}/);
    expect(script).toContain('type filter hook input priority filter - 10; policy accept;');
    for (const line of ['ip saddr @source_v4 drop', 'ip6 saddr @source_v6 drop', 'tcp dport @ports_tcp drop', 'udp dport @ports_udp drop']) {
      expect(script).toContain(line);
    }
    // Destinations are not the kernel's business here.
    expect(script).not.toContain('203.0.113.0');
  });

  it('writes the destination rules to a sing-box source-format rule-set file', async () => {
    await fakeNft();
    const h = await start();
    await h.execute('firewall.rules.sync', { revision: 'r1', rules: RULES });
    expect(await readRuleSet(h)).toEqual({
      version: 4,
      rules: [
        { ip_cidr: ['203.0.113.0/24'] },
        { network: ['tcp'], port: [23] },
        { domain: ['bad.example'] },
        { domain_suffix: ['evil.test'] },
        { domain_keyword: ['tracker'] },
      ],
    });
    expect((await stat(ruleSetFile(h))).mode & 0o777).toBe(0o644);
  });

  it('does nothing for the revision it already has', async () => {
    const nft = await fakeNft();
    const h = await start();
    await h.execute('firewall.rules.sync', { revision: 'r1', rules: RULES });
    const scripts = (await nft.scripts()).length;
    const out = await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r1', rules: [] });
    expect(out).toMatchObject({ revision: 'r1', changed: false, singbox_reloaded: false });
    expect((await nft.scripts()).length).toBe(scripts);
    expect((await h.execute<RulesListOutput>('firewall.rules.list')).rules).toEqual(RULES);
  });

  it('refuses a list with bad rules, naming every one, and changes nothing', async () => {
    const nft = await fakeNft();
    const h = await start();
    await h.execute('firewall.rules.sync', { revision: 'r1', rules: RULES.slice(0, 2) });
    const before = await readFile(ruleSetFile(h), 'utf8');
    const scripts = (await nft.scripts()).length;
    const bad: Rule[] = [
      { id: 'ok', kind: 'domain', value: 'fine.example' },
      { id: 'wide', kind: 'source_ip', value: '10.0.0.0/33' },
      { id: 'ok', kind: 'port', port: 22 },
      { id: 'no-port', kind: 'destination_port' },
    ];
    const error = await h.execute('firewall.rules.sync', { revision: 'r2', rules: bad }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(
      'rule "wide": "10.0.0.0/33" is not an IP address or CIDR; rule "ok" appears twice; rule "no-port": a destination_port rule needs port',
    );
    expect(await readFile(ruleSetFile(h), 'utf8')).toBe(before);
    expect((await nft.scripts()).length).toBe(scripts);
    expect((await h.execute<RulesListOutput>('firewall.rules.list')).revision).toBe('r1');
    const status = await h.execute<StatusOutput>('firewall.status');
    expect(status.revision).toBe('r1');
    expect(status.last_error).toMatchObject({ revision: 'r2', message: expect.stringContaining('rule "wide"') });
  });

  it('names the rule nft refuses, from the line its error points at, and keeps the rule-set file as it was', async () => {
    const nft = await fakeNft();
    const h = await start();
    await h.execute('firewall.rules.sync', { revision: 'r1', rules: [{ id: 'keep', kind: 'domain', value: 'keep.example' }] });
    const before = await readFile(ruleSetFile(h), 'utf8');
    // Line 8 of the script is the second source_v4 element (after the 3 table lines and the set header).
    // nft's own format (firewall.nftables.test.ts checks it against the real one); later errors are echoes.
    await nft.fail(
      '/dev/stdin:8:7-21: Error: Could not process rule: Numerical result out of range\n      198.51.100.0/24\n      ^^^^^^^^^^^^^^^\n' +
        '/dev/stdin:14:5-8: Error: syntax error, unexpected type\n',
    );
    const rules: Rule[] = [
      { id: 'fine', kind: 'source_ip', value: '192.0.2.1' },
      { id: 'odd', kind: 'source_ip', value: '198.51.100.0/24' },
      { id: 'new-site', kind: 'domain', value: 'new.example' },
    ];
    await expect(h.execute('firewall.rules.sync', { revision: 'r2', rules })).rejects.toThrow(
      new InvalidArgumentError('rule "odd" refused by nftables: Could not process rule: Numerical result out of range'),
    );
    expect(await readFile(ruleSetFile(h), 'utf8')).toBe(before);
    expect((await h.execute<RulesListOutput>('firewall.rules.list')).revision).toBe('r1');
  });

  it('puts the previous table back when the rule-set file cannot be written', async () => {
    const nft = await fakeNft();
    const h = await start();
    await h.execute('firewall.rules.sync', { revision: 'r1', rules: [RULES[0]!] });
    // The temp file's name taken by a folder: the write fails after nft took the new table.
    await mkdir(`${ruleSetFile(h)}.tmp`);
    await expect(h.execute('firewall.rules.sync', { revision: 'r2', rules: [RULES[2]!, RULES[4]!] })).rejects.toThrow(/EISDIR/);
    const [, applied, restored] = (await nft.scripts()).slice(-3);
    expect(applied).toContain('tcp dport @ports_tcp drop');
    expect(restored).toContain('198.51.100.7');
    expect(restored).not.toContain('ports_tcp');
    expect((await h.execute<RulesListOutput>('firewall.rules.list')).revision).toBe('r1');
  });

  it('removes the table when no rule needs it', async () => {
    const nft = await fakeNft();
    const h = await start();
    await h.execute('firewall.rules.sync', { revision: 'r1', rules: [RULES[0]!] });
    const out = await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r2', rules: [RULES[6]!] });
    expect(out.nftables).toBe('empty');
    expect((await nft.scripts()).at(-1)).toBe('table inet boxfleet {}\ndelete table inet boxfleet\n');
  });
});

describe('without a usable nft', () => {
  it('says so in status and still applies the sing-box rules, with a warning', async () => {
    process.env.PATH = tmp; // no nft here
    const h = await start();
    const out = await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r1', rules: RULES });
    expect(out).toMatchObject({ changed: true, nftables: 'unavailable', rule_set: 'applied' });
    expect(out.warnings).toEqual(['nft not found on PATH; source-IP and port blocks are not enforced']);
    expect((await readRuleSet(h)).rules).toHaveLength(5);
    const status = await h.execute<StatusOutput>('firewall.status');
    expect(status.nftables).toEqual({
      available: false,
      table_present: false,
      rules: 0,
      message: 'nft not found on PATH; source-IP and port blocks are not enforced',
    });
  });

  it('treats an nft without permission as unavailable, not as a refused rule', async () => {
    const nft = await fakeNft();
    await nft.fail('Error: cache initialization failed: Operation not permitted\n');
    const h = await start();
    const out = await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r1', rules: RULES });
    expect(out.nftables).toBe('unavailable');
    expect(out.warnings[0]).toMatch(/not permitted.*CAP_NET_ADMIN/);
    const status = await h.execute<StatusOutput>('firewall.status');
    expect(status.nftables).toMatchObject({ available: false, table_present: false });
    expect(status.nftables.message).toMatch(/not permitted/);
  });
});

describe('on the node', () => {
  it('keeps the synced list on disk (0600) and enforces it again at the next start', async () => {
    const nft = await fakeNft();
    const stateDir = await mkdtemp(path.join(tmp, 'state-'));
    const quiet = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };
    const host = () => new PluginHost({ nodeId: 'n', agentVersion: '0.1.0', stateDir, logger: quiet, commandTimeoutMs: 5000 });
    const entry = [{ definition: firewall as AnyPluginDefinition, enabled: true, settings: { blocked_ports: [{ port: 8080, protocol: 'tcp' }] } }];
    const first = host();
    await first.apply(entry);
    await first.execute('firewall.rules.sync', { revision: 'r7', rules: RULES }, { requestId: 't' });
    await first.close();
    expect((await stat(path.join(stateDir, 'firewall', 'rules.json'))).mode & 0o777).toBe(0o600);
    // Stopping removed the table.
    expect((await nft.scripts()).at(-1)).toBe('table inet boxfleet {}\ndelete table inet boxfleet\n');

    const second = host();
    await second.apply(entry);
    const applied = (await nft.scripts()).at(-1)!;
    expect(applied).toContain('198.51.100.7');
    expect(applied).toMatch(/8080/);
    const list = (await second.execute('firewall.rules.list', {}, { requestId: 't' })) as RulesListOutput;
    expect(list.revision).toBe('r7');
    expect(list.rules).toEqual([...RULES, { id: 'local:blocked_ports.0', kind: 'port', port: 8080, protocol: 'tcp', comment: 'agent.yaml' }]);
    await second.close();
  });

  it("lists agent.yaml's blocks as local rules, enforced with the hub's", async () => {
    const nft = await fakeNft();
    const h = await start({ blocked_ips: ['203.0.113.7'], blocked_ports: [{ port: 25, protocol: 'udp' }], block_bittorrent: true });
    await h.execute('firewall.rules.sync', { revision: 'r1', rules: [RULES[0]!] });
    expect((await h.execute<RulesListOutput>('firewall.rules.list')).rules.map((r) => r.id)).toEqual([
      'abuser',
      'local:blocked_ips.0',
      'local:blocked_ports.0',
      'local:block_bittorrent',
    ]);
    expect((await readRuleSet(h)).rules).toEqual([{ ip_cidr: ['203.0.113.7'] }]);
    expect((await nft.scripts()).at(-1)).toMatch(/set ports_udp \{[^}]+25/);
    expect((await h.execute<StatusOutput>('firewall.status')).bittorrent_blocked).toBe(true);
  });
});

describe('firewall.singbox-contribution', () => {
  it('always names the rule-set, and rejects BitTorrent first when it is blocked', async () => {
    await fakeNft();
    const h = await start({ block_bittorrent: true });
    expect(await h.execute('firewall.singbox-contribution')).toEqual({
      route_rules: [
        { protocol: 'bittorrent', action: 'reject' },
        { rule_set: 'boxfleet-block', action: 'reject' },
      ],
      rule_sets: [{ type: 'local', tag: 'boxfleet-block', format: 'source', path: ruleSetFile(h) }],
    });
    // An empty list is still a rule-set file, so the first rule later needs no reload.
    expect(await readRuleSet(h)).toEqual({ version: 4, rules: [] });
  });
});

/** A stand-in singbox-config: serves what it renders from the firewall's contribution, counts reloads. */
function fakeSingbox(binary?: string, running = false) {
  const state = { reloads: 0, rendered: null as Record<string, unknown> | null, failReload: false };
  const plugin = definePlugin({
    id: 'singbox-config',
    version: '0.0.0',
    agent: '>=0.1.0 <1',
    commands: {
      status: { description: '', input: Type.Object({}), output: Type.Object({ running: Type.Boolean() }) },
      'config.get': { description: '', input: Type.Object({}), output: Type.Object({ rendered: Type.Unknown() }) },
      reload: { description: '', input: Type.Object({}), output: Type.Object({}), mutates: true },
    },
    start(ctx) {
      const render = async () => {
        const c = await ctx.call<{ route_rules: unknown[]; rule_sets: unknown[] }>('firewall.singbox-contribution');
        return { route: { rules: [{ action: 'sniff' }, ...c.route_rules, { protocol: 'bittorrent', action: 'reject' }], rule_set: c.rule_sets } };
      };
      return {
        commands: {
          status: async () => ({ running, found: binary !== undefined, binary: binary ?? null }),
          'config.get': async () => ({ rendered: state.rendered }),
          reload: async () => {
            const next = await render();
            if (state.failReload) throw new UnavailableError('sing-box check failed');
            state.rendered = next;
            state.reloads += 1;
            return {};
          },
        },
      };
    },
  });
  return { state, plugin: plugin as AnyPluginDefinition };
}

describe('with singbox-config', () => {
  it('reloads sing-box only when BitTorrent is switched on or off', async () => {
    await fakeNft();
    const sb = fakeSingbox();
    const h = await start({}, [sb.plugin]);
    // What singbox-config served before: the rule-set without BitTorrent.
    await h.execute('singbox-config.reload');
    sb.state.reloads = 0;
    const torrent = { id: 'bt', kind: 'bittorrent' } satisfies Rule;
    const site = { id: 'site', kind: 'domain', value: 'a.example' } satisfies Rule;

    expect(await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r1', rules: [site] })).toMatchObject({ singbox_reloaded: false });
    expect(await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r2', rules: [site, torrent] })).toMatchObject({ singbox_reloaded: true });
    expect(sb.state.reloads).toBe(1);
    expect(await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r3', rules: [torrent] })).toMatchObject({ singbox_reloaded: false });
    // Off again, although the base config rejects BitTorrent itself further down.
    expect(await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r4', rules: [] })).toMatchObject({ singbox_reloaded: true });
    expect(sb.state.reloads).toBe(2);
  });

  it('brings a served config that predates the rule-set in step at start, with one reload', async () => {
    await fakeNft();
    const sb = fakeSingbox();
    sb.state.rendered = { route: { rules: [{ action: 'sniff' }], final: 'direct' } };
    const h = await start({}, [sb.plugin]);
    await until('the reload at start', () => sb.state.reloads === 1, 5000);
    expect((sb.state.rendered.route as { rule_set: unknown[] }).rule_set).toEqual([
      { type: 'local', tag: 'boxfleet-block', format: 'source', path: ruleSetFile(h) },
    ]);
    expect(await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r1', rules: [RULES[6]!] })).toMatchObject({ singbox_reloaded: false });
    expect(sb.state.reloads).toBe(1);
  });

  it("tells from the file's access time whether sing-box read the new rule-set", async () => {
    await fakeNft();
    const sb = fakeSingbox(undefined, true);
    const h = await start({}, [sb.plugin]);
    await h.execute('singbox-config.reload');
    // Nothing reads the new file here: the sync waits for it, then says so.
    const out = await h.execute<RulesSyncOutput>('firewall.rules.sync', { revision: 'r1', rules: [RULES[6]!] });
    expect(out.warnings).toEqual([`sing-box has not read the new ${ruleSetFile(h)} within 3 s; see firewall.status`]);
    // The plugin's own reads (status, the next sync comparing contents) do not count.
    expect((await h.execute<StatusOutput>('firewall.status')).rule_set).toMatchObject({ rules: 1, loaded: false });
    await h.execute('firewall.rules.sync', { revision: 'r2', rules: [RULES[6]!] });
    expect((await h.execute<StatusOutput>('firewall.status')).rule_set.loaded).toBe(false);
    await readFile(ruleSetFile(h)); // as sing-box does when it sees the rename
    expect((await h.execute<StatusOutput>('firewall.status')).rule_set).toMatchObject({
      loaded: true,
      message: 'sing-box read the rule-set after it was last written',
    });
  });

  it('puts everything back when the reload fails', async () => {
    const nft = await fakeNft();
    const sb = fakeSingbox();
    const h = await start({}, [sb.plugin]);
    await h.execute('singbox-config.reload');
    await h.execute('firewall.rules.sync', { revision: 'r1', rules: [RULES[0]!, RULES[6]!] });
    const before = await readFile(ruleSetFile(h), 'utf8');
    sb.state.failReload = true;
    const rules = [{ id: 'bt', kind: 'bittorrent' }, RULES[2]!, RULES[7]!];
    await expect(h.execute('firewall.rules.sync', { revision: 'r2', rules })).rejects.toThrow(/sing-box check failed/);
    expect(await readFile(ruleSetFile(h), 'utf8')).toBe(before);
    expect((await nft.scripts()).at(-1)).toContain('198.51.100.7');
    expect((await nft.scripts()).at(-1)).not.toContain('ports_tcp');
    const status = await h.execute<StatusOutput>('firewall.status');
    expect(status).toMatchObject({ revision: 'r1', bittorrent_blocked: false, last_error: { revision: 'r2' } });
    expect((await h.execute<{ route_rules: unknown[] }>('firewall.singbox-contribution')).route_rules).toHaveLength(1);
  });
});

describe('a rule-set sing-box refuses', () => {
  it('is checked with sing-box before anything changes, and the rule is named', async () => {
    const nft = await fakeNft();
    // A stand-in sing-box whose check refuses the second ip_cidr value of a file holding 198.51.100.9.
    const singbox = path.join(await mkdtemp(path.join(tmp, 'sb-')), 'sing-box');
    await writeFile(
      singbox,
      `#!/bin/sh
file=$(grep -o '"path":"[^"]*"' | cut -d'"' -f4)
if grep -q 198.51.100.9 "$file"; then
  echo 'FATAL[0000] initialize router: parse rule-set[0]: parse rule_set.rules.[0]: ipcidr: parse [1]: netip.ParsePrefix("198.51.100.9"): refused here' >&2
  exit 1
fi
`,
    );
    await chmod(singbox, 0o755);
    const h = await start({}, [fakeSingbox(singbox).plugin]);
    await h.execute('firewall.rules.sync', { revision: 'r1', rules: [RULES[0]!, RULES[4]!] });
    const before = await readFile(ruleSetFile(h), 'utf8');
    const scripts = (await nft.scripts()).length;
    const rules: Rule[] = [RULES[4]!, { id: 'odd-dest', kind: 'destination_ip', value: '198.51.100.9' }, RULES[2]!];
    await expect(h.execute('firewall.rules.sync', { revision: 'r2', rules })).rejects.toThrow(
      new InvalidArgumentError('rule "odd-dest" refused by sing-box: netip.ParsePrefix("198.51.100.9"): refused here'),
    );
    expect(await readFile(ruleSetFile(h), 'utf8')).toBe(before);
    expect((await nft.scripts()).length).toBe(scripts);
    expect((await h.execute<RulesListOutput>('firewall.rules.list')).revision).toBe('r1');
    expect(await readdir(path.dirname(ruleSetFile(h)))).toEqual(['boxfleet-block.json', 'rules.json']);
  });
});

describe('firewall config', () => {
  it('refuses to run with an address that is not an IP or CIDR, naming the entry', async () => {
    await fakeNft();
    const h = await start({ blocked_ips: ['10.0.0.1', '10.0.0.0/33'] });
    const [status] = await h.describe();
    expect(status).toMatchObject({ state: 'failed', healthy: false });
    expect(status!.message).toContain('plugins.firewall.blocked_ips.1: "10.0.0.0/33" is not an IP address or CIDR');
    await expect(h.execute('firewall.status')).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it('refuses an unknown protocol at load, naming the field', async () => {
    await expect(start({ blocked_ports: [{ port: 25, protocol: 'icmp' }] })).rejects.toThrow(
      new InvalidArgumentError('plugins.firewall.blocked_ports.0.protocol: must be one of tcp, udp'),
    );
  });

  it('refuses a table name nft would not accept', async () => {
    await expect(start({ table: 'x; flush ruleset' })).rejects.toThrow(/^plugins\.firewall\.table: must match pattern/);
  });
});

describe('ruleListProblems (the check the hub runs too)', () => {
  it('takes addresses and prefixes as nft and sing-box read them, and refuses zero-padded prefixes', () => {
    const ip = (value: string): Rule => ({ id: 'r', kind: 'destination_ip', value });
    for (const good of ['192.0.2.1', '0.0.0.0/0', '10.0.0.0/8', '::', '::ffff:192.0.2.1', '2001:db8::/32', '2001:db8::1/128']) {
      expect(ruleListProblems([ip(good)])).toEqual([]);
    }
    // nft reads "/024" as octal (a /20); sing-box refuses it.
    for (const bad of ['192.0.2.0/024', '10.0.0.0/08', '2001:db8::/064', '01.2.3.4', '10.0.0.0/33', '1::2::3', 'example.org']) {
      expect(ruleListProblems([ip(bad)])).toEqual([`rule "r": ${JSON.stringify(bad)} is not an IP address or CIDR`]);
    }
  });
});
