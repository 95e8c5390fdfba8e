// The traffic ledger of plugins/clash-stats on its own: format, drain, ack/compaction, and recovery
// from writes cut short at every byte. The kill -9 loop is in clash-stats.ledger-crash.test.ts.
import { mkdtemp, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailedPreconditionError, InternalError, InvalidArgumentError } from '../../../agent-core/common/errors.js';
import type { BaselinePatch, Delta, InstanceMarker, Pair } from '../../../plugins/clash-stats/ledger-record.js';
import { LEDGER_FILE, Ledger } from '../../../plugins/clash-stats/ledger.js';

const INSTANCE: InstanceMarker = { boot: 'boot-1', mono: 1000, wall: 1_700_000_000 };
const T = new Date('2026-03-10T12:00:00.000Z');

let dir: string;
const open: Ledger[] = [];

async function openLedger(options?: Parameters<typeof Ledger.open>[1]): Promise<Ledger> {
  const ledger = await Ledger.open(dir, options);
  open.push(ledger);
  return ledger;
}

const d = (user: string, up: number, down: number): Delta => ({ user, upload_bytes: up, download_bytes: down });

/** A sample as the plugin would append it: the V2Ray baselines move by the deltas. */
function sample(ledger: Ledger, deltas: Delta[], time = T) {
  const previous = ledger.baselines.get('v2ray');
  const patch: BaselinePatch = { v2ray: previous ? { counters: {} } : { reset: INSTANCE, counters: {} } };
  for (const { user, upload_bytes, download_bytes } of deltas) {
    const [up, down] = previous?.counters.get(user) ?? [0, 0];
    patch.v2ray!.counters[user] = [up + upload_bytes, down + download_bytes];
  }
  return ledger.append({ time, deltas, patch });
}

/** Everything a reader can observe, for comparing states. */
async function snapshot(ledger: Ledger) {
  return {
    head: ledger.headSeq,
    acked: ledger.ackedSeq,
    totals: Object.fromEntries(ledger.totals),
    baselines: Object.fromEntries([...ledger.baselines].map(([s, b]) => [s, { instance: b.instance, counters: Object.fromEntries(b.counters) }])),
    entries: (await ledger.drain(ledger.ackedSeq, 10_000)).entries,
  };
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'clash-stats-ledger-'));
});

afterEach(async () => {
  for (const ledger of open.splice(0)) await ledger.close();
  await rm(dir, { recursive: true, force: true });
});

