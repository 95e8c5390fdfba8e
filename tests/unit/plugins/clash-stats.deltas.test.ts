// How clash-stats turns counter readings into deltas, and when it decides sing-box restarted.
import { describe, expect, it } from 'vitest';
import { computeDeltas, sameInstance, userOf, type Reading } from '../../../plugins/clash-stats/deltas.js';
import type { InstanceMarker, Pair, SourceBaseline } from '../../../plugins/clash-stats/ledger-record.js';

const START: InstanceMarker = { boot: 'boot-1', mono: 5000, wall: 1_700_000_000 };
// Instance markers are estimates of when sing-box started: the same instance keeps (about) the same one.
const later = (seconds: number, from: InstanceMarker = START): InstanceMarker => ({
  ...from,
  mono: from.mono + seconds,
  wall: from.wall + seconds,
});

function reading(instance: InstanceMarker, sources: Record<string, Record<string, Pair>>, precise = true): Reading {
  return { instance, sources: new Map(Object.entries(sources).map(([s, c]) => [s, new Map(Object.entries(c))])), precise };
}

function baselines(instance: InstanceMarker, sources: Record<string, Record<string, Pair>>): Map<string, SourceBaseline> {
  return new Map(Object.entries(sources).map(([s, c]) => [s, { instance, counters: new Map(Object.entries(c)) }]));
}

describe('sameInstance', () => {
  it('takes start estimates less than 2 s apart as one instance (uptime is whole seconds)', () => {
    expect(sameInstance(START, later(1.999))).toBe(true);
    expect(sameInstance(START, later(2))).toBe(true);
  });

  it('takes a start more than 2 s later as a restart, as the contract says (uptime < previous + elapsed - 2)', () => {
    expect(sameInstance(START, later(2.001))).toBe(false);
    expect(sameInstance(START, later(3600))).toBe(false);
  });

  it('never takes an earlier start as a restart, since that would count every counter twice', () => {
    expect(sameInstance(START, later(-30))).toBe(true);
  });

  it('takes another boot id as a restart whatever the clocks say', () => {
    expect(sameInstance(START, { ...START, boot: 'boot-2' })).toBe(false);
  });

  it('compares wall-clock estimates when there is no boot id', () => {
    const noBoot = { ...START, boot: null };
    expect(sameInstance(noBoot, { ...later(1), boot: null })).toBe(true);
    expect(sameInstance(noBoot, { ...START, boot: null, mono: START.mono + 100, wall: START.wall + 100 })).toBe(false);
  });
});

