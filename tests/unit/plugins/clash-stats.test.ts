// clash-stats in the plugin host, against fakes of sing-box's APIs (no network beyond loopback).
// The sing-box-backed cases are in clash-stats.singbox.test.ts; the ledger on its own in
// clash-stats.ledger*.test.ts; delta and restart rules in clash-stats.deltas.test.ts.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError } from '../../../agent-core/common/errors.js';
import { definePlugin, Type } from '../../../agent-core/sdk.js';
import { clockNow, readBootId } from '../../../plugins/clash-stats/counters.js';
import { LEDGER_FILE, Ledger } from '../../../plugins/clash-stats/ledger.js';
import { closeHarness, fakeHttp, fakeV2Ray, freePort, json, start, type FakeV2Ray } from './clash-stats.helpers.js';

interface Entry {
  seq: number;
  time: string;
  user: string;
  upload_bytes: number;
  download_bytes: number;
}
interface Drained {
  entries: Entry[];
  head_seq: number;
  acked_seq: number;
  ledger_id: string;
}
interface Totals {
  last_seq: number;
  users: Record<string, { upload_bytes: number; download_bytes: number }>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const brief = (entries: Entry[]) => entries.map((e) => [e.seq, e.user, e.upload_bytes, e.download_bytes]);

/** A singbox-config that only answers ssm.endpoints, with whatever `endpoints()` returns then. */
function fakeSingboxConfig(endpoints: () => { inbound: string; url: string }[]) {
  return definePlugin({
    id: 'singbox-config',
    version: '0.0.0',
    agent: '*',
    commands: {
      'ssm.endpoints': {
        description: 'SSM API base URL per managed Shadowsocks inbound.',
        input: Type.Object({}),
        output: Type.Object({ endpoints: Type.Array(Type.Object({ inbound: Type.String(), url: Type.String() })) }),
      },
    },
    start: () => ({ commands: { 'ssm.endpoints': () => ({ endpoints: endpoints() }) } }),
  });
}

let ledgerDir: string;
let v2ray: FakeV2Ray | undefined;
const closers: (() => Promise<void>)[] = [];

beforeEach(async () => {
  ledgerDir = await mkdtemp(path.join(os.tmpdir(), 'clash-stats-plugin-'));
  // The agent was installed two hours ago, before the fake sing-box started (an hour ago, see
  // fakeV2Ray): its counters are all bytes this ledger is to count.
  const now = clockNow(await readBootId());
  await (await Ledger.open(ledgerDir, { now: () => ({ ...now, mono: now.mono - 7200, wall: now.wall - 7200 }) })).close();
});

afterEach(async () => {
  await closeHarness();
  await v2ray?.close();
  v2ray = undefined;
  for (const close of closers.splice(0)) await close();
  await rm(ledgerDir, { recursive: true, force: true });
});

async function startWithV2Ray(extra: Record<string, unknown> = {}, others: Parameters<typeof start>[1] = []) {
  v2ray ??= await fakeV2Ray();
  return start({ v2ray_api: { listen: v2ray.listen }, sample_interval_s: 0, ledger_dir: ledgerDir, ...extra }, others);
}

describe('clash-stats config', () => {
  it('fills in the documented defaults (V2Ray API on 127.0.0.1:10085)', async () => {
    const h = await start({});
    const contribution = await h.execute<{ experimental: Record<string, unknown> }>('clash-stats.singbox-contribution', { users: [] });
    expect(contribution.experimental.v2ray_api).toEqual({ listen: '127.0.0.1:10085', stats: { enabled: true, users: [] } });
  });

  it('refuses a V2Ray API address off the loopback interface, naming the field', async () => {
    await expect(start({ v2ray_api: { listen: '0.0.0.0:10085' } })).rejects.toThrow(/^plugins\.clash-stats\.v2ray_api\.listen: /);
  });

  it('refuses a negative sample interval, naming the field', async () => {
    await expect(start({ sample_interval_s: -1 })).rejects.toThrow(/^plugins\.clash-stats\.sample_interval_s: /);
  });

  it('declares the traffic commands that change the ledger as mutating (operator) and the rest read-only', async () => {
    const h = await start({});
    const [plugin] = await h.describe();
    const roles = Object.fromEntries(plugin!.commands.map((c) => [c.name, [c.mutates, c.role]]));
    expect(roles).toEqual({
      'clash-stats.traffic.sample': [true, 'operator'],
      'clash-stats.traffic.drain': [false, 'viewer'],
      'clash-stats.traffic.ack': [true, 'operator'],
      'clash-stats.traffic.position': [false, 'viewer'],
      'clash-stats.traffic.totals': [false, 'viewer'],
      'clash-stats.summary': [false, 'viewer'],
      'clash-stats.connections': [false, 'viewer'],
      'clash-stats.singbox-contribution': [false, 'viewer'],
    });
  });
});

describe('clash-stats.traffic.position', () => {
  it("says where the ledger stands: the head, what the hub acknowledged, and the ledger's id", async () => {
    const h = await start({});
    expect(await h.execute('clash-stats.traffic.position')).toEqual({ head_seq: 0, acked_seq: 0, ledger_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });
});

describe("clash-stats' ledger id", () => {
  it('is the same in drain and position, stays across agent restarts, and changes when the ledger is lost', async () => {
    let h = await startWithV2Ray();
    v2ray!.counters.set('alice', [10, 20]);
    await h.execute('clash-stats.traffic.sample');
    const { ledger_id: id } = await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0 });
    expect(await h.execute('clash-stats.traffic.position')).toEqual({ head_seq: 1, acked_seq: 0, ledger_id: id });

    await closeHarness();
    h = await startWithV2Ray();
    expect(await h.execute('clash-stats.traffic.position')).toEqual({ head_seq: 1, acked_seq: 0, ledger_id: id });

    // The node reinstalled: the agent's state is gone, sing-box starts with it, and the new
    // ledger counts from 1 again.
    await closeHarness();
    await rm(ledgerDir, { recursive: true, force: true });
    v2ray!.restart();
    h = await startWithV2Ray();
    v2ray!.counters.set('alice', [15, 30]);
    await h.execute('clash-stats.traffic.sample');
    const drained = await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0 });
    expect(drained.ledger_id).not.toBe(id);
    expect(drained.entries.map((e) => e.seq)).toEqual([1]);
    expect(await h.execute('clash-stats.traffic.position')).toEqual({ head_seq: 1, acked_seq: 0, ledger_id: drained.ledger_id });
  });
});