describe('traffic ledger: appending and draining', () => {
  it('starts empty with a header line and nothing to drain', async () => {
    const ledger = await openLedger();
    expect(ledger.headSeq).toBe(0);
    expect(ledger.ackedSeq).toBe(0);
    expect(await ledger.drain(0, 10)).toEqual({ entries: [], head_seq: 0, acked_seq: 0 });
    const lines = (await readFile(path.join(dir, LEDGER_FILE), 'utf8')).split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ ledger: 'boxfleet-traffic-ledger', version: 1, head_seq: 0, acked_seq: 0 });
  });

  it('gives entries consecutive sequence numbers, one per user with bytes, and leaves out zero deltas', async () => {
    const ledger = await openLedger();
    expect(await sample(ledger, [d('alice', 10, 100), d('bob', 0, 0), d('carol', 1, 0)])).toEqual({ appended: 2, last_seq: 2 });
    expect(await sample(ledger, [d('bob', 0, 5)], new Date('2026-03-10T12:00:10.000Z'))).toEqual({ appended: 1, last_seq: 3 });
    expect((await ledger.drain(0, 100)).entries).toEqual([
      { seq: 1, time: T.toISOString(), user: 'alice', upload_bytes: 10, download_bytes: 100 },
      { seq: 2, time: T.toISOString(), user: 'carol', upload_bytes: 1, download_bytes: 0 },
      { seq: 3, time: '2026-03-10T12:00:10.000Z', user: 'bob', upload_bytes: 0, download_bytes: 5 },
    ]);
    expect(Object.fromEntries(ledger.totals)).toEqual({ alice: [10, 100], carol: [1, 0], bob: [0, 5] });
  });

  it('writes nothing when a sample has neither bytes nor baseline changes', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 1, 1)]);
    const before = (await stat(ledger.file)).size;
    expect(await ledger.append({ time: T, deltas: [d('alice', 0, 0)], patch: {} })).toEqual({ appended: 0, last_seq: 1 });
    expect((await stat(ledger.file)).size).toBe(before);
  });

  it('records baseline changes without entries (a restart with no traffic yet)', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 5, 5)]);
    const later = { ...INSTANCE, mono: INSTANCE.mono + 60 };
    await ledger.append({ time: T, deltas: [], patch: { v2ray: { reset: later, counters: {} } } });
    expect(ledger.headSeq).toBe(1);
    expect(ledger.baselines.get('v2ray')).toEqual({ instance: later, counters: new Map() });
    await ledger.close();
    const reopened = await openLedger();
    expect(reopened.baselines.get('v2ray')).toEqual({ instance: later, counters: new Map() });
  });

  it("moves a source's instance and keeps its counters, through reopen and compaction", async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 5, 5)]);
    const later = { ...INSTANCE, mono: INSTANCE.mono + 1.5, wall: INSTANCE.wall + 1.5 };
    await ledger.append({ time: T, deltas: [], patch: { v2ray: { instance: later, counters: {} } } });
    await ledger.append({ time: T, deltas: [d('alice', 1, 2)], patch: { v2ray: { counters: { alice: [6, 7] } } } });
    const moved = { instance: later, counters: new Map([['alice', [6, 7]]]) };
    expect(ledger.baselines.get('v2ray')).toEqual(moved);
    await ledger.close();
    const reopened = await openLedger();
    expect(reopened.baselines.get('v2ray')).toEqual(moved);
    await reopened.ack(2);
    expect((await readFile(reopened.file, 'utf8')).trimEnd().split('\n')).toHaveLength(1); // compacted into the header
    await reopened.close();
    expect((await openLedger()).baselines.get('v2ray')).toEqual(moved);
  });

  it('refuses a move of an instance for a source it has no baselines for, or together with a reset', async () => {
    const ledger = await openLedger();
    await expect(ledger.append({ time: T, deltas: [], patch: { v2ray: { instance: INSTANCE, counters: {} } } })).rejects.toThrow(
      /baselines for unknown source v2ray/,
    );
    await ledger.close();
    open.length = 0;
    const both = { time: T.toISOString(), baselines: { v2ray: { reset: INSTANCE, instance: INSTANCE, counters: {} } } };
    await appendFile(ledger.file, `${JSON.stringify(both)}\n{"ack":0}\n`);
    await expect(Ledger.open(dir)).rejects.toThrow(/is damaged at byte/);
  });

  it('drains from after_seq, at most limit, the same entries every time', async () => {
    const ledger = await openLedger();
    for (let i = 1; i <= 5; i++) await sample(ledger, [d(`u${i}`, i, i), d(`v${i}`, i, 0)]);
    const page = await ledger.drain(3, 4);
    expect(page.entries.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
    expect(page.head_seq).toBe(10);
    expect(await ledger.drain(3, 4)).toEqual(page);
    expect((await ledger.drain(9, 100)).entries.map((e) => e.seq)).toEqual([10]);
    expect((await ledger.drain(10, 100)).entries).toEqual([]);
  });

  it('refuses to drain beyond the head, naming both positions', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 1, 1)]);
    const error = await ledger.drain(5, 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toMatch(/^after_seq 5 is beyond head_seq 1\b/);
  });

  it('finds entries deep in a large ledger (index points every 64 KiB)', async () => {
    const ledger = await openLedger();
    const users = Array.from({ length: 40 }, (_, i) => `user-${String(i).padStart(3, '0')}`);
    for (let round = 0; round < 200; round++) await sample(ledger, users.map((u, i) => d(u, round + 1, i + 1)));
    expect(ledger.sizeBytes).toBeGreaterThan(4 * 64 * 1024);
    const page = await ledger.drain(4321, 3);
    expect(page.entries.map((e) => [e.seq, e.user, e.upload_bytes])).toEqual([
      [4322, 'user-001', 109],
      [4323, 'user-002', 109],
      [4324, 'user-003', 109],
    ]);
  });

  it('keeps every entry, total and baseline across close and reopen', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 10, 20)]);
    await sample(ledger, [d('alice', 1, 2), d('bob', 3, 4)]);
    const before = await snapshot(ledger);
    await ledger.close();
    expect(await snapshot(await openLedger())).toEqual(before);
  });
});

