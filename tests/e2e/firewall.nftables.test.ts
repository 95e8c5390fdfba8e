// The firewall's nftables layer against the real kernel: two network namespaces the test makes (a
// "node" with TCP listeners, a "client" side with two addresses), joined by a veth pair. The
// plugin runs in this process; its `nft` is the real one, entered into the node's namespace.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../agent-core/common/errors.js';
import { PluginHost } from '../../agent-core/plugin-host.js';
import type { AnyPluginDefinition } from '../../agent-core/sdk.js';
import type { Rule, RulesSyncOutput, StatusOutput } from '../../plugins/firewall/contract.js';
import firewall from '../../plugins/firewall/index.js';
import { until } from '../support/until.js';
import { applyNft, findOnPath } from '../../plugins/firewall/nft.js';
import type { NftPlan } from '../../plugins/firewall/plan.js';

const run = promisify(execFile);
const tag = `fwnode-${process.pid}`;
const NODE_NS = `${tag}-n`;
const CLIENT_NS = `${tag}-c`;
const NODE = '10.213.0.10';
const BLOCKED = '10.213.0.2';
const OTHER = '10.213.0.3';
const NODE6 = 'fd13::10';
const BLOCKED6 = 'fd13::2';
const [OPEN_PORT, CLOSED_PORT] = [8080, 9090];
const TABLE = 'fwnode_e2e';

// Namespaces need root. In the real set (BOXFLEET_TEST_SET=real, .ci/run runs it as root) a
// missing capability is a failure, so the test only steps aside outside it, for a non-root run.
const canRun = process.getuid?.() === 0 || process.env.BOXFLEET_TEST_SET === 'real';

/** Accepts on every port given and says hello; runs inside the node namespace. */
const LISTENER = `
const net = require('node:net');
const ports = process.argv.slice(1).map(Number);
let up = 0;
for (const port of ports) net.createServer((s) => s.end('hello')).listen(port, '::', () => ++up === ports.length && console.log('ready'));
`;

/** Connects from one address to node:port and prints what happened. */
const PROBE = `
const net = require('node:net');
const [host, port, localAddress] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port), localAddress });
s.setTimeout(800, () => { console.log('dropped'); process.exit(0); });
s.on('data', () => { console.log('open'); process.exit(0); });
s.on('error', (e) => { console.log(e.code === 'ECONNREFUSED' ? 'refused' : e.code); process.exit(0); });
`;

async function probe(from: string, port: number): Promise<string> {
  const to = from.includes(':') ? NODE6 : NODE;
  const { stdout } = await run('ip', ['netns', 'exec', CLIENT_NS, process.execPath, '-e', PROBE, to, String(port), from]);
  return stdout.trim();
}

async function sh(...args: string[]): Promise<void> {
  await run(args[0]!, args.slice(1));
}