describe('clash-stats with its state lost under a sing-box that kept running', () => {
  it('counts only the bytes moved after the new ledger exists, not those the lost ledger had', async () => {
    let h = await startWithV2Ray();
    v2ray!.counters.set('alice', [100, 1000]);
    await h.execute('clash-stats.traffic.sample');
    const { ledger_id: lost } = await h.execute<{ ledger_id: string }>('clash-stats.traffic.position');
    await closeHarness();
    await rm(ledgerDir, { recursive: true, force: true });
    // Moved while no agent ran: sampled by nobody, so lost with the old ledger.
    v2ray!.counters.set('alice', [110, 1100]);

    h = await startWithV2Ray();
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 0, last_seq: 0 });
    v2ray!.counters.set('alice', [115, 1300]).set('bob', [1, 2]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 2, last_seq: 2 });
    const drained = await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0 });
    expect(drained.ledger_id).not.toBe(lost);
    expect(brief(drained.entries)).toEqual([
      [1, 'alice', 5, 200],
      [2, 'bob', 1, 2],
    ]);
    expect((await h.execute<Totals>('clash-stats.traffic.totals')).users).toEqual({
      alice: { upload_bytes: 5, download_bytes: 200 },
      bob: { upload_bytes: 1, download_bytes: 2 },
    });
  });

  it('waits for a prompt uptime answer before deciding, and warns meanwhile', async () => {
    v2ray = await fakeV2Ray();
    v2ray.uptimeDelayMs = 600;
    await rm(ledgerDir, { recursive: true, force: true });
    const h = await startWithV2Ray();
    v2ray.counters.set('alice', [100, 1000]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 0, last_seq: 0 });
    expect(h.logs.at(-1)?.msg).toBe('traffic sample skipped: sing-box answered too slowly to record a new instance');
    v2ray.uptimeDelayMs = 0;
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 0, last_seq: 0 });
    v2ray.counters.set('alice', [101, 1010]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 1, last_seq: 1 });
    expect(brief((await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0 })).entries)).toEqual([[1, 'alice', 1, 10]]);
  });
});

