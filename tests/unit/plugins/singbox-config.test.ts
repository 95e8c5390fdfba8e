// The cases that need a real sing-box are in singbox-config.singbox.test.ts; rendering is in
// singbox-config.render.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeadlineExceededError, FailedPreconditionError, InvalidArgumentError } from '../../../agent-core/common/errors.js';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import { definePlugin, Type, UnavailableError, type AnyPluginDefinition } from '../../../agent-core/sdk.js';
import singboxConfig from '../../../plugins/singbox-config/index.js';
import { closeHarness, fakeClashStats, status, user, type Status } from './singbox-config.helpers.js';

let tmp: string;
const originalPath = process.env.PATH;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'singbox-config-test-'));
});
let harness: Harness | undefined;
afterEach(async () => {
  process.env.PATH = originalPath;
  await closeHarness();
  await harness?.close();
  harness = undefined;
});

/** singbox-config (and `peers`) with config_path and work_dir in a fresh folder, and no sing-box anywhere. */
async function start(settings: Record<string, unknown> = {}, peers: AnyPluginDefinition[] = []): Promise<{ h: Harness; configPath: string }> {
  const dir = await mkdtemp(path.join(tmp, 'node-'));
  const configPath = path.join(dir, 'etc', 'config.json');
  harness = await createHarness([singboxConfig, ...peers], {
    config: { 'singbox-config': { config_path: configPath, work_dir: path.join(dir, 'work'), binary: path.join(dir, 'no-sing-box'), coalesce_ms: 0, ...settings } },
  });
  return { h: harness, configPath };
}