describe.skipIf(!canRun)('firewall with real nftables', { timeout: 60_000 }, () => {
  let dir: string;
  let listener: ChildProcess;
  let host: PluginHost;
  const originalPath = process.env.PATH;
  const quiet = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };
  const entry = (enabled: boolean) => [{ definition: firewall as AnyPluginDefinition, enabled, settings: { table: TABLE } }];
  const sync = (revision: string, rules: Rule[]) =>
    host.execute('firewall.rules.sync', { revision, rules }, { requestId: 't' }) as Promise<RulesSyncOutput>;
  const status = () => host.execute('firewall.status', {}, { requestId: 't' }) as Promise<StatusOutput>;
  const table = () => run('ip', ['netns', 'exec', NODE_NS, 'nft', 'list', 'table', 'inet', TABLE]).then((r) => r.stdout, () => undefined);

  let realNft: string;
  /**
   * The plugin's nft: the real binary, acting on the node's namespace, as root or (`no-cap`)
   * without CAP_NET_ADMIN, as on a node where the agent may not change the firewall.
   */
  async function nftAs(who: 'root' | 'no-cap'): Promise<void> {
    const drop = who === 'no-cap' ? 'setpriv --bounding-set=-net_admin ' : '';
    await writeFile(path.join(dir, 'bin', 'nft'), `#!/bin/sh\nexec ip netns exec ${NODE_NS} ${drop}${realNft} "$@"\n`);
    await chmod(path.join(dir, 'bin', 'nft'), 0o755);
  }

  beforeAll(async () => {
    // Found before the stand-in goes first on PATH.
    const nft = await findOnPath('nft');
    if (!nft) throw new Error('no nft on PATH: apt-get install nftables (.ci/run installs it)');
    realNft = nft;
    dir = await mkdtemp(path.join(os.tmpdir(), 'fwnode-nft-'));
    await sh('ip', 'netns', 'add', NODE_NS);
    await sh('ip', 'netns', 'add', CLIENT_NS);
    await sh('ip', 'link', 'add', `${tag}a`.slice(0, 15), 'netns', CLIENT_NS, 'type', 'veth', 'peer', 'name', `${tag}b`.slice(0, 15), 'netns', NODE_NS);
    const inNs = (ns: string, ...args: string[]) => sh('ip', '-n', ns, ...args);
    await inNs(CLIENT_NS, 'addr', 'add', `${BLOCKED}/24`, 'dev', `${tag}a`.slice(0, 15));
    await inNs(CLIENT_NS, 'addr', 'add', `${OTHER}/24`, 'dev', `${tag}a`.slice(0, 15));
    await inNs(NODE_NS, 'addr', 'add', `${NODE}/24`, 'dev', `${tag}b`.slice(0, 15));
    // nodad: usable at once, without duplicate address detection's wait.
    await inNs(CLIENT_NS, 'addr', 'add', `${BLOCKED6}/64`, 'dev', `${tag}a`.slice(0, 15), 'nodad');
    await inNs(NODE_NS, 'addr', 'add', `${NODE6}/64`, 'dev', `${tag}b`.slice(0, 15), 'nodad');
    for (const [ns, dev] of [[CLIENT_NS, `${tag}a`], [NODE_NS, `${tag}b`]] as const) {
      await inNs(ns, 'link', 'set', dev.slice(0, 15), 'up');
      await inNs(ns, 'link', 'set', 'lo', 'up');
    }
    const bin = path.join(dir, 'bin');
    await sh('mkdir', bin);
    await nftAs('root');
    process.env.PATH = `${bin}:${originalPath}`;

    listener = spawn('ip', ['netns', 'exec', NODE_NS, process.execPath, '-e', LISTENER, String(OPEN_PORT), String(CLOSED_PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      listener.stdout!.once('data', () => resolve());
      listener.once('exit', (code) => reject(new Error(`listener exited with ${code}`)));
    });
    // A fresh link takes a moment to carry IPv6 (neighbour discovery while its link-local address is tentative).
    for (const from of [BLOCKED, OTHER, BLOCKED6]) await until(`a connection from ${from}`, async () => (await probe(from, OPEN_PORT)) === 'open', 10_000);
    host = new PluginHost({ nodeId: 'nft', agentVersion: '0.1.0', stateDir: path.join(dir, 'state'), logger: quiet, commandTimeoutMs: 20_000 });
    await host.apply(entry(true));
  });

  afterAll(async () => {
    process.env.PATH = originalPath;
    await host?.close();
    listener?.kill();
    // Deleting a namespace takes its end of the veth pair, and with it the other end.
    for (const ns of [NODE_NS, CLIENT_NS]) await sh('ip', 'netns', 'del', ns).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('drops a blocked source address and a blocked port; the rest connects; removing the rules reopens them', async () => {
    expect([await probe(BLOCKED, OPEN_PORT), await probe(OTHER, CLOSED_PORT), await probe(BLOCKED6, OPEN_PORT)]).toEqual(['open', 'open', 'open']);

    const out = await sync('r1', [
      { id: 'abuser', kind: 'source_ip', value: `${BLOCKED}/32`, comment: 'scans us' },
      { id: 'abuser6', kind: 'source_ip', value: 'fd13::/126' },
      { id: 'no-9090', kind: 'port', port: CLOSED_PORT, protocol: 'tcp' },
    ]);
    expect(out).toMatchObject({ changed: true, nftables: 'applied', warnings: [] });
    expect(await probe(BLOCKED, OPEN_PORT)).toBe('dropped');
    expect(await probe(BLOCKED6, OPEN_PORT)).toBe('dropped');
    expect(await probe(OTHER, OPEN_PORT)).toBe('open');
    expect(await probe(OTHER, CLOSED_PORT)).toBe('dropped');
    expect((await status()).nftables).toEqual({ available: true, table_present: true, rules: 3, message: `table inet ${TABLE} is in place` });

    await sync('r2', [{ id: 'no-9090', kind: 'port', port: CLOSED_PORT, protocol: 'tcp' }]);
    expect(await probe(BLOCKED, OPEN_PORT)).toBe('open');
    expect(await probe(BLOCKED6, OPEN_PORT)).toBe('open');
    expect(await probe(BLOCKED, CLOSED_PORT)).toBe('dropped');

    expect(await sync('r3', [])).toMatchObject({ nftables: 'empty' });
    expect(await probe(BLOCKED, CLOSED_PORT)).toBe('open');
    expect(await table()).toBeUndefined();
  });

  it('refuses a zero-padded prefix (nft would read it as octal) before nft sees it, and changes nothing', async () => {
    await sync('r4', [{ id: 'abuser', kind: 'source_ip', value: BLOCKED }]);
    const before = await table();
    const rules: Rule[] = [
      { id: 'abuser', kind: 'source_ip', value: BLOCKED },
      { id: 'padded', kind: 'source_ip', value: '192.0.2.0/024' },
      { id: 'no-8080', kind: 'port', port: OPEN_PORT },
    ];
    await expect(sync('r5', rules)).rejects.toThrow(new InvalidArgumentError('rule "padded": "192.0.2.0/024" is not an IP address or CIDR'));
    expect(await table()).toBe(before);
    expect(await probe(OTHER, OPEN_PORT)).toBe('open');
    expect(await probe(BLOCKED, OPEN_PORT)).toBe('dropped');
    expect((await status()).revision).toBe('r4');
  });

  it("names the rule on the line nft's own error points at, and the kernel keeps the table as it was", async () => {
    // No rule that passes the shared check is refused by nft, so the script goes to nft directly
    // with an element its parser does not take ("/08": not octal).
    const before = await table();
    const plan: NftPlan = {
      sourceV4: [{ value: '198.51.100.7', rule: 'fine' }, { value: '10.0.0.0/08', rule: 'odd' }],
      sourceV6: [],
      tcpPorts: [{ value: String(OPEN_PORT), rule: 'no-8080' }],
      udpPorts: [],
    };
    const error = await applyNft(TABLE, plan).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe('rule "odd" refused by nftables: syntax error, unexpected string, expecting number');
    expect(await table()).toBe(before);
    expect(await probe(OTHER, OPEN_PORT)).toBe('open');
  });

  it('says plainly when nft may not change tables, and still applies the rule-set', async () => {
    await sync('r6', []);
    await nftAs('no-cap');
    try {
      const out = await sync('r7', [
        { id: 'abuser', kind: 'source_ip', value: BLOCKED },
        { id: 'bad-site', kind: 'domain', value: 'bad.example' },
      ]);
      const why = 'nft is not permitted to change tables (run the agent as root or with CAP_NET_ADMIN); source-IP and port blocks are not enforced';
      expect(out).toMatchObject({ changed: true, nftables: 'unavailable', rule_set: 'applied', warnings: [why] });
      expect((await status()).nftables).toEqual({ available: false, table_present: false, rules: 0, message: why });
      expect(await probe(BLOCKED, OPEN_PORT)).toBe('open');
    } finally {
      await nftAs('root');
    }
  });

  it('removes its table when the plugin is disabled', async () => {
    await sync('r8', [{ id: 'abuser', kind: 'source_ip', value: BLOCKED }]);
    expect(await table()).toContain('ip saddr @source_v4 drop');
    await host.apply(entry(false));
    expect(await table()).toBeUndefined();
    expect(await probe(BLOCKED, OPEN_PORT)).toBe('open');
  });
});