describe('computeDeltas', () => {
  it('counts the whole current values the first time a source is seen, and records its instance', () => {
    const { deltas, patch } = computeDeltas(new Map(), reading(START, { v2ray: { alice: [10, 100], bob: [0, 0] } }));
    expect(deltas).toEqual([{ user: 'alice', upload_bytes: 10, download_bytes: 100 }]);
    expect(patch).toEqual({ v2ray: { reset: START, counters: { alice: [10, 100] } } });
  });

  it('counts what each counter grew by since its baseline; an absent counter is 0', () => {
    const { deltas, patch } = computeDeltas(
      baselines(START, { v2ray: { alice: [10, 100], bob: [5, 5] } }),
      reading(later(0.3), { v2ray: { alice: [15, 130], bob: [5, 5], carol: [1, 2] } }),
    );
    expect(deltas).toEqual([
      { user: 'alice', upload_bytes: 5, download_bytes: 30 },
      { user: 'carol', upload_bytes: 1, download_bytes: 2 },
    ]);
    expect(patch).toEqual({ v2ray: { counters: { alice: [15, 130], carol: [1, 2] } } });
  });

  it('changes nothing when no counter moved', () => {
    expect(computeDeltas(baselines(START, { v2ray: { alice: [1, 1] } }), reading(later(0.3), { v2ray: { alice: [1, 1] } }))).toEqual({
      deltas: [],
      patch: {},
    });
  });

  it('takes a V2Ray counter that went down as a restart: every V2Ray counter counts in full', () => {
    const { deltas, patch } = computeDeltas(
      baselines(START, { v2ray: { alice: [1000, 1000], bob: [10, 10] } }),
      // bob's counter is higher than his baseline, but it belongs to the new instance too.
      reading(later(1), { v2ray: { alice: [3, 4], bob: [20, 30] } }),
    );
    expect(deltas).toEqual([
      { user: 'alice', upload_bytes: 3, download_bytes: 4 },
      { user: 'bob', upload_bytes: 20, download_bytes: 30 },
    ]);
    expect(patch).toEqual({ v2ray: { reset: later(1), counters: { alice: [3, 4], bob: [20, 30] } } });
  });

  it('takes a V2Ray counter that disappeared as a restart', () => {
    const { deltas, patch } = computeDeltas(
      baselines(START, { v2ray: { alice: [50, 50], bob: [10, 10] } }),
      reading(later(1), { v2ray: { bob: [11, 12] } }),
    );
    expect(deltas).toEqual([{ user: 'bob', upload_bytes: 11, download_bytes: 12 }]);
    expect(patch.v2ray).toEqual({ reset: later(1), counters: { bob: [11, 12] } });
  });

  it('takes a later instance start (uptime went down) as a restart even when every counter grew', () => {
    const { deltas, patch } = computeDeltas(
      baselines(START, { v2ray: { alice: [100, 100] }, 'ssm:ss-in': { 'bob@ss-in': [7, 7] } }),
      reading(later(60), { v2ray: { alice: [300, 400] }, 'ssm:ss-in': { 'bob@ss-in': [8, 9] } }),
    );
    expect(deltas).toEqual([
      { user: 'alice', upload_bytes: 300, download_bytes: 400 },
      { user: 'bob', upload_bytes: 8, download_bytes: 9 },
    ]);
    expect(patch).toEqual({
      v2ray: { reset: later(60), counters: { alice: [300, 400] } },
      'ssm:ss-in': { reset: later(60), counters: { 'bob@ss-in': [8, 9] } },
    });
  });

  it('after a restart with no traffic yet, moves the baselines to the new instance with no entries', () => {
    const { deltas, patch } = computeDeltas(baselines(START, { v2ray: { alice: [100, 100] } }), reading(later(60), { v2ray: {} }));
    expect(deltas).toEqual([]);
    expect(patch).toEqual({ v2ray: { reset: later(60), counters: {} } });
  });

  it('restarts only the SSM counter that went down (a user deleted and added again)', () => {
    const { deltas, patch } = computeDeltas(
      baselines(START, { 'ssm:ss-in': { 'alice@ss-in': [100, 100], 'bob@ss-in': [50, 50] } }),
      reading(later(0.3), { v2ray: {}, 'ssm:ss-in': { 'alice@ss-in': [5, 6], 'bob@ss-in': [60, 70] } }),
    );
    expect(deltas).toEqual([
      { user: 'alice', upload_bytes: 5, download_bytes: 6 },
      { user: 'bob', upload_bytes: 10, download_bytes: 20 },
    ]);
    expect(patch['ssm:ss-in']).toEqual({ counters: { 'alice@ss-in': [5, 6], 'bob@ss-in': [60, 70] } });
  });

  it('forgets an SSM user whose counter disappeared, without entries', () => {
    const { deltas, patch } = computeDeltas(
      baselines(START, { 'ssm:ss-in': { 'alice@ss-in': [100, 100] } }),
      reading(later(0.3), { v2ray: {}, 'ssm:ss-in': {} }),
    );
    expect(deltas).toEqual([]);
    expect(patch['ssm:ss-in']).toEqual({ counters: { 'alice@ss-in': null } });
  });

  it('adds a user\'s V2Ray and SSM bytes into one entry, with the SSM name mapped from "<name>@<tag>"', () => {
    const { deltas } = computeDeltas(
      baselines(START, { v2ray: { alice: [10, 10] }, 'ssm:ss-a': { 'alice@ss-a': [1, 1] } }),
      reading(later(0.3), { v2ray: { alice: [20, 30] }, 'ssm:ss-a': { 'alice@ss-a': [4, 5], 'bob@ss-a': [2, 2] } }),
    );
    expect(deltas).toEqual([
      { user: 'alice', upload_bytes: 13, download_bytes: 24 },
      { user: 'bob', upload_bytes: 2, download_bytes: 2 },
    ]);
  });

  it('moves the stored start of each source read to a reading of the same instance more than 0.4 s later', () => {
    const before = baselines(START, { v2ray: { alice: [10, 10] }, 'ssm:ss-in': { 'bob@ss-in': [1, 1] } });
    // Uptime is whole seconds: estimates of one instance spread over a second, so 1.5 s later is not a restart.
    expect(computeDeltas(before, reading(later(1.5), { v2ray: { alice: [10, 10] }, 'ssm:ss-in': { 'bob@ss-in': [1, 1] } }))).toEqual({
      deltas: [],
      patch: { v2ray: { instance: later(1.5), counters: {} }, 'ssm:ss-in': { instance: later(1.5), counters: {} } },
    });
    const { deltas, patch } = computeDeltas(before, reading(later(1.5), { v2ray: { alice: [15, 20] } }));
    expect(deltas).toEqual([{ user: 'alice', upload_bytes: 5, download_bytes: 10 }]);
    expect(patch).toEqual({ v2ray: { instance: later(1.5), counters: { alice: [15, 20] } } });
    // An earlier estimate, or one at most 0.4 s later, leaves the stored start as it is.
    expect(computeDeltas(before, reading(later(-0.8), { v2ray: { alice: [10, 10] } })).patch).toEqual({});
    expect(computeDeltas(before, reading(later(0.3), { v2ray: { alice: [10, 10] } })).patch).toEqual({});
  });

  it('does not count again an instance that started unseen less than 2 s after the stored start (two reloads before any traffic)', () => {
    // Stored: the start of sing-box's first instance. It is reloaded 1.5 s later with no counter
    // yet, so nothing shows the restart; then carol moves 2 MB through the new instance.
    const first = computeDeltas(baselines(START, { v2ray: {} }), reading(later(1.5), { v2ray: { carol: [105, 2_097_292] } }));
    expect(first.deltas).toEqual([{ user: 'carol', upload_bytes: 105, download_bytes: 2_097_292 }]);
    expect(first.patch).toEqual({ v2ray: { instance: later(1.5), counters: { carol: [105, 2_097_292] } } });
    // 0.9 s into a second of the new instance its estimate is 2.4 s after the first instance's
    // start: against that start it looks like a restart, and carol's 2 MB would be counted again.
    const idle = reading(later(2.4), { v2ray: { carol: [105, 2_097_292] } });
    expect(computeDeltas(baselines(START, { v2ray: { carol: [105, 2_097_292] } }), idle).deltas).toEqual([
      { user: 'carol', upload_bytes: 105, download_bytes: 2_097_292 },
    ]);
    // With the start the first reading moved it to, it is the same instance: nothing to count.
    const { deltas, patch } = computeDeltas(baselines(later(1.5), { v2ray: { carol: [105, 2_097_292] } }), idle);
    expect(deltas).toEqual([]);
    expect(patch).toEqual({ v2ray: { instance: later(2.4), counters: {} } });
  });

  it('keeps the baselines of a source not read this time, unless sing-box restarted since', () => {
    const before = baselines(START, { v2ray: {}, 'ssm:ss-in': { 'alice@ss-in': [9, 9] } });
    expect(computeDeltas(before, reading(later(0.3), { v2ray: {} })).patch).toEqual({});
    expect(computeDeltas(before, reading(later(60), { v2ray: {} })).patch).toEqual({
      v2ray: { reset: later(60), counters: {} },
      'ssm:ss-in': null,
    });
  });
});

