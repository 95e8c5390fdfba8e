// singbox-config against a real sing-box (tests/support/real-components.ts says which one); the
// cases that need none are in singbox-config.test.ts and singbox-config.render.test.ts.
// Every sing-box these tests start runs from a folder under `root`; afterAll kills them all.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidArgumentError } from '../../../agent-core/common/errors.js';
import type { Harness } from '../../../agent-core/harness.js';
import { checkBase, render } from '../../../plugins/singbox-config/render.js';
import { singboxBin } from '../../support/real-components.js';
import {
  closeHarness,
  fakeClashStats,
  freePort,
  isAlive,
  killAllUnder,
  pidsMentioning,
  startNode,
  status,
  tcpConnects,
  tlsFiles,
  user,
  type Node,
  type Status,
} from './singbox-config.helpers.js';

const run = promisify(execFile);
const originalPath = process.env.PATH;
let bin: string;
let root: string;
const open: Harness[] = [];

beforeAll(() => {
  bin = singboxBin();
  root = mkdtempSync(path.join(os.tmpdir(), 'sbc-real-'));
});
afterEach(async () => {
  process.env.PATH = originalPath;
  await closeHarness();
  for (const h of open.splice(0)) await h.close();
});
afterAll(async () => {
  killAllUnder(root);
  await rm(root, { recursive: true, force: true });
});

async function node(settings: Record<string, unknown> = {}, options: Parameters<typeof startNode>[1] = {}): Promise<Node> {
  const n = await startNode({ binary: bin, ...settings }, { root, ...options });
  open.push(n.harness);
  return n;
}

const statusOf = (h: Harness) => h.execute<Status>('singbox-config.status');

function vlessBase(port: number, extra: Record<string, unknown> = {}) {
  return {
    log: { level: 'info' },
    inbounds: [{ type: 'vless', tag: 'vless-in', listen: '127.0.0.1', listen_port: port, ...extra }],
    outbounds: [{ type: 'direct', tag: 'direct' }],
  };
}

async function countStarted(n: Node): Promise<number> {
  const log = await readFile(path.join(n.workDir, 'sing-box.log'), 'utf8');
  return log.split('\n').filter((line) => line.includes('sing-box started')).length;
}

describe('singbox-config.status with a real sing-box', () => {
  let empty: string | undefined;

  beforeAll(async () => {
    empty = await mkdtemp(path.join(os.tmpdir(), 'singbox-config-test-'));
  });
  afterAll(async () => {
    if (empty) await rm(empty, { recursive: true, force: true });
  });

  it('reads the version and build tags of the configured binary', async () => {
    const result = await status({ binary: bin });
    expect(result.found, result.message).toBe(true);
    expect(result.binary).toBe(path.resolve(bin));
    expect(result.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(result.tags.length).toBeGreaterThan(0);
    for (const tag of result.tags) expect(tag).toMatch(/^with_[a-z0-9_]+$/);
    expect(result.message).toBe(`sing-box ${result.version} at ${path.resolve(bin)}`);
  });

  it('finds a bare name on PATH and reports its absolute path', async () => {
    // An empty directory first, so the lookup has to walk on to the one holding sing-box.
    process.env.PATH = [empty, path.dirname(path.resolve(bin))].join(path.delimiter);
    const result = await status({ binary: path.basename(bin) });
    expect(result.found, result.message).toBe(true);
    expect(result.binary).toBe(path.resolve(bin));
    expect(result.version).not.toBeNull();
  });
});

describe('rendered configs pass sing-box check', () => {
  it('accepts users injected into vless, vmess, trojan, shadowsocks 2022 (16 and 32 bytes), hysteria2, tuic and anytls', async () => {
    const dir = mkdtempSync(path.join(root, 'check-'));
    const tls = { enabled: true, ...tlsFiles(bin, dir) };
    const base = {
      inbounds: [
        { type: 'vless', tag: 'vless', listen: '127.0.0.1', listen_port: 20001 },
        { type: 'vmess', tag: 'vmess', listen: '127.0.0.1', listen_port: 20002 },
        { type: 'trojan', tag: 'trojan', listen: '127.0.0.1', listen_port: 20003, tls },
        { type: 'shadowsocks', tag: 'ss128', listen: '127.0.0.1', listen_port: 20004, method: '2022-blake3-aes-128-gcm', password: Buffer.alloc(16, 1).toString('base64') },
        { type: 'shadowsocks', tag: 'ss256', listen: '127.0.0.1', listen_port: 20005, method: '2022-blake3-aes-256-gcm', password: Buffer.alloc(32, 2).toString('base64') },
        { type: 'shadowsocks', tag: 'ss-managed', listen: '127.0.0.1', listen_port: 20006, method: '2022-blake3-aes-128-gcm', password: Buffer.alloc(16, 3).toString('base64'), managed: true },
        { type: 'hysteria2', tag: 'hy2', listen: '127.0.0.1', listen_port: 20007, tls },
        { type: 'tuic', tag: 'tuic', listen: '127.0.0.1', listen_port: 20008, tls: { ...tls, alpn: ['h3'] } },
        { type: 'anytls', tag: 'anytls', listen: '127.0.0.1', listen_port: 20009, tls },
      ],
    };
    checkBase(base);
    const config = render({
      base,
      users: [user('alice', { flow: 'xtls-rprx-vision' }), user('bob')],
      routeRules: [{ ip_cidr: ['203.0.113.7', '2001:db8::/32'], action: 'reject' }, { protocol: 'bittorrent', action: 'reject' }],
      experimental: { clash_api: { external_controller: '127.0.0.1:20010', secret: 's' }, v2ray_api: { listen: '127.0.0.1:20011', stats: { enabled: true, users: ['alice', 'bob'] } } },
      ssm: { port: 20012, prefixes: { 'ss-managed': '/ssm-x' } },
    });
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify(config));
    await expect(run(bin, ['check', '-c', file]), 'sing-box check').resolves.toBeDefined();
  });
});