describe("traffic ledger: the ledger's creation marker", () => {
  const CREATED: InstanceMarker = { boot: 'boot-1', mono: 4600, wall: 1_700_003_600 };
  const header = async () => JSON.parse((await readFile(path.join(dir, LEDGER_FILE), 'utf8')).split('\n')[0]!);

  it('is recorded in a new ledger\'s header, and kept through compaction and reopening', async () => {
    let ledger = await openLedger({ now: () => CREATED });
    expect(ledger.createdAt).toEqual(CREATED);
    expect(await header()).toMatchObject({ created: CREATED });
    for (let i = 1; i <= 3; i++) await sample(ledger, [d('alice', 1, 1)]);
    await ledger.ack(2);
    expect(await header()).toMatchObject({ acked_seq: 2, created: CREATED });
    await ledger.close();
    // Reopening an existing ledger keeps its creation: a later moment would pass for a new ledger.
    ledger = await openLedger({ now: () => ({ ...CREATED, mono: CREATED.mono + 60 }) });
    expect(ledger.createdAt).toEqual(CREATED);
    await ledger.ack(3);
    expect(await header()).toMatchObject({ acked_seq: 3, created: CREATED });
  });

  it('is absent from a ledger written before it existed, which still opens, samples and compacts', async () => {
    const old = { ledger: 'boxfleet-traffic-ledger', version: 1, id: 'old', acked_seq: 0, head_seq: 0, baselines: {}, totals: {} };
    await writeFile(path.join(dir, LEDGER_FILE), `${JSON.stringify(old)}\n`);
    const ledger = await openLedger({ now: () => CREATED });
    expect(ledger.createdAt).toBeUndefined();
    await sample(ledger, [d('alice', 1, 1)]);
    await ledger.ack(1);
    expect(await header()).toEqual({ ...old, acked_seq: 1, head_seq: 1, totals: { alice: [1, 1] }, baselines: expect.any(Object) });
  });

  it('refuses a header whose creation marker is not one', async () => {
    const bad = { ledger: 'boxfleet-traffic-ledger', version: 1, id: 'x', acked_seq: 0, head_seq: 0, baselines: {}, totals: {}, created: { mono: 1 } };
    await writeFile(path.join(dir, LEDGER_FILE), `${JSON.stringify(bad)}\n`);
    await expect(Ledger.open(dir)).rejects.toThrow(/is damaged at byte 0 \(no valid header line\)/);
  });
});

describe('traffic ledger: acknowledging', () => {
  it('compacts acknowledged entries away and keeps totals, baselines and the head', async () => {
    const ledger = await openLedger();
    for (let i = 1; i <= 4; i++) await sample(ledger, [d('alice', i, 10 * i)]);
    const sizeBefore = ledger.sizeBytes;
    expect(await ledger.ack(3)).toEqual({ acked_seq: 3, head_seq: 4 });
    expect(ledger.sizeBytes).toBeLessThan(sizeBefore);
    expect((await ledger.drain(3, 10)).entries.map((e) => e.seq)).toEqual([4]);
    expect(Object.fromEntries(ledger.totals)).toEqual({ alice: [10, 100] });
    const before = await snapshot(ledger);
    await ledger.close();
    const reopened = await openLedger();
    expect(await snapshot(reopened)).toEqual(before);
    expect(await sample(reopened, [d('alice', 1, 1)])).toEqual({ appended: 1, last_seq: 5 });
    expect(Object.fromEntries(reopened.totals)).toEqual({ alice: [11, 101] });
  });

  it('refuses a drain from before the acknowledged position, naming acked_seq', async () => {
    const ledger = await openLedger();
    for (let i = 1; i <= 3; i++) await sample(ledger, [d('alice', 1, 1)]);
    await ledger.ack(2);
    const error = await ledger.drain(1, 10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toMatch(/^after_seq 1 is below acked_seq 2\b/);
    expect((await ledger.drain(2, 10)).entries.map((e) => e.seq)).toEqual([3]);
  });

  it('refuses to acknowledge beyond the head and changes nothing', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 1, 1)]);
    const size = ledger.sizeBytes;
    const error = await ledger.ack(2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe('input.seq: 2 is beyond head_seq 1');
    expect(ledger.ackedSeq).toBe(0);
    expect(ledger.sizeBytes).toBe(size);
  });

  it('treats acknowledging an older position again as done', async () => {
    const ledger = await openLedger();
    for (let i = 1; i <= 3; i++) await sample(ledger, [d('alice', 1, 1)]);
    await ledger.ack(2);
    const size = ledger.sizeBytes;
    expect(await ledger.ack(1)).toEqual({ acked_seq: 2, head_seq: 3 });
    expect(await ledger.ack(2)).toEqual({ acked_seq: 2, head_seq: 3 });
    expect(ledger.sizeBytes).toBe(size);
  });

  it('acknowledging everything leaves only the header, which still carries the totals', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 7, 8)]);
    await ledger.ack(1);
    const lines = (await readFile(ledger.file, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ acked_seq: 1, head_seq: 1, totals: { alice: [7, 8] } });
  });

  it('in a big ledger, records a small acknowledgement as a line and compacts once half is acknowledged', async () => {
    const ledger = await openLedger({ compactBelowBytes: 0 });
    const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
    for (let round = 0; round < 100; round++) await sample(ledger, users.map((u) => d(u, 1, 1)));
    const size = ledger.sizeBytes;
    await ledger.ack(100);
    expect(ledger.sizeBytes).toBeGreaterThan(size); // an ack line, no rewrite
    expect((await readFile(ledger.file, 'utf8')).trimEnd().split('\n').at(-1)).toBe('{"ack":100}');
    await expect(ledger.drain(99, 1)).rejects.toThrow(/below acked_seq 100/);
    await ledger.close();

    const reopened = await openLedger({ compactBelowBytes: 0 });
    expect(reopened.ackedSeq).toBe(100);
    await reopened.ack(1500);
    expect(reopened.sizeBytes).toBeLessThan(size / 2);
    expect((await reopened.drain(1500, 10_000)).entries.map((e) => e.seq)).toEqual(range(1501, 2000));
    expect(Object.fromEntries(reopened.totals)).toEqual(Object.fromEntries(users.map((u) => [u, [100, 100]])));
  });

  it('ignores a compaction that died before its rename', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 1, 2)]);
    const before = await snapshot(ledger);
    await ledger.close();
    await writeFile(`${path.join(dir, LEDGER_FILE)}.tmp`, '{"ledger":"boxfleet-traffic-ledger","version":1,"id":"x","acked_se');
    const reopened = await openLedger();
    expect(await snapshot(reopened)).toEqual(before);
    await expect(stat(`${path.join(dir, LEDGER_FILE)}.tmp`)).rejects.toThrow(/ENOENT/);
  });
});

