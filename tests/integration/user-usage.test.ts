// One user's usage per day and per node (GET /api/v1/users/:id/usage) and the same user's view in
// the portal (GET /sub/<token>/usage), on SQLite in-process: days are the reset time zone's, the
// answer counts rolled-up and pending usage exactly, before and after a roll-up, ranges are bounded,
// and a token sees only its own user, with node names and no node ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../agent-core/common/logger.js';
import { insertPending } from '../../hub/billing/usage-pending.js';
import { Node } from '../../hub/db/models.js';
import { runUsageRollup } from '../../hub/jobs/usage-rollup.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';

// 12:30 on 10 March 2031 in Shanghai (UTC+8, no daylight saving time).
const NOW = Date.parse('2031-03-10T04:30:00Z');
const at = (iso: string) => Date.parse(iso);

describe('per-user usage by day and by node', () => {
  let hub: TestHub;
  let alice: { id: number; token: string };
  let bob: { id: number; token: string };
  const get = (url: string) => hub.app.inject({ method: 'GET', url, headers: hub.auth });
  const hourly = (node_id: string, user_id: number, hour: string, up: number, down: number, billed: number) => ({
    node_id,
    user_id,
    hour: at(hour),
    upload_bytes: up,
    download_bytes: down,
    billed_bytes: billed,
  });

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { clock: () => NOW, config: { reset_timezone: 'Asia/Shanghai' } });
    const node = { address: '198.51.100.7:7443', insecure: true, token: 'x'.repeat(24) };
    await Node.query(hub.app.db).insert({ ...node, id: 'hk-1', name: 'Hong Kong 1', tags: ['hk'] });
    await Node.query(hub.app.db).insert({ ...node, id: 'us-1', name: 'US 1', tags: ['us'] });
    const user = async (name: string) => {
      const { id } = await ownerApi(hub, 'POST', '/api/v1/users', { name });
      return { id: id as number, token: (await ownerApi(hub, 'GET', `/api/v1/users/${id}/credentials`)).sub_token as string };
    };
    alice = await user('alice');
    bob = await user('bob');
    await hub.app.db('usage_hourly').insert([
      // 23:00 on 9 March in Shanghai.
      hourly('hk-1', alice.id, '2031-03-09T15:00:00Z', 10, 100, 110),
      // 00:00 on 10 March in Shanghai, still 9 March in UTC.
      hourly('hk-1', alice.id, '2031-03-09T16:00:00Z', 1, 2, 3),
      // A node billing at twice the bytes.
      hourly('us-1', alice.id, '2031-03-10T02:00:00Z', 1000, 2000, 6000),
      // Long before the default range.
      hourly('hk-1', alice.id, '2031-01-01T00:00:00Z', 9, 9, 18),
      hourly('hk-1', bob.id, '2031-03-10T02:00:00Z', 50, 50, 100),
    ]);
    // What the traffic job billed since the last roll-up: per node and hour, cells of both users.
    await hub.app.db.transaction((trx) =>
      insertPending(trx, [
        { nodeId: 'hk-1', hour: at('2031-03-10T04:00:00Z'), upload: 12, download: 14, billed: 26, cells: [alice.id, 5, 6, 11, bob.id, 7, 8, 15] },
        { nodeId: 'hk-1', hour: at('2031-03-10T04:00:00Z'), upload: 1, download: 1, billed: 2, cells: [alice.id, 1, 1, 2] },
        // Bob's byte counts equal Alice's id: they are not her cell.
        { nodeId: 'us-1', hour: at('2031-03-10T04:00:00Z'), upload: alice.id, download: alice.id, billed: alice.id, cells: [bob.id, alice.id, alice.id, alice.id] },
      ]),
    );
  });

  afterAll(async () => {
    await hub?.close();
  });

  const ALICE_MARCH_10 = { day: '2031-03-10', upload_bytes: 1 + 1000 + 5 + 1, download_bytes: 2 + 2000 + 6 + 1, billed_bytes: 3 + 6000 + 11 + 2 };
  const ALICE_TOTALS = { upload_bytes: 1017, download_bytes: 2109, billed_bytes: 6126 };

  it('sums rolled-up and pending usage per day of the reset time zone, every day of the last 30, the same before and after a roll-up', async () => {
    const before = await get(`/api/v1/users/${alice.id}/usage`);
    expect(before.statusCode).toBe(200);
    const body = before.json();
    expect(body).toMatchObject({ user_id: alice.id, from: '2031-02-09', to: '2031-03-10', time_zone: 'Asia/Shanghai', by: 'day', totals: ALICE_TOTALS });
    expect(body.buckets).toHaveLength(30);
    expect(body.buckets[0]).toEqual({ day: '2031-02-09', upload_bytes: 0, download_bytes: 0, billed_bytes: 0 });
    expect(body.buckets.slice(-2)).toEqual([{ day: '2031-03-09', upload_bytes: 10, download_bytes: 100, billed_bytes: 110 }, ALICE_MARCH_10]);

    expect(await runUsageRollup({ db: hub.app.db, logger: createLogger({ service: 'hub', level: 'error' }) })).toMatchObject({ pending_rows: 3 });
    expect((await get(`/api/v1/users/${alice.id}/usage`)).json()).toEqual(body);
  });

  it('sums per node, most billed first, with the names the operator gave the nodes', async () => {
    const body = (await get(`/api/v1/users/${alice.id}/usage?by=node&from=2031-03-09&to=2031-03-10`)).json();
    expect(body.buckets).toEqual([
      { node_id: 'us-1', node_name: 'US 1', upload_bytes: 1000, download_bytes: 2000, billed_bytes: 6000 },
      { node_id: 'hk-1', node_name: 'Hong Kong 1', upload_bytes: 17, download_bytes: 109, billed_bytes: 126 },
    ]);
    expect(body.totals).toEqual(ALICE_TOTALS);
    // The range decides: 1 January (00:00 UTC is 08:00 in Shanghai) holds only the old row.
    const january = (await get(`/api/v1/users/${alice.id}/usage?from=2031-01-01&to=2031-01-01`)).json();
    expect(january.buckets).toEqual([{ day: '2031-01-01', upload_bytes: 9, download_bytes: 9, billed_bytes: 18 }]);
  });

  it('takes up to 366 days, refuses a longer or backwards range or a date that is not one, and answers 404 for an unknown user', async () => {
    const year = (await get(`/api/v1/users/${alice.id}/usage?from=2030-03-10&to=2031-03-10`)).json();
    expect(year.buckets).toHaveLength(366);
    expect(year.totals).toEqual({ upload_bytes: 1026, download_bytes: 2118, billed_bytes: 6144 });
    const refused = async (query: string) => {
      const res = await get(`/api/v1/users/${alice.id}/usage?${query}`);
      expect(res.statusCode).toBe(400);
      return res.json().message;
    };
    expect(await refused('from=2030-03-09&to=2031-03-10')).toBe('querystring.from: the range may span at most 366 days');
    expect(await refused('from=2031-03-02&to=2031-03-01')).toBe('querystring.from: must not be after querystring.to (2031-03-01)');
    expect(await refused('from=2031-02-30')).toBe('querystring.from: must match format "date"');
    expect(await refused('by=hour')).toBe('querystring.by: must be one of day, node');
    const unknown = await get('/api/v1/users/999999/usage');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().message).toBe('no user 999999');
  });

  it("gives a portal token its own user's days and nodes, by name only, and nothing for an unknown token", async () => {
    const res = await hub.app.inject({ method: 'GET', url: `/sub/${alice.token}/usage` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const mine = res.json();
    expect(mine).toMatchObject({ from: '2031-02-09', to: '2031-03-10', time_zone: 'Asia/Shanghai', totals: ALICE_TOTALS });
    expect(mine.days).toHaveLength(30);
    expect(mine.days.at(-1)).toEqual(ALICE_MARCH_10);
    expect(mine.nodes).toEqual([
      { name: 'US 1', upload_bytes: 1000, download_bytes: 2000, billed_bytes: 6000 },
      { name: 'Hong Kong 1', upload_bytes: 17, download_bytes: 109, billed_bytes: 126 },
    ]);
    for (const hidden of ['hk-1', 'us-1', '198.51.100.7']) expect(res.body).not.toContain(hidden);

    const theirs = (await hub.app.inject({ method: 'GET', url: `/sub/${bob.token}/usage?days=7` })).json();
    expect(theirs.days).toHaveLength(7);
    expect(theirs.totals).toEqual({ upload_bytes: 57 + alice.id, download_bytes: 58 + alice.id, billed_bytes: 115 + alice.id });
    expect(theirs.nodes.map((n: { name: string }) => n.name)).toEqual(['Hong Kong 1', 'US 1']);

    const unknown = await hub.app.inject({ method: 'GET', url: '/sub/AAAAAAAAAAAAAAAAAAAAAAAAAAAA/usage' });
    expect(unknown.statusCode).toBe(404);
  });
});