describe('computeDeltas for a source the ledger has no baseline for, with the ledger created at CREATED', () => {
  // sing-box kept running while the agent's state was lost: the new ledger was created an hour
  // into it, and its counters hold bytes the lost ledger may have recorded already.
  const CREATED = later(3600);

  it('takes the counters of an instance that started before the ledger as the baseline and counts nothing', () => {
    const { deltas, patch } = computeDeltas(
      new Map(),
      reading(START, { v2ray: { alice: [10, 100], bob: [0, 0] }, 'ssm:ss-in': { 'carol@ss-in': [5, 6] } }),
      CREATED,
    );
    expect(deltas).toEqual([]);
    expect(patch).toEqual({
      v2ray: { reset: START, counters: { alice: [10, 100] } },
      'ssm:ss-in': { reset: START, counters: { 'carol@ss-in': [5, 6] } },
    });
    // From there on, only what grows counts.
    const next = computeDeltas(baselines(START, { v2ray: { alice: [10, 100] } }), reading(START, { v2ray: { alice: [15, 130] } }), CREATED);
    expect(next.deltas).toEqual([{ user: 'alice', upload_bytes: 5, download_bytes: 30 }]);
  });

  it('counts the whole values of an instance that started after the ledger (a fresh install, a restart, a reload)', () => {
    const { deltas, patch } = computeDeltas(new Map(), reading(later(3700), { v2ray: { alice: [10, 100] } }), CREATED);
    expect(deltas).toEqual([{ user: 'alice', upload_bytes: 10, download_bytes: 100 }]);
    expect(patch).toEqual({ v2ray: { reset: later(3700), counters: { alice: [10, 100] } } });
  });

  it('counts the whole values of an instance that started at most 2 s before the ledger: the agent start that created it may have started that sing-box', () => {
    for (const gap of [2, 0.5, -1]) {
      expect(computeDeltas(new Map(), reading(later(-gap, CREATED), { v2ray: { alice: [1, 2] } }), CREATED).deltas).toEqual([
        { user: 'alice', upload_bytes: 1, download_bytes: 2 },
      ]);
    }
    expect(computeDeltas(new Map(), reading(later(-2.001, CREATED), { v2ray: { alice: [1, 2] } }), CREATED).deltas).toEqual([]);
  });

  it('counts the whole values of an instance from a later boot than the ledger, whatever the monotonic clocks say', () => {
    const { deltas } = computeDeltas(new Map(), reading({ ...START, boot: 'boot-2' }, { v2ray: { alice: [1, 2] } }), CREATED);
    expect(deltas).toEqual([{ user: 'alice', upload_bytes: 1, download_bytes: 2 }]);
  });

  it('counts the whole values when the ledger has no creation marker (created before clash-stats 0.5.0), as before', () => {
    const { deltas, patch } = computeDeltas(new Map(), reading(START, { v2ray: { alice: [10, 100] } }));
    expect(deltas).toEqual([{ user: 'alice', upload_bytes: 10, download_bytes: 100 }]);
    expect(patch).toEqual({ v2ray: { reset: START, counters: { alice: [10, 100] } } });
  });

  it('decides nothing from a slow uptime call: no baseline, no deltas, until a prompt reading', () => {
    // A slow answer's estimate is early: it could make an instance started after the ledger look older.
    expect(computeDeltas(new Map(), reading(START, { v2ray: { alice: [10, 100] } }, false), CREATED)).toEqual({ deltas: [], patch: {} });
    expect(computeDeltas(new Map(), reading(later(3700), { v2ray: { alice: [10, 100] } }, false), CREATED)).toEqual({ deltas: [], patch: {} });
    // A source that has a baseline is counted as usual.
    const known = computeDeltas(
      baselines(START, { v2ray: { alice: [10, 100] } }),
      reading(START, { v2ray: { alice: [12, 100] }, 'ssm:ss-in': { 'bob@ss-in': [1, 1] } }, false),
      CREATED,
    );
    expect(known).toEqual({ deltas: [{ user: 'alice', upload_bytes: 2, download_bytes: 0 }], patch: { v2ray: { counters: { alice: [12, 100] } } } });
  });
});

describe('userOf', () => {
  it('maps an SSM username "<name>@<tag>" to <name>, keeping other @ in the name', () => {
    expect(userOf('ssm:ss-in', 'alice@ss-in')).toBe('alice');
    expect(userOf('ssm:ss-in', 'a@b@ss-in')).toBe('a@b');
  });

  it('keeps SSM usernames without the inbound suffix, and V2Ray names, as they are', () => {
    expect(userOf('ssm:ss-in', 'alice@other')).toBe('alice@other');
    expect(userOf('ssm:ss-in', '@ss-in')).toBe('@ss-in');
    expect(userOf('v2ray', 'alice@ss-in')).toBe('alice@ss-in');
  });
});