describe('traffic ledger: totals as of a seq', () => {
  /** Samples these deltas and returns every entry appended, in seq order (the test's own record). */
  async function record(ledger: Ledger, samples: Delta[][]): Promise<Delta[]> {
    const entries: Delta[] = [];
    for (const deltas of samples) {
      await sample(ledger, deltas);
      entries.push(...deltas);
    }
    return entries;
  }

  /** Bytes per user over the first `seq` entries, summed here independently of the ledger. */
  function sumUpTo(entries: Delta[], seq: number): Record<string, Pair> {
    const out: Record<string, Pair> = {};
    for (const { user, upload_bytes, download_bytes } of entries.slice(0, seq)) {
      const [up, down] = out[user] ?? [0, 0];
      out[user] = [up + upload_bytes, down + download_bytes];
    }
    return out;
  }

  const samples = [[d('alice', 10, 100), d('bob', 1, 2)], [d('alice', 5, 0)], [d('carol', 7, 7), d('alice', 1, 1), d('bob', 0, 9)], [d('alice', 3, 30)]];

  it('gives, for every seq from acked_seq to the head, the exact sums of the entries up to it', async () => {
    const ledger = await openLedger({ compactBelowBytes: 0 });
    const entries = await record(ledger, samples);
    expect(ledger.headSeq).toBe(7);
    for (let seq = 0; seq <= 7; seq++) expect(Object.fromEntries(await ledger.totalsAt(seq))).toEqual(sumUpTo(entries, seq));
    expect(Object.fromEntries(await ledger.totalsAt(7))).toEqual(Object.fromEntries(ledger.totals));

    // Acknowledged as a line (a big ledger), then compacted, then reopened: the entries after
    // acked_seq are still there to subtract.
    await ledger.ack(1);
    expect((await readFile(ledger.file, 'utf8')).trimEnd().split('\n').at(-1)).toBe('{"ack":1}');
    for (let seq = 1; seq <= 7; seq++) expect(Object.fromEntries(await ledger.totalsAt(seq))).toEqual(sumUpTo(entries, seq));
    await ledger.ack(4);
    await ledger.close();
    const reopened = await openLedger();
    const more = await record(reopened, [[d('bob', 2, 2)]]);
    for (let seq = 4; seq <= 8; seq++) expect(Object.fromEntries(await reopened.totalsAt(seq))).toEqual(sumUpTo([...entries, ...more], seq));
  });

  it('refuses a seq below acked_seq or beyond the head, naming the field and the position', async () => {
    const ledger = await openLedger();
    await record(ledger, samples);
    await ledger.ack(3);
    const below = await ledger.totalsAt(2).catch((e: unknown) => e);
    expect(below).toBeInstanceOf(FailedPreconditionError);
    expect((below as Error).message).toBe('input.at_seq: 2 is below acked_seq 3: entries up to 3 were acknowledged and compacted away');
    const beyond = await ledger.totalsAt(8).catch((e: unknown) => e);
    expect(beyond).toBeInstanceOf(FailedPreconditionError);
    expect((beyond as Error).message).toBe(`input.at_seq: 8 is beyond head_seq 7: this node's ledger (id ${ledger.ledgerId}) is not the one that position came from`);
  });
});