async function script(name: string, body: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmp, 'bin-')), name);
  await writeFile(file, `#!/bin/sh\n${body}`);
  await chmod(file, 0o755);
  return file;
}
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('singbox-config.status', () => {
  it('reports not found, and which setting to change, when sing-box is not on PATH', async () => {
    process.env.PATH = tmp; // an empty directory: nothing to find
    const result = await status();
    expect(result).toMatchObject({
      found: false,
      binary: null,
      version: null,
      tags: [],
      config_path: '/etc/sing-box/config.json',
      message: 'sing-box not found: no "sing-box" on PATH; set plugins.singbox-config.binary',
      mode: 'process',
      running: false,
      pid: null,
      config: { version: null, hash: null, rendered_hash: null },
      users: { revision: null, count: 0, served: 0, locally_removed: [] },
      last_apply: null,
    });
  });

  it('names the configured path when it is not an executable file', async () => {
    const missing = path.join(tmp, 'no-such-sing-box');
    const result = await status({ binary: missing, config_path: '/srv/sb.json' });
    expect(result.found).toBe(false);
    expect(result.config_path).toBe('/srv/sb.json');
    expect(result.message).toBe(`sing-box not found: ${missing} is not an executable file; set plugins.singbox-config.binary`);
  });

  it('reports a binary that exits with an error as found but without a version', async () => {
    const broken = path.join(tmp, 'broken-sing-box');
    await writeFile(broken, '#!/bin/sh\necho "bad things" >&2\nexit 3\n');
    await chmod(broken, 0o755);
    const result = await status({ binary: broken });
    expect(result).toMatchObject({ found: true, binary: broken, version: null, tags: [] });
    expect(result.message).toBe(`${broken} version failed: exited with code 3: bad things`);
  });

  it('kills `sing-box version` when the command deadline passes', async () => {
    const pidFile = path.join(tmp, 'hanging.pid');
    const hanging = path.join(tmp, 'hanging-sing-box');
    await writeFile(hanging, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 30\n`);
    await chmod(hanging, 0o755);
    await expect(status({ binary: hanging }, 300)).rejects.toBeInstanceOf(DeadlineExceededError);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await expect.poll(() => isAlive(pid), { timeout: 2000 }).toBe(false);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('singbox-config settings', () => {
  const failure = async (settings: Record<string, unknown>) => {
    const { h } = await start(settings);
    const [plugin] = await h.describe();
    expect(plugin).toMatchObject({ state: 'failed', healthy: false });
    return plugin!.message;
  };

  it('refuses a relative config_path', async () => {
    expect(await failure({ config_path: 'etc/config.json' })).toContain('plugins.singbox-config.config_path: must be an absolute path');
  });

  it('refuses a work_dir that is the folder of config_path (sing-box -C would load its files)', async () => {
    expect(await failure({ config_path: '/srv/sb/config.json', work_dir: '/srv/sb' })).toContain(
      'plugins.singbox-config.work_dir: must not be the folder of config_path',
    );
  });

  it('takes the deprecated degraded_check_s, says to rename it, and checks limits at its interval', async () => {
    const { h } = await start({ degraded_check_s: 7 });
    expect(h.logs.filter((l) => l.level === 'warn')).toEqual([
      {
        level: 'warn',
        msg: 'plugins.singbox-config.degraded_check_s is deprecated: rename it to limit_check_s (while it is set, it replaces limit_check_s)',
        meta: expect.objectContaining({ degraded_check_s: 7, limit_check_s: 5 }),
      },
    ]);
    expect((await h.execute<Status>('singbox-config.status')).limits).toEqual({ check_s: 7, checked_at: null, took_ms: null, error: null });
  });

  it('refuses an unknown mode at load, naming the field', async () => {
    await expect(start({ mode: 'docker' })).rejects.toThrow('plugins.singbox-config.mode: must be one of process, systemd');
  });
});

describe('singbox-config without sing-box', () => {
  it('refuses a base config with users on an inbound, naming the path, and writes nothing', async () => {
    const { h, configPath } = await start();
    const config = { inbounds: [{ type: 'vless', tag: 'v', listen_port: 443, users: [{ name: 'x', uuid: user('x').uuid }] }] };
    const error = await h.execute('singbox-config.config.apply', { config }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe('config.inbounds[0].users: users are managed by users.sync; remove them from the base config');
    await expect(readFile(configPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says which setting to change when config.apply finds no sing-box binary', async () => {
    const { h } = await start();
    await expect(h.execute('singbox-config.config.apply', { config: {} })).rejects.toThrow(FailedPreconditionError);
    await expect(h.execute('singbox-config.config.apply', { config: {} })).rejects.toThrow(/^sing-box not found: .* set plugins\.singbox-config\.binary$/);
  });

  it('refuses reload, restart and rollback before any config was applied', async () => {
    const { h } = await start();
    for (const command of ['reload', 'restart', 'config.rollback']) {
      await expect(h.execute(`singbox-config.${command}`)).rejects.toThrow('no config applied yet: use singbox-config.config.apply');
    }
  });
});

describe('singbox-config.users.sync (before any config)', () => {
  it('keeps the snapshot and lists users without credentials', async () => {
    const { h } = await start();
    const alice = user('alice', { remaining_bytes: 5000, expires_at: '2030-01-01T00:00:00Z' });
    expect(await h.execute('singbox-config.users.sync', { revision: 3, users: [alice] })).toEqual({ revision: 3, changed: true, reloaded: false, locally_removed: [] });
    const listing = await h.execute('singbox-config.users.list');
    expect(listing).toMatchObject({
      revision: 3,
      users: [{ name: 'alice', remaining_bytes: 5000, expires_at: '2030-01-01T00:00:00Z', removed_locally: false, removed_reason: null, removed_at: null }],
    });
    for (const secret of [alice.uuid, alice.password, alice.ss_key]) expect(JSON.stringify(listing)).not.toContain(secret);
    expect((await h.execute<Status>('singbox-config.status')).users).toEqual({ revision: 3, count: 1, served: 1, locally_removed: [] });
  });

  it('treats the same revision again as a no-op, and refuses an older one', async () => {
    const { h } = await start();
    const snapshot = { revision: 5, users: [user('alice')] };
    await h.execute('singbox-config.users.sync', snapshot);
    expect(await h.execute('singbox-config.users.sync', snapshot)).toEqual({ revision: 5, changed: false, reloaded: false, locally_removed: [] });
    const stale = await h.execute('singbox-config.users.sync', { revision: 4, users: [] }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(FailedPreconditionError);
    expect((stale as Error).message).toBe('input.revision: 4 is older than the applied revision 5');
  });

  it('refuses the same revision with other users', async () => {
    const { h } = await start();
    await h.execute('singbox-config.users.sync', { revision: 5, users: [user('alice')] });
    await expect(h.execute('singbox-config.users.sync', { revision: 5, users: [user('bob')] })).rejects.toThrow(
      'input.revision: revision 5 was applied with other users; send a new revision',
    );
  });

  it('refuses two users with one name or one UUID, naming both', async () => {
    const { h } = await start();
    await expect(h.execute('singbox-config.users.sync', { revision: 1, users: [user('a'), user('b'), user('a')] })).rejects.toThrow(
      'input.users.2.name: the same as input.users.0.name ("a"); each user needs its own',
    );
    const clone = { ...user('c'), uuid: user('a').uuid.toUpperCase() };
    await expect(h.execute('singbox-config.users.sync', { revision: 1, users: [user('a'), clone] })).rejects.toThrow(
      'input.users.1.uuid: the same as input.users.0.uuid',
    );
  });

  it('refuses a shadowsocks key that is not 32 bytes of base64, naming the field', async () => {
    const { h } = await start();
    const bad = { ...user('a'), ss_key: Buffer.alloc(16).toString('base64') };
    await expect(h.execute('singbox-config.users.sync', { revision: 1, users: [bad] })).rejects.toThrow(/^input\.users\.0\.ss_key: must match pattern/);
  });
});

describe('local limits (before any config, against a stand-in clash-stats)', () => {
  type Removed = { users: { name: string; reason: string }[] };
  type Listed = { revision: number; users: { name: string; removed_locally: boolean; removed_reason: string | null }[] };

  /**
   * The hub committed (and acknowledged) the ledger up to seq 10; entries 11 and 12 are in the
   * ledger but not yet drained: alice moved 500 bytes there, bob 100.
   */
  async function startBehindTheHub() {
    const clash = fakeClashStats();
    Object.assign(clash.state, {
      totals: { alice: { upload_bytes: 800, download_bytes: 700 }, bob: { upload_bytes: 1000, download_bytes: 1000 } },
      acked_seq: 10,
      entries: [
        { seq: 11, user: 'alice', upload_bytes: 300, download_bytes: 200 },
        { seq: 12, user: 'bob', upload_bytes: 50, download_bytes: 50 },
      ],
    });
    const { h } = await start({ limit_check_s: 1 }, [clash.plugin]);
    return { h, clash };
  }
  // The hub computed these from its committed position: alice has exactly the bytes she moved after it left.
  const users = [user('alice', { remaining_bytes: 500 }), user('bob', { remaining_bytes: 1000 })];

  /** Resolves once `n` more samples (each limit check takes one first) have run. */
  async function checks(clash: ReturnType<typeof fakeClashStats>, n: number): Promise<void> {
    const target = clash.state.samples + n;
    while (clash.state.samples < target) await new Promise((r) => setTimeout(r, 100));
  }
  /** `name` moves `bytes`: one more ledger entry, in the totals too. */
  function moved(clash: ReturnType<typeof fakeClashStats>, name: string, bytes: number): void {
    const seq = (clash.state.entries.at(-1)?.seq ?? clash.state.acked_seq) + 1;
    clash.state.entries.push({ seq, user: name, upload_bytes: 0, download_bytes: bytes });
    const totals = (clash.state.totals[name] ??= { upload_bytes: 0, download_bytes: 0 });
    totals.download_bytes += bytes;
  }
  const removals = (h: Harness) => h.events.filter((e) => e.name === 'singbox-config.users.removed-locally').map((e) => (e.payload as Removed).users);
  const listed = async (h: Harness) => (await h.execute<Listed>('singbox-config.users.list')).users.map((u) => [u.name, u.removed_locally]);

  it('cuts off, with the hub present, a user whose usage crosses the remaining bytes, within a check', async () => {
    const clash = fakeClashStats();
    const { h } = await start({ limit_check_s: 1 }, [clash.plugin]);
    await h.execute('singbox-config.users.sync', { revision: 1, users }, { remote: true });
    await checks(clash, 1);
    expect(removals(h)).toEqual([]);
    clash.state.totals = { alice: { upload_bytes: 100, download_bytes: 400 }, bob: { upload_bytes: 0, download_bytes: 999 } };
    const crossed = Date.now();
    const removed = await h.nextEvent('singbox-config.users.removed-locally', 5000);
    expect(Date.now() - crossed).toBeLessThan(2500);
    expect((removed.payload as Removed).users).toEqual([
      expect.objectContaining({ name: 'alice', reason: 'used 500 bytes since users.sync revision 1, which left 500' }),
    ]);
    expect(h.logs).toContainEqual({
      level: 'warn',
      msg: 'users removed locally: past their remaining bytes or expiry',
      meta: expect.objectContaining({ users: [expect.objectContaining({ name: 'alice' })], hub_away: false }),
    });
    const status = await h.execute<Status>('singbox-config.status');
    expect(status).toMatchObject({ degraded: false, users: { count: 2, served: 1, locally_removed: [{ name: 'alice' }] } });
    expect(status.limits).toMatchObject({ check_s: 1, checked_at: expect.any(String), took_ms: expect.any(Number), error: null });
    expect(await listed(h)).toEqual([['alice', true], ['bob', false]]);
  });

  it('cuts off a user whose expires_at passes, with the hub present and no usage known', async () => {
    const { h } = await start({ limit_check_s: 1 });
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    await h.execute('singbox-config.users.sync', { revision: 1, users: [user('alice', { expires_at: expiresAt }), user('bob')] }, { remote: true });
    expect(removals(h)).toEqual([]);
    const removed = await h.nextEvent('singbox-config.users.removed-locally', 5000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    expect((removed.payload as Removed).users).toEqual([expect.objectContaining({ name: 'alice', reason: `expired at ${expiresAt}` })]);
    expect(await listed(h)).toEqual([['alice', true], ['bob', false]]);
  });

  it('serves a user again when the next users.sync raises their limit, and keeps them out when it does not', async () => {
    const clash = fakeClashStats();
    const { h } = await start({ limit_check_s: 1 }, [clash.plugin]);
    await h.execute('singbox-config.users.sync', { revision: 1, users, ledger_seq: 0 }, { remote: true });
    moved(clash, 'alice', 600);
    await h.nextEvent('singbox-config.users.removed-locally', 5000);

    // The hub's snapshot for another reason, before its traffic and quota jobs caught up: alice's
    // limit as it was, from the position before her 600 bytes.
    const same = await h.execute('singbox-config.users.sync', { revision: 2, users: [...users, user('carol')], ledger_seq: 0 }, { remote: true });
    expect(same).toMatchObject({ changed: true, locally_removed: [{ name: 'alice' }] });
    expect(await listed(h)).toEqual([['alice', true], ['bob', false], ['carol', false]]);
    // Still the first removal: no second event, no moment served in between.
    expect(removals(h)).toHaveLength(1);

    // Renewed, after the hub drained her 600 bytes: 10,000 bytes left from there.
    const renewed = [user('alice', { remaining_bytes: 10_000 }), user('bob', { remaining_bytes: 1000 }), user('carol')];
    expect(await h.execute('singbox-config.users.sync', { revision: 3, users: renewed, ledger_seq: 1 }, { remote: true })).toMatchObject({
      changed: true,
      locally_removed: [{ name: 'alice' }],
    });
    expect(await listed(h)).toEqual([['alice', false], ['bob', false], ['carol', false]]);
    expect(h.logs).toContainEqual(expect.objectContaining({ level: 'info', meta: expect.objectContaining({ users: ['alice'] }) }));
    await checks(clash, 2);
    expect(removals(h)).toHaveLength(1);
    expect((await h.execute<Status>('singbox-config.status')).users).toMatchObject({ served: 3, locally_removed: [] });
    // Her usage now counts from the renewal: 10,000 more bytes cut her off again.
    moved(clash, 'alice', 10_000);
    const again = await h.nextEvent('singbox-config.users.removed-locally', 5000);
    expect((again.payload as Removed).users).toEqual([expect.objectContaining({ name: 'alice', reason: 'used 10000 bytes since users.sync revision 3, which left 10000' })]);
  });

  it('reads the totals only when the ledger moved since the last check', async () => {
    const clash = fakeClashStats({ samplesMoveTheHead: false });
    const { h } = await start({ limit_check_s: 1 }, [clash.plugin]);
    await h.execute('singbox-config.users.sync', { revision: 1, users, ledger_seq: 0 }, { remote: true });
    const plainTotals = () => clash.state.totalsAt.filter((seq) => seq === undefined).length;
    const read = plainTotals();
    await checks(clash, 2);
    expect(plainTotals()).toBe(read);
    moved(clash, 'alice', 100);
    await checks(clash, 2);
    expect(plainTotals()).toBe(read + 1);
    moved(clash, 'alice', 400);
    const removed = await h.nextEvent('singbox-config.users.removed-locally', 5000);
    expect((removed.payload as Removed).users).toEqual([expect.objectContaining({ name: 'alice', reason: 'used 500 bytes since users.sync revision 1, which left 500' })]);
  });

  it('does not serve, even for a moment, a user whose snapshot has no bytes left', async () => {
    const clash = fakeClashStats();
    const { h } = await start({ limit_check_s: 1 }, [clash.plugin]);
    const result = await h.execute('singbox-config.users.sync', { revision: 1, users: [user('alice', { remaining_bytes: 0 }), user('bob')] }, { remote: true });
    expect(result).toMatchObject({ changed: true, locally_removed: [] });
    expect(await listed(h)).toEqual([['alice', true], ['bob', false]]);
    expect(removals(h)).toEqual([[expect.objectContaining({ name: 'alice', reason: 'used 0 bytes since users.sync revision 1, which left 0' })]]);
  });

  it('applies a users.sync that arrives during a check after it: the check removes, the newer snapshot decides', async () => {
    const clash = fakeClashStats();
    const { h } = await start({ limit_check_s: 1 }, [clash.plugin]);
    await h.execute('singbox-config.users.sync', { revision: 1, users }, { remote: true });
    let open!: () => void;
    clash.state.sampleGate = new Promise((resolve) => (open = resolve));
    clash.state.totals = { alice: { upload_bytes: 0, download_bytes: 700 } };
    await checks(clash, 1); // a check is now waiting for its sample

    const order: string[] = [];
    const raised = [user('alice', { remaining_bytes: 5000 }), user('bob', { remaining_bytes: 1000 })];
    const synced = h.execute('singbox-config.users.sync', { revision: 2, users: raised }, { remote: true }).then((r) => (order.push('sync'), r));
    const removed = h.nextEvent('singbox-config.users.removed-locally', 5000).then(() => order.push('removed'));
    await new Promise((r) => setTimeout(r, 300));
    expect(order).toEqual([]);
    open();
    clash.state.sampleGate = undefined;
    await Promise.all([synced, removed]);
    expect(order).toEqual(['removed', 'sync']);
    expect(await synced).toMatchObject({ revision: 2, changed: true, locally_removed: [{ name: 'alice' }] });
    expect(await h.execute('singbox-config.users.list')).toMatchObject({ revision: 2 });
    expect(await listed(h)).toEqual([['alice', false], ['bob', false]]);
  });

  it('leaves a check due while a users.sync waits for its batch to that sync: one removal, under the newer snapshot', async () => {
    const clash = fakeClashStats();
    const { h } = await start({ limit_check_s: 1, coalesce_ms: 2500 }, [clash.plugin]);
    await h.execute('singbox-config.users.sync', { revision: 1, users }, { remote: true });
    const synced = h.execute('singbox-config.users.sync', { revision: 2, users: [...users, user('carol')], ledger_seq: 0 }, { remote: true });
    await new Promise((r) => setTimeout(r, 100));
    // alice crosses while the batch waits: the checks due meanwhile (revision 1) let it be.
    moved(clash, 'alice', 500);
    expect(await synced).toMatchObject({ revision: 2, locally_removed: [] });
    expect(removals(h)).toEqual([[expect.objectContaining({ name: 'alice', reason: 'used 500 bytes since users.sync revision 2, which left 500' })]]);
    expect(await listed(h)).toEqual([['alice', true], ['bob', false], ['carol', false]]);
  });

  it('counts the bytes between ledger_seq and the sync against the user: one whose remaining bytes they use up is cut off', async () => {
    const { h, clash } = await startBehindTheHub();
    await h.execute('singbox-config.users.sync', { revision: 1, users, ledger_seq: 10 }, { remote: true });
    // The totals at the hub's position as the sync arrived, then the usage now for its limits.
    expect(clash.state.totalsAt).toEqual([10, undefined]);
    // Nobody moves another byte: the sync itself cuts alice off.
    expect(removals(h)).toEqual([[expect.objectContaining({ name: 'alice', reason: 'used 500 bytes since users.sync revision 1, which left 500' })]]);
    expect((await h.execute<Status>('singbox-config.status')).users).toMatchObject({ count: 2, served: 1, locally_removed: [{ name: 'alice' }] });
  });

  it('without ledger_seq counts from the sync, as before: alice is cut off only after moving her remaining bytes again', async () => {
    const { h, clash } = await startBehindTheHub();
    await h.execute('singbox-config.users.sync', { revision: 1, users }, { remote: true });
    expect(clash.state.totalsAt).toEqual([undefined]);
    await checks(clash, 2);
    expect(h.events.filter((e) => e.name === 'singbox-config.users.removed-locally')).toEqual([]);
    clash.state.totals.alice!.download_bytes += 500;
    const removed = await h.nextEvent('singbox-config.users.removed-locally', 5000);
    expect((removed.payload as Removed).users).toEqual([expect.objectContaining({ name: 'alice', reason: 'used 500 bytes since users.sync revision 1, which left 500' })]);
  });

  it('falls back to the totals at the sync, with a warning, when clash-stats refuses ledger_seq', async () => {
    const { h, clash } = await startBehindTheHub();
    // The ledger already dropped the entries after 5 (acknowledged up to 10).
    await h.execute('singbox-config.users.sync', { revision: 1, users, ledger_seq: 5 }, { remote: true });
    expect(clash.state.totalsAt).toEqual([5, undefined]);
    expect(h.logs.filter((l) => l.level === 'warn')).toEqual([
      {
        level: 'warn',
        msg: "no ledger totals at the hub's position; usage counts from the sync, so bytes since that position are not counted",
        meta: expect.objectContaining({ ledger_seq: 5, error: expect.stringContaining('input.at_seq: 5 is below acked_seq 10') }),
      },
    ]);
    await checks(clash, 2);
    expect(h.events.filter((e) => e.name === 'singbox-config.users.removed-locally')).toEqual([]);
    clash.state.totals.alice!.upload_bytes += 500;
    await h.nextEvent('singbox-config.users.removed-locally', 5000);
  });

  it('takes the baseline at the ledger_seq of the revision a coalesced batch applies', async () => {
    const clash = fakeClashStats();
    Object.assign(clash.state, { acked_seq: 4, entries: [{ seq: 10, user: 'alice', upload_bytes: 1, download_bytes: 1 }], totals: { alice: { upload_bytes: 1, download_bytes: 1 } } });
    const { h } = await start({ coalesce_ms: 200 }, [clash.plugin]);
    const results = await Promise.all([
      h.execute('singbox-config.users.sync', { revision: 3, users, ledger_seq: 10 }),
      // Refused (below acked_seq): had the batch used this one, it would fall back to plain totals.
      h.execute('singbox-config.users.sync', { revision: 2, users: [], ledger_seq: 3 }),
    ]);
    expect(results.map((r) => (r as { revision: number }).revision)).toEqual([3, 3]);
    // Each sync's totals are taken as it arrives; the batch applies revision 3 with its own (and the usage now, for its limits).
    expect(clash.state.totalsAt).toEqual([10, 3, undefined]);
  });

  it('takes the totals at ledger_seq as the sync arrives, so an acknowledgement during the coalescing wait changes nothing', async () => {
    const clash = fakeClashStats();
    Object.assign(clash.state, { acked_seq: 4, entries: [{ seq: 10, user: 'alice', upload_bytes: 1, download_bytes: 1 }], totals: { alice: { upload_bytes: 1, download_bytes: 1 } } });
    const { h } = await start({ coalesce_ms: 300 }, [clash.plugin]);
    const synced = h.execute('singbox-config.users.sync', { revision: 1, users, ledger_seq: 4 });
    // The hub's traffic job commits and acknowledges past 4 before the batch is applied.
    await new Promise((r) => setTimeout(r, 100));
    clash.state.acked_seq = 10;
    await synced;
    expect(clash.state.totalsAt).toEqual([4, undefined]);
    expect(h.logs.filter((l) => l.level === 'warn')).toEqual([]);
  });
});

describe('singbox-config in systemd mode (stand-in systemctl)', () => {
  let mainPid: ChildProcess | undefined;
  afterEach(() => {
    mainPid?.kill('SIGKILL');
    mainPid = undefined;
  });

  /** A systemctl that logs its arguments and reports `state` with a live MainPID; a sing-box whose check passes. */
  async function fakeSystemd(state: 'active' | 'inactive') {
    mainPid = spawn('sleep', ['60'], { stdio: 'ignore' });
    const dir = await mkdtemp(path.join(tmp, 'systemd-'));
    const log = path.join(dir, 'calls');
    const stateFile = path.join(dir, 'state');
    await writeFile(stateFile, `${state}\n`);
    const systemctl = await script(
      'systemctl',
      `echo "$@" >> ${log}
case "$1" in
  show) echo "MainPID=${mainPid.pid}"; echo "ActiveState=$(cat ${stateFile})"; echo "NRestarts=2"; echo "ActiveEnterTimestamp=Thu 2026-11-26 11:20:24 UTC";;
  reload|restart) echo active > ${stateFile};;
esac
`,
    );
    const singbox = await script('sing-box', 'exit 0\n');
    process.env.PATH = `${path.dirname(systemctl)}${path.delimiter}${originalPath}`;
    return { log, singbox };
  }

  it('applies with `systemctl reload <unit>` when the unit is active', async () => {
    const { log, singbox } = await fakeSystemd('active');
    const { h, configPath } = await start({ mode: 'systemd', systemd_unit: 'sing-box-edge', binary: singbox });
    expect(await h.execute('singbox-config.config.apply', { config: { log: { level: 'warn' } } })).toMatchObject({ version: 1, reloaded: true });
    expect((await readFile(log, 'utf8')).split('\n')).toContain('reload sing-box-edge');
    expect(JSON.parse(await readFile(configPath, 'utf8'))).toEqual({ log: { level: 'warn' }, route: { rules: [{ action: 'sniff' }] } });
    expect(await h.execute('singbox-config.status')).toMatchObject({ mode: 'systemd', running: true, pid: mainPid!.pid, restarts: 2, since: '2026-11-26T11:20:24.000Z' });
    // The cheap read a Prometheus scrape makes says the same, and counts the apply.
    expect(await h.execute('singbox-config.process')).toEqual({ running: true, since: '2026-11-26T11:20:24.000Z', restarts: 2, reloads: 1, last_apply_ok: true });
  });

  it('changes nothing when a removal cannot be applied, says why in status, and retries with backoff', async () => {
    const { singbox } = await fakeSystemd('active');
    const clash = fakeClashStats();
    const firewall = { failing: false };
    const firewallPlugin = definePlugin({
      id: 'firewall',
      version: '0.0.0-test',
      agent: '*',
      commands: {
        'singbox-contribution': { description: 'test double', input: Type.Object({}), output: Type.Object({ route_rules: Type.Array(Type.Unknown()) }) },
      },
      start: () => ({
        commands: {
          'singbox-contribution': () => {
            if (firewall.failing) throw new UnavailableError('nftables is busy');
            return { route_rules: [] };
          },
        },
      }),
    });
    const { h } = await start({ mode: 'systemd', binary: singbox, limit_check_s: 1 }, [clash.plugin, firewallPlugin as AnyPluginDefinition]);
    await h.execute('singbox-config.config.apply', { config: {} });
    await h.execute('singbox-config.users.sync', { revision: 1, users: [user('alice', { remaining_bytes: 500 })] }, { remote: true });
    firewall.failing = true;
    clash.state.totals = { alice: { upload_bytes: 0, download_bytes: 600 } };

    const failures = () => h.logs.filter((l) => l.msg === 'local limit check failed').map((l) => l.meta?.retry_in_s);
    await expect.poll(failures, { timeout: 5000 }).toEqual([2, 4]);
    // Without the backoff a check a second would have failed twice more by now.
    await new Promise((r) => setTimeout(r, 2000));
    expect(failures()).toEqual([2, 4]);
    const status = await h.execute<Status>('singbox-config.status');
    expect(status.limits.error).toBe('firewall.singbox-contribution failed: nftables is busy');
    expect(status.last_apply).toMatchObject({ action: 'limits', ok: false });
    expect(status.users).toMatchObject({ served: 1, locally_removed: [] });

    firewall.failing = false;
    const removed = await h.nextEvent('singbox-config.users.removed-locally', 8000);
    expect(removed.payload).toMatchObject({ users: [{ name: 'alice' }] });
    expect((await h.execute<Status>('singbox-config.status')).limits.error).toBeNull();
  });

  it('starts an inactive unit with `systemctl restart <unit>`', async () => {
    const { log, singbox } = await fakeSystemd('inactive');
    const { h } = await start({ mode: 'systemd', binary: singbox });
    await h.execute('singbox-config.config.apply', { config: {} });
    const calls = (await readFile(log, 'utf8')).split('\n');
    expect(calls).toContain('restart sing-box');
    expect(calls).not.toContain('reload sing-box');
  });
});
