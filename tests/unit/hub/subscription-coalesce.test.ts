// The read /sub requests share: requests arriving together are answered by one read, and a request
// never gets the answer of a read that started before it arrived (it would miss a change committed
// in between, e.g. through another hub).
import { describe, expect, it } from 'vitest';
import { coalesced } from '../../../hub/subscriptions/coalesce.js';

/** A load whose reads the test finishes by hand; each read answers with the "database" as it was when the read started. */
function fakeDatabase() {
  let state = 'v1';
  const reads: { keys: string[]; finish(): void }[] = [];
  const load = (keys: string[]) =>
    new Promise<Map<string, string>>((resolve) => {
      const seen = state;
      reads.push({ keys, finish: () => resolve(new Map(keys.map((k) => [k, `${k}@${seen}`]))) });
    });
  return { reads, load, commit: (next: string) => (state = next) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('coalesced reads for /sub', () => {
  it('answers requests that arrive together with one read', async () => {
    const db = fakeDatabase();
    const get = coalesced(db.load);
    const answers = Promise.all([get('a'), get('b'), get('a')]);
    await tick();
    expect(db.reads.map((r) => r.keys)).toEqual([['a', 'b']]);
    db.reads[0]!.finish();
    expect(await answers).toEqual(['a@v1', 'b@v1', 'a@v1']);
  });

  it('answers a request that arrived during a read from a later read, which sees what was committed before it', async () => {
    const db = fakeDatabase();
    const get = coalesced(db.load);
    const first = get('a');
    await tick();
    db.commit('v2');
    const second = get('a');
    await tick();
    db.reads[0]!.finish();
    expect(await first).toBe('a@v1');
    await tick();
    expect(db.reads).toHaveLength(2);
    db.reads[1]!.finish();
    expect(await second).toBe('a@v2');
  });

  it('hands a failed read to the requests of its batch only', async () => {
    const get = coalesced(async (keys: string[]) => {
      if (keys.includes('bad')) throw new Error('database gone');
      return new Map(keys.map((k) => [k, k]));
    });
    const failed = Promise.all([get('bad'), get('x')]);
    await expect(failed).rejects.toThrow('database gone');
    expect(await get('y')).toBe('y');
  });
});