describe('traffic ledger: recovery', () => {
  it('after a write cut at any byte of the last line, reads back exactly the state before or after it', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 100, 1000), d('bob', 5, 50)]);
    await sample(ledger, [d('alice', 1, 2)]);
    await ledger.ack(1);
    await sample(ledger, [d('bob', 3, 4)]);
    const before = await snapshot(ledger);
    const beforeBytes = await readFile(ledger.file);
    await ledger.append({
      time: T,
      deltas: [d('alice', 7, 70), d('carol', 9, 90)],
      patch: { v2ray: { counters: { alice: [108, 1072], carol: [9, 90], bob: null } } },
    });
    const after = await snapshot(ledger);
    const afterBytes = await readFile(ledger.file);
    await ledger.close();
    open.length = 0;
    expect(after.head).toBe(before.head + 2);

    for (let cut = beforeBytes.length; cut <= afterBytes.length; cut++) {
      await writeFile(ledger.file, afterBytes.subarray(0, cut));
      const torn: number[] = [];
      const recovered = await Ledger.open(dir, { onTornTail: ({ bytes }) => torn.push(bytes) });
      const state = await snapshot(recovered);
      await recovered.close();
      if (cut === afterBytes.length) {
        expect(state, `cut at ${cut}`).toEqual(after);
        expect(torn).toEqual([]);
      } else {
        expect(state, `cut at ${cut}`).toEqual(before);
        expect((await stat(ledger.file)).size, `cut at ${cut}`).toBe(beforeBytes.length);
        if (cut > beforeBytes.length) expect(torn).toEqual([cut - beforeBytes.length]);
      }
    }
  });

  it('drops a last line that ends in zeros (a crash after the file grew but before its data landed)', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 1, 1)]);
    const before = await snapshot(ledger);
    await ledger.close();
    open.length = 0;
    await appendFile(path.join(dir, LEDGER_FILE), Buffer.concat([Buffer.from('{"time":"2026'), Buffer.alloc(40), Buffer.from('\n')]));
    expect(await snapshot(await openLedger())).toEqual(before);
  });

  it('continues after recovery with the next sequence number and no gap', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 1, 1)]);
    await ledger.close();
    open.length = 0;
    await appendFile(path.join(dir, LEDGER_FILE), '{"time":"2026-03-10T12:00:00.000Z","seq":2,"entries":[["alice",5');
    const reopened = await openLedger();
    expect(await sample(reopened, [d('alice', 2, 2)])).toEqual({ appended: 1, last_seq: 2 });
    await reopened.close();
    open.length = 0;
    expect((await (await openLedger()).drain(0, 10)).entries.map((e) => [e.seq, e.upload_bytes])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('refuses to open a ledger damaged before its last line, naming the byte, and leaves it untouched', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 1, 1)]);
    await sample(ledger, [d('alice', 1, 1)]);
    await ledger.close();
    open.length = 0;
    const bytes = await readFile(ledger.file);
    const secondLine = bytes.indexOf(10) + 1;
    const damaged = Buffer.from(bytes);
    damaged[secondLine + 3] = 0x00;
    await writeFile(ledger.file, damaged);
    const error = await Ledger.open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalError);
    expect((error as Error).message).toContain(`is damaged at byte ${secondLine}`);
    expect(await readFile(ledger.file)).toEqual(damaged);
  });

  it('refuses lines whose sequence numbers do not follow on', async () => {
    const ledger = await openLedger();
    await sample(ledger, [d('alice', 1, 1)]);
    await ledger.close();
    open.length = 0;
    await appendFile(ledger.file, '{"time":"2026-03-10T12:00:00.000Z","seq":5,"entries":[["alice",1,1]]}\n');
    await expect(Ledger.open(dir)).rejects.toThrow(/seq 5 does not follow 1/);
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