describe('clash-stats.traffic.sample', () => {
  it('records nothing while sing-box is not running, warns once, and does not fail', async () => {
    const port = await freePort();
    const h = await start({ v2ray_api: { listen: `127.0.0.1:${port}` }, sample_interval_s: 0, ledger_dir: ledgerDir });
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 0, last_seq: 0 });
    const ledger = await readFile(path.join(ledgerDir, LEDGER_FILE), 'utf8');
    expect(ledger.split('\n')).toHaveLength(2); // the header alone
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 0, last_seq: 0 });
    expect(await readFile(path.join(ledgerDir, LEDGER_FILE), 'utf8')).toBe(ledger);
    const warnings = h.logs.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toBe('traffic sample skipped: sing-box counters not readable');
    expect(warnings[0]!.meta.error).toMatch(new RegExp(`^V2Ray stats API at 127\\.0\\.0\\.1:${port}: UNAVAILABLE`));
  });

  it('appends the bytes each user moved since the last sample, reading the counters without resetting them', async () => {
    const h = await startWithV2Ray();
    v2ray!.counters.set('alice', [100, 1000]).set('bob', [0, 0]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 1, last_seq: 1 });
    v2ray!.counters.set('alice', [150, 1000]).set('bob', [7, 70]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 2, last_seq: 3 });
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 0, last_seq: 3 });

    const drained = await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0 });
    expect(brief(drained.entries)).toEqual([
      [1, 'alice', 100, 1000],
      [2, 'alice', 50, 0],
      [3, 'bob', 7, 70],
    ]);
    expect(v2ray!.queries.every((q) => q.reset === false && q.pattern === '' && q.patterns.join() === 'user>>>')).toBe(true);
    expect(await h.execute<Totals>('clash-stats.traffic.totals')).toEqual({
      last_seq: 3,
      users: { alice: { upload_bytes: 150, download_bytes: 1000 }, bob: { upload_bytes: 7, download_bytes: 70 } },
    });
  });

  it('counts everything a restarted sing-box shows when its uptime went back, even if no counter went down', async () => {
    const h = await startWithV2Ray();
    v2ray!.counters.set('alice', [100, 100]);
    await h.execute('clash-stats.traffic.sample');
    v2ray!.restart();
    v2ray!.counters.set('alice', [300, 500]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 1, last_seq: 2 });
    const { entries } = await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 1 });
    expect(brief(entries)).toEqual([[2, 'alice', 300, 500]]);
  });

  it('counts everything when a counter went down though the uptime did not show a restart', async () => {
    const h = await startWithV2Ray();
    v2ray!.counters.set('alice', [100, 100]).set('bob', [10, 10]);
    await h.execute('clash-stats.traffic.sample');
    v2ray!.counters.set('alice', [5, 5]).set('bob', [20, 20]);
    await h.execute('clash-stats.traffic.sample');
    const { entries } = await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 2 });
    expect(brief(entries)).toEqual([
      [3, 'alice', 5, 5],
      [4, 'bob', 20, 20],
    ]);
  });

  it('does not count bytes again when sing-box was reloaded within 2 s of its start, before any traffic', async () => {
    v2ray = await fakeV2Ray();
    const h = await startWithV2Ray();
    v2ray.restart(); // sing-box starts: the first sample records this instance
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 0, last_seq: 0 });
    await sleep(1500);
    // Reloaded 1.5 s later: uptime 0 again and no counter yet, so nothing tells it from the first.
    v2ray.restart();
    v2ray.counters.set('carol', [105, 2_097_292]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 1, last_seq: 1 });
    // 0.75 s into the new instance (uptime still 0) its start estimate is 2.25 s after the first
    // instance's: a sample compared with that start would count carol's 2 MB a second time.
    await sleep(750);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 0, last_seq: 1 });
    v2ray.counters.set('carol', [210, 4_194_584]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 1, last_seq: 2 });
    expect(brief((await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0 })).entries)).toEqual([
      [1, 'carol', 105, 2_097_292],
      [2, 'carol', 105, 2_097_292],
    ]);
    expect((await h.execute<Totals>('clash-stats.traffic.totals')).users).toEqual({
      carol: { upload_bytes: 210, download_bytes: 4_194_584 },
    });
  });

  it('counts through slow uptime answers, but records a restart only from a prompt one', async () => {
    const h = await startWithV2Ray();
    v2ray!.counters.set('alice', [100, 100]);
    await h.execute('clash-stats.traffic.sample');
    v2ray!.uptimeDelayMs = 1200;
    v2ray!.counters.set('alice', [150, 100]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 1, last_seq: 2 });
    v2ray!.restart();
    v2ray!.counters.set('alice', [5, 5]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 0, last_seq: 2 });
    expect(h.logs.at(-1)?.msg).toBe('traffic sample skipped: sing-box answered too slowly to record a new instance');
    v2ray!.uptimeDelayMs = 0;
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 1, last_seq: 3 });
    expect(brief((await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 1 })).entries)).toEqual([
      [2, 'alice', 50, 0],
      [3, 'alice', 5, 5],
    ]);
  });

  it('keeps counting where it stopped after the agent restarts, with the same sequence and totals', async () => {
    let h = await startWithV2Ray();
    v2ray!.counters.set('alice', [100, 100]);
    await h.execute('clash-stats.traffic.sample');
    await closeHarness();
    v2ray!.counters.set('alice', [130, 160]);
    h = await startWithV2Ray();
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 1, last_seq: 2 });
    expect(brief((await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0 })).entries)).toEqual([
      [1, 'alice', 100, 100],
      [2, 'alice', 30, 60],
    ]);
    expect((await h.execute<Totals>('clash-stats.traffic.totals')).users.alice).toEqual({ upload_bytes: 130, download_bytes: 160 });
  });

  it('adds the SSM counters of every managed inbound, as "<name>@<tag>" → <name>, without clearing them', async () => {
    const ssm = await fakeHttp((req, res) =>
      json(res, {
        uplinkBytes: 0,
        downlinkBytes: 0,
        users: req.url?.startsWith('/ssm-a/')
          ? [{ username: 'alice@ss-a', uplinkBytes: 10, downlinkBytes: 20, uplinkPackets: 1, downlinkPackets: 1, tcpSessions: 1, udpSessions: 0 }]
          : [{ username: 'carol@ss-b', uplinkBytes: 1, downlinkBytes: 2 }],
      }),
    );
    closers.push(ssm.close);
    const endpoints = [
      { inbound: 'ss-a', url: `${ssm.url}/ssm-a` },
      { inbound: 'ss-b', url: `${ssm.url}/ssm-b/` },
    ];
    const h = await startWithV2Ray({}, [fakeSingboxConfig(() => endpoints)]);
    v2ray!.counters.set('alice', [1, 1]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 2, last_seq: 2 });
    expect(brief((await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0 })).entries)).toEqual([
      [1, 'alice', 11, 21],
      [2, 'carol', 1, 2],
    ]);
    expect(ssm.requests.sort()).toEqual(['GET /ssm-a/server/v1/stats', 'GET /ssm-b/server/v1/stats']);
    expect(h.logs.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('leaves out an SSM endpoint that does not answer, and counts its bytes once, when it does', async () => {
    let failing = true;
    const ssm = await fakeHttp((_req, res) => {
      if (failing) return json(res, { error: 'busy' }, 503);
      json(res, { users: [{ username: 'alice@ss-a', uplinkBytes: 40, downlinkBytes: 50 }] });
    });
    closers.push(ssm.close);
    const h = await startWithV2Ray({}, [fakeSingboxConfig(() => [{ inbound: 'ss-a', url: ssm.url }])]);
    expect(await h.execute('clash-stats.traffic.sample')).toEqual({ appended: 0, last_seq: 0 });
    expect(h.logs.find((l) => l.level === 'warn')?.meta).toMatchObject({ source: 'ssm:ss-a' });
    failing = false;
    await h.execute('clash-stats.traffic.sample');
    await h.execute('clash-stats.traffic.sample');
    expect(brief((await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0 })).entries)).toEqual([[1, 'alice', 40, 50]]);
  });

  it('samples by itself every sample_interval_s', async () => {
    const h = await startWithV2Ray({ sample_interval_s: 1 });
    v2ray!.counters.set('alice', [1, 2]);
    const deadline = Date.now() + 5000;
    let drained: Drained;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      drained = await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 0 });
    } while (drained.entries.length === 0 && Date.now() < deadline);
    expect(brief(drained.entries)).toEqual([[1, 'alice', 1, 2]]);
  });

  it('counts sample_interval_s from the last sample, so samples asked for more often replace the timer’s', async () => {
    const h = await startWithV2Ray({ sample_interval_s: 1 });
    // Another plugin (singbox-config's limit checks) samples every 0.6 s for 3 s: the 1 s timer never fires.
    for (let i = 0; i < 5; i++) {
      await h.execute('clash-stats.traffic.sample');
      await sleep(600);
    }
    expect(v2ray!.queries).toHaveLength(5);
    // Left alone, it samples by itself again a second after the last one.
    await sleep(1400);
    expect(v2ray!.queries).toHaveLength(6);
  });
});