describe('config.apply with a real sing-box (process mode)', () => {
  it('serves a good config on its TCP and UDP ports and keeps it as version 1', async () => {
    const n = await node();
    const [tcp, udp] = [await freePort(), await freePort()];
    const tls = { enabled: true, ...tlsFiles(bin, n.dir) };
    const base = {
      log: { level: 'info' },
      inbounds: [
        { type: 'vless', tag: 'vless-in', listen: '127.0.0.1', listen_port: tcp },
        { type: 'hysteria2', tag: 'hy2-in', listen: '127.0.0.1', listen_port: udp, tls },
      ],
    };
    const result = await n.harness.execute<{ version: number; hash: string; reloaded: boolean }>('singbox-config.config.apply', { config: base, comment: 'first' });
    expect(result).toMatchObject({ version: 1, reloaded: true });
    expect(await tcpConnects(tcp)).toBe(true);
    const udpTable = (await readFile('/proc/net/udp', 'utf8')) + (await readFile('/proc/net/udp6', 'utf8'));
    expect(udpTable).toContain(`:${udp.toString(16).toUpperCase().padStart(4, '0')} `);

    const s = await statusOf(n.harness);
    expect(s).toMatchObject({ running: true, restarts: 0, config: { version: 1, hash: result.hash }, last_apply: { action: 'config.apply', ok: true } });
    expect(pidsMentioning(n.configPath)).toEqual([s.pid]);
    const served = JSON.parse(await readFile(n.configPath, 'utf8'));
    expect(served.route.rules[0]).toEqual({ action: 'sniff' });
    const history = await n.harness.execute<{ current: number; versions: { version: number; comment: string }[] }>('singbox-config.config.history');
    expect(history).toMatchObject({ current: 1, versions: [{ version: 1, comment: 'first' }] });
  });

  it("refuses a config sing-box rejects with sing-box's own message, and the previous config keeps serving", async () => {
    const n = await node();
    const port = await freePort();
    await n.harness.execute('singbox-config.config.apply', { config: vlessBase(port) });
    const before = await readFile(n.configPath, 'utf8');
    const { pid } = await statusOf(n.harness);

    const bad = vlessBase(await freePort(), { no_such_field: 1 });
    const error = await n.harness.execute('singbox-config.config.apply', { config: bad }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/^sing-box check refused the config: FATAL\[\d+\] decode config at .*: inbounds\[0\]\.no_such_field: json: unknown field "no_such_field"$/);

    expect(await readFile(n.configPath, 'utf8')).toBe(before);
    expect(await tcpConnects(port)).toBe(true);
    expect(await statusOf(n.harness)).toMatchObject({ pid, running: true, config: { version: 1 }, last_apply: { ok: false } });
  });

  it('refuses a port another process holds, naming inbound, port and "address already in use", and changes nothing', async () => {
    const n = await node();
    const port = await freePort();
    await n.harness.execute('singbox-config.config.apply', { config: vlessBase(port) });
    const before = await readFile(n.configPath, 'utf8');
    const { pid } = await statusOf(n.harness);

    const squatter = net.createServer();
    const taken = await freePort();
    await new Promise<void>((resolve) => squatter.listen(taken, '127.0.0.1', resolve));
    try {
      const error = await n.harness.execute('singbox-config.config.apply', { config: vlessBase(taken) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FailedPreconditionError);
      expect((error as Error).message).toBe(`config not applied: inbound "vless-in" 127.0.0.1:${taken}/tcp: address already in use`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    expect(await readFile(n.configPath, 'utf8')).toBe(before);
    expect(await tcpConnects(port)).toBe(true);
    const after = await statusOf(n.harness);
    expect(after).toMatchObject({ pid, running: true, config: { version: 1 } });
    expect(await countStarted(n)).toBe(1);
  });

  it('rolls back a config that passes check but fails to start, quoting the FATAL line, and the old one serves again', async () => {
    const n = await node();
    const port = await freePort();
    await n.harness.execute('singbox-config.config.apply', { config: vlessBase(port) });
    const before = await readFile(n.configPath, 'utf8');

    // sing-box check does not open the cache file; starting does, and dies.
    const failing = { ...vlessBase(await freePort()), experimental: { cache_file: { enabled: true, path: '/proc/no-such-dir/cache.db' } } };
    const error = await n.harness.execute('singbox-config.config.apply', { config: failing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toMatch(/^config not applied: sing-box exited: FATAL.*cache.db.*; restored the previous config; sing-box serves it$/);

    expect(await readFile(n.configPath, 'utf8')).toBe(before);
    expect(await tcpConnects(port)).toBe(true);
    expect(await statusOf(n.harness)).toMatchObject({ running: true, config: { version: 1 } });
    expect(pidsMentioning(n.configPath)).toHaveLength(1);
  });

  it('rolls back to the previous version as a new version', async () => {
    const n = await node();
    const [a, b] = [await freePort(), await freePort()];
    await n.harness.execute('singbox-config.config.apply', { config: vlessBase(a), comment: 'on a' });
    await n.harness.execute('singbox-config.config.apply', { config: vlessBase(b), comment: 'on b' });
    expect(await tcpConnects(b)).toBe(true);

    const result = await n.harness.execute('singbox-config.config.rollback', {});
    expect(result).toMatchObject({ version: 3, restored: 1, reloaded: true });
    expect(await tcpConnects(a)).toBe(true);
    expect(await tcpConnects(b)).toBe(false);
    const history = await n.harness.execute<{ current: number; versions: { version: number; comment: string }[] }>('singbox-config.config.history');
    expect(history.current).toBe(3);
    expect(history.versions.map((v) => [v.version, v.comment])).toEqual([[3, 'rollback to version 1'], [2, 'on b'], [1, 'on a']]);
    const got = await n.harness.execute<{ base: unknown }>('singbox-config.config.get');
    expect(got.base).toEqual(vlessBase(a));
  });
});

describe('supervision (process mode)', () => {
  it('restarts a sing-box killed with SIGKILL and reports it', async () => {
    const n = await node();
    const port = await freePort();
    await n.harness.execute('singbox-config.config.apply', { config: vlessBase(port) });
    const { pid } = await statusOf(n.harness);

    const exited = n.harness.nextEvent('singbox-config.singbox.exited', 10_000);
    process.kill(pid!, 'SIGKILL');
    const event = await exited;
    expect(event.payload).toMatchObject({ pid, signal: 'SIGKILL', reason: 'killed by SIGKILL', restart_in_ms: 1000 });

    await expect.poll(async () => (await statusOf(n.harness)).restarts, { timeout: 10_000 }).toBe(1);
    const after = await statusOf(n.harness);
    expect(after.running).toBe(true);
    expect(after.pid).not.toBe(pid);
    expect(after.last_exit).toMatchObject({ pid, signal: 'SIGKILL' });
    await expect.poll(() => tcpConnects(port), { timeout: 5000 }).toBe(true);
    expect(pidsMentioning(n.configPath)).toEqual([after.pid]);
  });

  it('keeps sing-box serving when the agent goes away, and a new agent re-attaches to it without starting a second one', async () => {
    const first = await node();
    const port = await freePort();
    await first.harness.execute('singbox-config.config.apply', { config: vlessBase(port) });
    const { pid } = await statusOf(first.harness);
    await first.harness.close();
    open.splice(open.indexOf(first.harness), 1);

    expect(isAlive(pid!)).toBe(true);
    expect(await tcpConnects(port)).toBe(true);

    const second = await node({}, { dir: first.dir });
    const s = await statusOf(second.harness);
    expect(s).toMatchObject({ running: true, pid, config: { version: 1 } });
    expect(pidsMentioning(first.configPath)).toEqual([pid]);

    // Not our child any more: its death is noticed by polling, and it is restarted.
    process.kill(pid!, 'SIGKILL');
    await expect.poll(async () => (await statusOf(second.harness)).restarts, { timeout: 15_000 }).toBe(1);
    const after = await statusOf(second.harness);
    expect(after.last_exit?.reason).toMatch(/^exited \(not a child of this agent/);
    expect(pidsMentioning(first.configPath)).toEqual([after.pid]);
    await expect.poll(() => tcpConnects(port), { timeout: 5000 }).toBe(true);
  });
});

describe('users.sync with a real sing-box', () => {
  it('turns a burst of five calls within coalesce_ms into one reload, and every call gets the combined result', async () => {
    const n = await node({ coalesce_ms: 1000 });
    await n.harness.execute('singbox-config.config.apply', { config: vlessBase(await freePort()) });
    const reloadsBefore = (await statusOf(n.harness)).reloads;
    const startedBefore = await countStarted(n);

    const names = ['u1', 'u2', 'u3', 'u4', 'u5'];
    const results = await Promise.all(
      names.map((_, i) => n.harness.execute('singbox-config.users.sync', { revision: i + 1, users: names.slice(0, i + 1).map((name) => user(name)) }, { remote: true })),
    );
    for (const result of results) expect(result).toEqual({ revision: 5, changed: true, reloaded: true, locally_removed: [] });
    expect((await statusOf(n.harness)).reloads).toBe(reloadsBefore + 1);
    expect(await countStarted(n)).toBe(startedBefore + 1);
    const served = JSON.parse(await readFile(n.configPath, 'utf8'));
    expect(served.inbounds[0].users.map((u: { name: string }) => u.name)).toEqual(names);
    expect((await statusOf(n.harness)).users).toMatchObject({ revision: 5, count: 5, served: 5 });
  });

  it('shows the served users in config.get by name, with their credentials redacted', async () => {
    const n = await node({ coalesce_ms: 0 });
    await n.harness.execute('singbox-config.config.apply', { config: vlessBase(await freePort()) });
    await n.harness.execute('singbox-config.users.sync', { revision: 1, users: [user('alice'), user('bob')] });
    const got = await n.harness.execute<{ rendered: { inbounds: { users: unknown[] }[] } }>('singbox-config.config.get');
    expect(got.rendered.inbounds[0]!.users).toEqual([
      { name: 'alice', uuid: '<redacted>', flow: '' },
      { name: 'bob', uuid: '<redacted>', flow: '' },
    ]);
  });

  it('treats the same revision again as a no-op', async () => {
    const n = await node({ coalesce_ms: 0 });
    await n.harness.execute('singbox-config.config.apply', { config: vlessBase(await freePort()) });
    const snapshot = { revision: 7, users: [user('alice')] };
    expect(await n.harness.execute('singbox-config.users.sync', snapshot)).toMatchObject({ revision: 7, changed: true, reloaded: true });
    const reloads = (await statusOf(n.harness)).reloads;
    expect(await n.harness.execute('singbox-config.users.sync', snapshot)).toEqual({ revision: 7, changed: false, reloaded: false, locally_removed: [] });
    expect((await statusOf(n.harness)).reloads).toBe(reloads);
  });

  it('changes managed shadowsocks users through the SSM API, without a reload, and sends them again after a restart', async () => {
    const n = await node({ coalesce_ms: 0, ssm_api_port: await freePort() });
    const base = {
      inbounds: [{ type: 'shadowsocks', tag: 'ss-m', listen: '127.0.0.1', listen_port: await freePort(), method: '2022-blake3-aes-128-gcm', password: Buffer.alloc(16, 9).toString('base64'), managed: true }],
    };
    await n.harness.execute('singbox-config.config.apply', { config: base });
    const reloads = (await statusOf(n.harness)).reloads;
    const { endpoints } = await n.harness.execute<{ endpoints: { inbound: string; url: string }[] }>('singbox-config.ssm.endpoints');
    expect(endpoints).toHaveLength(1);
    const ssmUsers = async () => {
      const body = (await (await fetch(`${endpoints[0]!.url}/server/v1/users`)).json()) as { users: { username: string; uPSK: string }[] };
      return body.users.map((u) => [u.username, u.uPSK]).sort();
    };
    const key16 = (name: string) => Buffer.from(user(name).ss_key, 'base64').subarray(0, 16).toString('base64');

    expect(await n.harness.execute('singbox-config.users.sync', { revision: 1, users: [user('alice')] })).toMatchObject({ changed: true, reloaded: false });
    expect(await ssmUsers()).toEqual([['alice@ss-m', key16('alice')]]);
    await n.harness.execute('singbox-config.users.sync', { revision: 2, users: [user('bob')] });
    expect(await ssmUsers()).toEqual([['bob@ss-m', key16('bob')]]);
    expect((await statusOf(n.harness)).reloads).toBe(reloads);

    await n.harness.execute('singbox-config.restart');
    expect(await ssmUsers()).toEqual([['bob@ss-m', key16('bob')]]);
  });
});

describe('local limits with a real sing-box', () => {
  it('removes, with the hub present, a user whose remaining bytes are used up; the same limits keep them out, a raised one serves them again', async () => {
    const clash = fakeClashStats({ clashPort: await freePort(), v2rayPort: await freePort() });
    const n = await node({ coalesce_ms: 0, limit_check_s: 1 }, { peers: [clash.plugin] });
    await n.harness.execute('singbox-config.config.apply', { config: vlessBase(await freePort()) });
    const snapshot = { revision: 1, users: [user('alice', { remaining_bytes: 1000 }), user('bob', { remaining_bytes: null })] };
    await n.harness.execute('singbox-config.users.sync', snapshot, { remote: true });
    expect(clash.state.contributions.at(-1)).toEqual(['alice', 'bob']);
    const reloads = (await statusOf(n.harness)).reloads;

    clash.state.totals = { alice: { upload_bytes: 600, download_bytes: 500 }, bob: { upload_bytes: 10 ** 9, download_bytes: 0 } };
    const removed = await n.harness.nextEvent('singbox-config.users.removed-locally', 10_000);
    expect(removed.payload).toMatchObject({ users: [{ name: 'alice', reason: 'used 1100 bytes since users.sync revision 1, which left 1000' }] });

    const listing = await n.harness.execute<{ users: { name: string; removed_locally: boolean; removed_reason: string | null }[] }>('singbox-config.users.list');
    expect(listing.users.map((u) => [u.name, u.removed_locally])).toEqual([['alice', true], ['bob', false]]);
    expect(JSON.stringify(listing)).not.toContain(snapshot.users[0]!.password);
    const served = JSON.parse(await readFile(n.configPath, 'utf8'));
    expect(served.inbounds[0].users.map((u: { name: string }) => u.name)).toEqual(['bob']);
    expect(served.experimental.v2ray_api.stats.users).toEqual(['bob']);
    expect(await statusOf(n.harness)).toMatchObject({
      degraded: false,
      reloads: reloads + 1,
      last_apply: { action: 'limits', ok: true },
      users: { count: 2, served: 1, locally_removed: [{ name: 'alice' }] },
    });

    // The same snapshot again (nothing raised): alice stays out, and sing-box is not touched.
    const same = await n.harness.execute('singbox-config.users.sync', snapshot, { remote: true });
    expect(same).toMatchObject({ revision: 1, changed: false, reloaded: false, locally_removed: [{ name: 'alice' }] });
    expect(await statusOf(n.harness)).toMatchObject({ reloads: reloads + 1, users: { served: 1 } });

    const renewed = { revision: 2, users: [user('alice', { remaining_bytes: 10 ** 6 }), user('bob', { remaining_bytes: null })] };
    const back = await n.harness.execute('singbox-config.users.sync', renewed, { remote: true });
    expect(back).toMatchObject({ revision: 2, changed: true, reloaded: true, locally_removed: [{ name: 'alice' }] });
    expect(JSON.parse(await readFile(n.configPath, 'utf8')).inbounds[0].users.map((u: { name: string }) => u.name)).toEqual(['alice', 'bob']);
    expect(await statusOf(n.harness)).toMatchObject({ degraded: false, users: { served: 2, locally_removed: [] } });
  });
});
