import { describe, expect, it } from 'vitest';
import type { UsersState } from '../../../plugins/singbox-config/store.js';
import { Batcher, pastLimits, servedUsers } from '../../../plugins/singbox-config/users.js';
import { user } from './singbox-config.helpers.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');

function state(extra: Partial<UsersState> = {}): UsersState {
  return {
    revision: 4,
    synced_at: '2026-06-01T00:00:00Z',
    users: [
      user('alice', { remaining_bytes: 1000 }),
      user('bob', { remaining_bytes: null, expires_at: '2026-06-01T11:59:59Z' }),
      user('carol', { remaining_bytes: 1000, expires_at: '2026-07-01T00:00:00Z' }),
    ],
    baseline: { alice: 5000, carol: 0 },
    removed: [],
    ...extra,
  };
}

describe('pastLimits', () => {
  it('counts usage from the totals recorded at users.sync, and cuts a user who used the remaining bytes', () => {
    const totals = { alice: 6000, carol: 999 };
    expect(pastLimits(state(), totals, NOW)).toEqual([
      { name: 'alice', reason: 'used 1000 bytes since users.sync revision 4, which left 1000', at: '2026-06-01T12:00:00.000Z' },
      { name: 'bob', reason: 'expired at 2026-06-01T11:59:59Z', at: '2026-06-01T12:00:00.000Z' },
    ]);
  });

  it('still cuts expired users when usage is unknown (no clash-stats)', () => {
    expect(pastLimits(state({ baseline: null }), undefined, NOW).map((r) => r.name)).toEqual(['bob']);
  });

  it('leaves users already removed alone', () => {
    const removed = [{ name: 'bob', reason: 'expired', at: '2026-06-01T11:59:59Z' }];
    expect(pastLimits(state({ removed }), { alice: 0 }, NOW)).toEqual([]);
    expect(servedUsers(state({ removed })).map((u) => u.name)).toEqual(['alice', 'carol']);
  });
});

describe('Batcher', () => {
  it('runs once for calls within the window, with the kept input, and answers every call', async () => {
    const runs: number[] = [];
    const batcher = new Batcher<number, string>(50, Math.max, async (n) => {
      runs.push(n);
      return `ran ${n}`;
    });
    const results = await Promise.all([batcher.submit(1), batcher.submit(3), batcher.submit(2)]);
    expect(results).toEqual(['ran 3', 'ran 3', 'ran 3']);
    expect(runs).toEqual([3]);
    expect(await batcher.submit(4)).toBe('ran 4');
    expect(runs).toEqual([3, 4]);
  });

  it('rejects every waiting call when the work fails', async () => {
    const batcher = new Batcher<number, string>(10, Math.max, async () => {
      throw new Error('reload failed');
    });
    const results = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