describe('clash-stats.traffic.drain and traffic.ack', () => {
  async function withEntries(n: number) {
    const h = await startWithV2Ray();
    for (let i = 1; i <= n; i++) {
      v2ray!.counters.set('alice', [i, i]);
      await h.execute('clash-stats.traffic.sample');
    }
    return h;
  }

  it('drains at most limit entries after after_seq, the same ones each time until acknowledged', async () => {
    const h = await withEntries(5);
    const page = await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 1, limit: 2 }, { remote: true });
    expect(page.entries.map((e) => e.seq)).toEqual([2, 3]);
    expect(page).toMatchObject({ head_seq: 5, acked_seq: 0, ledger_id: expect.any(String) });
    expect(await h.execute('clash-stats.traffic.drain', { after_seq: 1, limit: 2 })).toEqual(page);
  });

  it('acknowledges, compacts, and then refuses a drain from before acked_seq, naming it', async () => {
    const h = await withEntries(5);
    expect(await h.execute('clash-stats.traffic.ack', { seq: 3 }, { remote: true })).toEqual({ acked_seq: 3, head_seq: 5 });
    const error = await h.execute('clash-stats.traffic.drain', { after_seq: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toContain('below acked_seq 3');
    expect((await h.execute<Drained>('clash-stats.traffic.drain', { after_seq: 3 })).entries.map((e) => e.seq)).toEqual([4, 5]);
    expect((await h.execute<Totals>('clash-stats.traffic.totals')).users.alice).toEqual({ upload_bytes: 5, download_bytes: 5 });
  });

  it('refuses to acknowledge beyond the head', async () => {
    const h = await withEntries(1);
    const error = await h.execute('clash-stats.traffic.ack', { seq: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe('input.seq: 2 is beyond head_seq 1');
  });

  it('refuses a limit outside 1..10000 and a missing after_seq, naming the field', async () => {
    const h = await start({ sample_interval_s: 0, ledger_dir: ledgerDir });
    await expect(h.execute('clash-stats.traffic.drain', { after_seq: 0, limit: 10_001 })).rejects.toThrow(/^input\.limit: /);
    await expect(h.execute('clash-stats.traffic.drain', { after_seq: 0, limit: 0 })).rejects.toThrow(/^input\.limit: /);
    await expect(h.execute('clash-stats.traffic.drain', {})).rejects.toThrow('input.after_seq: is required');
  });
});

describe('clash-stats.traffic.totals', () => {
  it('answers the totals as of at_seq: exact sums of the entries up to it, with last_seq = at_seq', async () => {
    const h = await startWithV2Ray();
    const answered: Totals[] = [];
    for (const [alice, bob] of [[[100, 1000], [0, 0]], [[150, 1000], [7, 70]], [[150, 1001], [7, 70]], [[151, 1001], [9, 90]]] as const) {
      v2ray!.counters.set('alice', [...alice]).set('bob', [...bob]);
      await h.execute('clash-stats.traffic.sample');
      answered.push(await h.execute<Totals>('clash-stats.traffic.totals'));
    }
    expect(answered.map((t) => t.last_seq)).toEqual([1, 3, 4, 6]);
    await h.execute('clash-stats.traffic.ack', { seq: 1 });
    // At each position a sample left the ledger at (acked_seq included): what plain totals answered then.
    for (const then of answered) {
      expect(await h.execute<Totals>('clash-stats.traffic.totals', { at_seq: then.last_seq }, { remote: true })).toEqual(then);
    }
    // Between the two entries of one sample: alice's second entry counted, bob's not yet.
    expect(await h.execute<Totals>('clash-stats.traffic.totals', { at_seq: 2 })).toEqual({
      last_seq: 2,
      users: { alice: { upload_bytes: 150, download_bytes: 1000 } },
    });
    // At the head: the plain totals.
    expect(await h.execute('clash-stats.traffic.totals', { at_seq: 6 })).toEqual(await h.execute('clash-stats.traffic.totals'));
  });

  it('refuses an at_seq below acked_seq or beyond the head as FAILED_PRECONDITION naming the field and the position', async () => {
    const h = await startWithV2Ray();
    for (let i = 1; i <= 3; i++) {
      v2ray!.counters.set('alice', [i, i]);
      await h.execute('clash-stats.traffic.sample');
    }
    await h.execute('clash-stats.traffic.ack', { seq: 2 });
    const below = await h.execute('clash-stats.traffic.totals', { at_seq: 1 }).catch((e: unknown) => e);
    expect(below).toBeInstanceOf(FailedPreconditionError);
    expect((below as Error).message).toBe('input.at_seq: 1 is below acked_seq 2: entries up to 2 were acknowledged and compacted away');
    const beyond = await h.execute('clash-stats.traffic.totals', { at_seq: 4 }).catch((e: unknown) => e);
    expect(beyond).toBeInstanceOf(FailedPreconditionError);
    expect((beyond as Error).message).toMatch(/^input\.at_seq: 4 is beyond head_seq 3: this node's ledger \(id [0-9a-f-]{36}\) is not the one/);
    await expect(h.execute('clash-stats.traffic.totals', { at_seq: -1 })).rejects.toThrow(/^input\.at_seq: /);
  });
});

describe('clash-stats with a damaged ledger', () => {
  it('keeps running unhealthy, refuses the traffic commands with the reason, and serves the rest', async () => {
    await writeFile(path.join(ledgerDir, LEDGER_FILE), 'not a ledger\n');
    const h = await start({ sample_interval_s: 0, ledger_dir: ledgerDir });
    const error = await h.execute('clash-stats.traffic.drain', { after_seq: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toMatch(/^traffic ledger unavailable: traffic ledger .* is damaged at byte 0 \(no valid header line\)/);
    const [status] = await h.describe();
    expect(status).toMatchObject({ state: 'running', healthy: false });
    expect(status!.message).toContain('is damaged at byte 0');
    await expect(h.execute('clash-stats.singbox-contribution', { users: ['alice'] })).resolves.toBeDefined();
    expect(await readFile(path.join(ledgerDir, LEDGER_FILE), 'utf8')).toBe('not a ledger\n');
  });
});

describe('clash-stats.summary', () => {
  it('refuses with the setting to add when no Clash API is configured', async () => {
    const h = await start({});
    const error = await h.execute('clash-stats.summary').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toBe('Clash API not configured: set plugins.clash-stats.clash_api.url');
  });

  it('reports an unreachable Clash API as unavailable, with the reason', async () => {
    const port = await freePort();
    const h = await start({ clash_api: { url: `http://127.0.0.1:${port}` } });
    const error = await h.execute('clash-stats.summary').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toBe(`Clash API at http://127.0.0.1:${port}/connections unreachable: ECONNREFUSED`);
  });

  it('rejects a Clash API url without a scheme at start-up, naming the field', async () => {
    await expect(start({ clash_api: { url: '127.0.0.1:9090' } })).rejects.toThrow(InvalidArgumentError);
    await expect(start({ clash_api: { url: '127.0.0.1:9090' } })).rejects.toThrow(/^plugins\.clash-stats\.clash_api\.url: /);
  });
});

describe('clash-stats.connections', () => {
  const snapshot = {
    downloadTotal: 123456,
    uploadTotal: 7890,
    memory: 41943040,
    connections: [
      {
        id: 'c1',
        metadata: { network: 'tcp', type: 'vless/vless-in', sourceIP: '198.51.100.20', sourcePort: '51234', destinationIP: '', destinationPort: '443', host: 'example.org' },
        upload: 1024,
        download: 4096,
        start: '2026-03-10T12:00:00.123Z',
        chains: ['direct'],
        rule: 'final',
        rulePayload: '',
      },
      {
        id: 'c2',
        metadata: { network: 'udp', type: 'shadowsocks/ss-in', sourceIP: '2001:db8::7', sourcePort: '40000', destinationIP: '2001:db8::1', destinationPort: '53', host: '' },
        upload: 10,
        download: 20,
        start: '2026-03-10T12:00:01Z',
        chains: ['direct'],
        rule: 'auth_user=alice => route(direct)',
        rulePayload: '',
      },
      {
        id: 'c3',
        metadata: { network: 'tcp', type: 'trojan/trojan-in', sourceIP: '203.0.113.9', sourcePort: '1000', destinationIP: '192.0.2.1', destinationPort: '80', host: '' },
        upload: 100000,
        download: 0,
        start: '2026-03-10T12:00:02Z',
        chains: ['direct'],
        rule: 'final',
        rulePayload: '',
      },
    ],
  };

  it('lists open connections busiest first with inbound tag, endpoints, bytes, chains and rule, plus node totals', async () => {
    const api = await fakeHttp((_req, res) => json(res, snapshot));
    closers.push(api.close);
    const h = await start({ clash_api: { url: api.url, secret: 's' } });
    const result = await h.execute<{ connections: { id: string }[] } & Record<string, unknown>>('clash-stats.connections', { limit: 2 });
    expect(result).toMatchObject({ upload_total: 7890, download_total: 123456, open: 3 });
    expect(result.connections).toEqual([
      {
        id: 'c3', inbound: 'trojan-in', network: 'tcp', source: '203.0.113.9:1000', destination: '192.0.2.1:80',
        upload: 100000, download: 0, start: '2026-03-10T12:00:02Z', chains: ['direct'], rule: 'final',
      },
      {
        id: 'c1', inbound: 'vless-in', network: 'tcp', source: '198.51.100.20:51234', destination: 'example.org:443',
        upload: 1024, download: 4096, start: '2026-03-10T12:00:00.123Z', chains: ['direct'], rule: 'final',
      },
    ]);
    const all = await h.execute<{ connections: { id: string; source: string; destination: string }[] }>('clash-stats.connections');
    expect(all.connections.find((c) => c.id === 'c2')).toMatchObject({ source: '[2001:db8::7]:40000', destination: '[2001:db8::1]:53' });
  });

  it('answers an empty list when sing-box reports no connections (null)', async () => {
    const api = await fakeHttp((_req, res) => json(res, { uploadTotal: 1, downloadTotal: 2, connections: null }));
    closers.push(api.close);
    const h = await start({ clash_api: { url: api.url } });
    expect(await h.execute('clash-stats.connections')).toMatchObject({ open: 0, connections: [], upload_total: 1, download_total: 2 });
  });

  it('refuses with the setting to add when no Clash API is configured', async () => {
    const h = await start({});
    await expect(h.execute('clash-stats.connections')).rejects.toThrow(FailedPreconditionError);
  });
});

describe('clash-stats.singbox-contribution', () => {
  it("gives sing-box the Clash API and V2Ray stats sections from this plugin's settings", async () => {
    const h = await start({ clash_api: { url: 'http://127.0.0.1:9191', secret: 'k3y' }, v2ray_api: { listen: '127.0.0.1:10099' } });
    expect(await h.execute('clash-stats.singbox-contribution', { users: ['alice', 'bob', 'alice'] })).toEqual({
      experimental: {
        clash_api: { external_controller: '127.0.0.1:9191', secret: 'k3y' },
        v2ray_api: { listen: '127.0.0.1:10099', stats: { enabled: true, users: ['alice', 'bob'] } },
      },
    });
  });

  it('leaves the Clash API section out when no Clash API is configured', async () => {
    const h = await start({});
    const { experimental } = await h.execute<{ experimental: Record<string, unknown> }>('clash-stats.singbox-contribution', { users: ['alice'] });
    expect(Object.keys(experimental)).toEqual(['v2ray_api']);
  });

  it('refuses a user name that could not be a V2Ray counter name, naming the field', async () => {
    const h = await start({});
    await expect(h.execute('clash-stats.singbox-contribution', { users: ['ok', 'bad>>>name'] })).rejects.toThrow(/^input\.users\.1: /);
  });
});
