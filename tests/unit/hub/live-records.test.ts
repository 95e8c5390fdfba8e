// hub/live-records.ts: one poll per feed and interval for every socket watching it, none while no
// one watches, each change sent once although polls overlap, and role-dependent messages rendered
// for each watcher's role.
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../agent-core/common/logger.js';
import type { Role } from '../../../agent-core/common/roles.js';
import { LiveRecords, type LiveMessage } from '../../../hub/live-records.js';

const POLL_MS = 20;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('live record feeds', () => {
  let records: LiveRecords;
  afterEach(() => records?.close());

  it('polls once per interval for all its watchers, only while someone watches, and sends each change once', async () => {
    const polls: number[] = [];
    let rows: LiveMessage[] = [];
    records = new LiveRecords(Date.now, createLogger({ service: 'hub', level: 'error' }), POLL_MS);
    records.registerRecordFeed('things', async (since) => {
      polls.push(since);
      return rows;
    });
    await wait(POLL_MS * 3);
    expect(polls).toHaveLength(0);

    const a: object[] = [];
    const b: object[] = [];
    const stopA = records.watch('things', 'owner', (m) => a.push(m));
    const stopB = records.watch('things', 'viewer', (m) => b.push(m));
    rows = [{ type: 'thing', id: 1 }, (reader: Role) => ({ type: 'secret', shown: reader === 'owner' })];
    await wait(POLL_MS * 5);
    const pollsWhileWatched = polls.length;
    // Two watchers, one poller: about one poll per interval, not two.
    expect(pollsWhileWatched).toBeGreaterThanOrEqual(2);
    expect(pollsWhileWatched).toBeLessThanOrEqual(6);
    // The same rows came back from every overlapping poll, but went out once.
    expect(a).toEqual([{ type: 'thing', id: 1 }, { type: 'secret', shown: true }]);
    expect(b).toEqual([{ type: 'thing', id: 1 }, { type: 'secret', shown: false }]);

    rows = [{ type: 'thing', id: 1, changed: true }];
    await wait(POLL_MS * 3);
    expect(a).toHaveLength(3);
    expect(a.at(-1)).toEqual({ type: 'thing', id: 1, changed: true });

    stopA();
    stopB();
    await wait(POLL_MS * 2);
    const after = polls.length;
    await wait(POLL_MS * 4);
    expect(polls.length).toBe(after);
  });

  it('refuses a feed it does not have, and a feed registered twice', () => {
    records = new LiveRecords(Date.now, createLogger({ service: 'hub', level: 'error' }), POLL_MS);
    records.registerRecordFeed('batches', async () => []);
    expect(() => records.watch('nope', 'owner', () => {})).toThrow('no feed nope; feeds: batches');
    expect(() => records.registerRecordFeed('batches', async () => [])).toThrow('record feed batches is registered twice');
  });
});
