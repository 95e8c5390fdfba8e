// GET /api/v1/users/export and POST /api/v1/users/import on SQLite, through app.inject(): the round
// trip into an empty hub, per-row errors in both modes, names already taken, credentials by role,
// the limits and the audit entry.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SyncUser } from '../../plugins/singbox-config/contract.js';
import { Node } from '../../hub/db/models.js';
import { MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from '../../hub/users-io.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';

const DAY = 86_400_000;
const CREDENTIAL_COLUMNS = ['uuid', 'password', 'ss_key', 'sub_token'];
const PLANS = [
  { name: 'monthly 100G', traffic_limit_bytes: 100 * 2 ** 30, duration_days: 30, node_tags: ['hk'] },
  { name: 'trial', traffic_limit_bytes: 2 ** 30, duration_days: 3, node_tags: ['us'] },
];

type Hub = TestHub;
const call = (hub: Hub, method: 'GET' | 'POST', url: string, options: { body?: string | object; type?: string; headers?: object } = {}) =>
  hub.app.inject({
    method,
    url,
    headers: { ...hub.auth, ...(options.type ? { 'content-type': options.type } : {}), ...options.headers },
    ...(options.body === undefined ? {} : { payload: options.body }),
  });
const importCsv = (hub: Hub, csv: string, query = '', headers?: object) =>
  call(hub, 'POST', `/api/v1/users/import?format=csv${query}`, { body: csv, type: 'text/csv', headers });
const importJson = (hub: Hub, users: unknown[], query = '') => call(hub, 'POST', `/api/v1/users/import?format=json${query}`, { body: { users } });
const exported = async (hub: Hub, format: 'csv' | 'json', headers?: object) => {
  const res = await call(hub, 'GET', `/api/v1/users/export?format=${format}`, { headers });
  expect(res.statusCode, res.body).toBe(200);
  return res;
};
const userNames = async (hub: Hub) => ((await hub.app.db('users').orderBy('id').select('name')) as { name: string }[]).map((u) => u.name);
const createPlans = async (hub: Hub) => {
  for (const plan of PLANS) await ownerApi(hub, 'POST', '/api/v1/plans', plan);
};

describe('users export and import, on sqlite', () => {
  describe('round trip into an empty hub', () => {
    let source: Hub;
    let csv: string;
    let json: { users: Record<string, unknown>[] };
    let credentials: Record<string, unknown>;

    beforeAll(async () => {
      source = await startTestHub('sqlite');
      await createPlans(source);
      const [monthly, trial] = (await ownerApi(source, 'GET', '/api/v1/plans')).items;
      const user = (name: string, note = '') => ownerApi(source, 'POST', '/api/v1/users', { name, note });
      const alice = await user('alice', 'pays yearly, "VIP", Zürich\nsecond line');
      const bob = await user('bob', 'over quota');
      await user('carol');
      const dave = await user('dave.old@example', '老客户');
      await ownerApi(source, 'PATCH', `/api/v1/users/${bob.id}`, { status: 'disabled' });
      const subscribe = (u: { id: number }, p: { id: number }) => ownerApi(source, 'POST', '/api/v1/subscriptions', { user_id: u.id, plan_id: p.id });
      const a = await subscribe(alice, monthly);
      const b = await subscribe(bob, trial);
      const d = await subscribe(dave, trial);
      // What traffic and time leave behind: used bytes, a quota suspension, an expiry, a later reset.
      await source.app.db('subscriptions').where({ id: a.id }).update({ traffic_used_bytes: 12_345_678_901, last_reset_at: Date.parse(a.start_time) + 5 * DAY });
      await source.app.db('subscriptions').where({ id: b.id }).update({ traffic_used_bytes: 2 ** 30, status: 'suspended', suspended_reason: 'quota' });
      await source.app.db('subscriptions').where({ id: d.id }).update({ status: 'expired', end_time: Date.parse(d.start_time) + DAY });
      csv = (await exported(source, 'csv')).body;
      json = (await exported(source, 'json')).json();
      credentials = await ownerApi(source, 'GET', `/api/v1/users/${alice.id}/credentials`);
    });

    afterAll(async () => {
      await source?.close();
    });

    it('exports every user with status, note, governing subscription and credentials', () => {
      expect(json.users.map((u) => [u.name, u.status, u.plan, (u.subscription as { status?: string } | undefined)?.status])).toEqual([
        ['alice', 'active', 'monthly 100G', 'active'],
        ['bob', 'disabled', 'trial', 'suspended'],
        ['carol', 'active', undefined, undefined],
        ['dave.old@example', 'active', 'trial', 'expired'],
      ]);
      expect(json.users[0]).toMatchObject({ note: 'pays yearly, "VIP", Zürich\nsecond line', uuid: credentials.uuid, sub_token: credentials.sub_token });
      expect(json.users[1]!.subscription).toMatchObject({ traffic_used_bytes: 2 ** 30, suspended_reason: 'quota' });
      expect(csv.split('\n')[0]).toBe(
        'name,note,status,plan,subscription_status,suspended_reason,start_time,end_time,last_reset_at,traffic_used_bytes,traffic_total_bytes,uuid,password,ss_key,sub_token',
      );
    });

    for (const format of ['csv', 'json'] as const) {
      it(`imports its ${format.toUpperCase()} export into an empty hub as the same users, credentials included`, async () => {
        const target = await startTestHub('sqlite');
        try {
          await createPlans(target);
          const res = format === 'csv' ? await importCsv(target, csv) : await importJson(target, json.users);
          expect(res.json()).toEqual({ rows: 4, created: 4, updated: 0, skipped: 0, failed: 0, errors: [] });
          expect((await exported(target, 'json')).json()).toEqual(json);
          expect((await exported(target, 'csv')).body).toBe(csv);
          // The user's clients keep working: the same secrets, and the same subscription link.
          const alice = (await ownerApi(target, 'GET', '/api/v1/users?q=alice')).items[0];
          const moved = await ownerApi(target, 'GET', `/api/v1/users/${alice.id}/credentials`);
          expect({ ...moved, subscription_url: '', portal_url: '' }).toEqual({ ...credentials, subscription_url: '', portal_url: '' });
        } finally {
          await target.close();
        }
      });
    }
  });

  describe('on one hub', () => {
    let hub: Hub;

    beforeAll(async () => {
      hub = await startTestHub('sqlite');
      await createPlans(hub);
      const node = { address: '127.0.0.1:1', insecure: true, token: 'x'.repeat(24) };
      await Node.query(hub.app.db).insert({ ...node, id: 'hk-1', name: 'Hong Kong 1', tags: ['hk'] });
      await Node.query(hub.app.db).insert({ ...node, id: 'us-1', name: 'US 1', tags: ['us'] });
    });

    afterAll(async () => {
      await hub?.close();
    });

    beforeEach(async () => {
      await ownerApi(hub, 'POST', '/api/v1/users', { name: 'existing', note: 'was here' });
    });

    afterEach(async () => {
      await hub.app.db('subscriptions').delete();
      await hub.app.db('users').delete();
    });

    const existingToken = async () => ((await hub.app.db('users').where({ name: 'existing' }).first()) as { sub_token: string }).sub_token;
    /** A file with one good user and one error of each kind a row can have. */
    const mixedCsv = async () =>
      [
        'name,note,plan,start_time,end_time,uuid,sub_token',
        'good-1,first,monthly 100G,,,,',
        'bad uuid,,,,,,',
        'good-2,,,,,0f8fc3a1-5b6e-4d3f-9a7c-1c2d3e4f5a6b,',
        'bad-plan,,gold,,,,',
        'bad-times,,trial,2031-05-01T00:00:00Z,2031-04-01T00:00:00Z,,',
        'GOOD-1,,,,,,',
        'short,row',
        `stolen-token,,,,,,${await existingToken()}`,
        'same-uuid,,,,,0F8FC3A1-5B6E-4D3F-9A7C-1C2D3E4F5A6B,',
        'existing,,,,,,',
      ].join('\n');
    const MIXED_ERRORS = [
      { row: 2, field: 'name', message: 'must match pattern "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"' },
      { row: 4, field: 'plan', message: 'no plan is named gold' },
      { row: 5, field: 'end_time', message: 'is before start_time' },
      { row: 6, field: 'name', message: 'is also in row 1' },
      { row: 7, field: '', message: 'has 2 cells; the header has 7' },
      { row: 8, field: 'sub_token', message: "is already user existing's" },
      { row: 9, field: 'uuid', message: "is already row 3's" },
      { row: 10, field: 'name', message: 'user existing already exists; import with on_conflict=skip or update' },
    ];

    it('imports nothing in all_or_nothing mode (the default) when a row fails, and names each row and column', async () => {
      const res = await importCsv(hub, await mixedCsv());
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        statusCode: 400,
        code: 'HUB_ERR_BAD_REQUEST',
        message: '8 of 10 users have errors; nothing was imported (mode all_or_nothing)',
        rows: 10,
        created: 0,
        updated: 0,
        skipped: 0,
        failed: 8,
        errors: MIXED_ERRORS,
      });
      expect(await userNames(hub)).toEqual(['existing']);
    });

    it('imports the good rows in best_effort mode, reports the rest, and syncs the nodes of their plans', async () => {
      const before = await hub.app.db('nodes').orderBy('id').select('id', 'desired_revision');
      const res = await importCsv(hub, await mixedCsv(), '&mode=best_effort');
      expect(res.json()).toEqual({ rows: 10, created: 2, updated: 0, skipped: 0, failed: 8, errors: MIXED_ERRORS });
      expect(await userNames(hub)).toEqual(['existing', 'good-1', 'good-2']);
      const after = await hub.app.db('nodes').orderBy('id').select('id', 'desired_revision');
      // good-1's plan reaches hk only.
      expect(after.map((n, i) => Number(n.desired_revision) - Number(before[i].desired_revision))).toEqual([1, 0]);
      const good1 = (await ownerApi(hub, 'GET', '/api/v1/users?q=good-1')).items[0];
      const detail = await ownerApi(hub, 'GET', `/api/v1/users/${good1.id}`);
      // A subscription as an assignment makes it: from now, for the plan's days and bytes.
      expect(detail.subscription).toMatchObject({ status: 'active', traffic_used_bytes: 0, traffic_total_bytes: 100 * 2 ** 30 });
      expect(Date.parse(detail.subscription.end_time) - Date.parse(detail.subscription.start_time)).toBe(30 * DAY);
      expect(Math.abs(Date.parse(detail.subscription.start_time) - Date.now())).toBeLessThan(60_000);
    });

    it('generates the credentials a row leaves out, as user creation does, and keeps the ones it gives', async () => {
      const uuid = '0f8fc3a1-5b6e-4d3f-9a7c-1c2d3e4f5a6b';
      const res = await importJson(hub, [{ name: 'fresh-1' }, { name: 'fresh-2', uuid, password: 'given-password-1234' }]);
      expect(res.json()).toMatchObject({ created: 2, failed: 0 });
      const rows = (await hub.app.db('users').whereIn('name', ['fresh-1', 'fresh-2']).orderBy('name')) as Record<string, string>[];
      for (const row of rows) {
        for (const field of ['uuid', 'password', 'ss_key'] as const) expect(row[field]).toMatch(new RegExp(SyncUser.properties[field].pattern!));
        expect(row.sub_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }
      expect(rows[1]).toMatchObject({ uuid, password: 'given-password-1234' });
      expect(new Set(rows.flatMap((r) => [r.uuid, r.password, r.ss_key, r.sub_token])).size).toBe(8);
    });

    it('checks JSON rows field by field, naming nested fields with dots', async () => {
      const res = await importJson(hub, [
        { name: 'j1', subscription: { traffic_used_bytes: 5 } },
        { name: 'j2', plan: 'trial', plan_id: 1 },
        { name: 'j3', plan: 'trial', subscription: { traffic_used_bytes: -1 } },
        { name: 'j4', plan: 'trial', subscription: { status: 'active', suspended_reason: 'quota' } },
        { name: 'j5', colour: 'blue' },
        'j6',
        { name: 'j7', plan: 'trial', subscription: { status: 'expired', traffic_used_bytes: 7, end_time: '2031-01-01T00:00:00.000Z', start_time: '2030-12-01T00:00:00.000Z' } },
      ], '&mode=best_effort');
      expect(res.json().errors).toEqual([
        { row: 1, field: 'plan', message: 'is required with a subscription' },
        { row: 2, field: 'plan_id', message: 'give plan or plan_id, not both' },
        { row: 3, field: 'subscription.traffic_used_bytes', message: 'must be >= 0' },
        { row: 4, field: 'subscription.suspended_reason', message: 'is only for a suspended subscription' },
        { row: 5, field: 'colour', message: 'unknown field' },
        { row: 6, field: '', message: 'must be object' },
      ]);
      const j7 = (await ownerApi(hub, 'GET', '/api/v1/users?q=j7')).items[0];
      expect((await ownerApi(hub, 'GET', `/api/v1/users/${j7.id}`)).subscription).toMatchObject({
        status: 'expired',
        traffic_used_bytes: 7,
        start_time: '2030-12-01T00:00:00.000Z',
        end_time: '2031-01-01T00:00:00.000Z',
      });
    });

    it('skips users that exist with on_conflict=skip, and with update replaces only the fields given', async () => {
      const before = (await hub.app.db('users').where({ name: 'existing' }).first()) as Record<string, unknown>;
      const skipped = await importCsv(hub, 'name,note\nExisting,ignored\nnew-one,hi', '&on_conflict=skip');
      expect(skipped.json()).toMatchObject({ rows: 2, created: 1, skipped: 1, failed: 0 });
      expect(await hub.app.db('users').where({ name: 'existing' }).first()).toMatchObject({ note: 'was here' });

      const updated = await importCsv(hub, 'name,status,plan,traffic_used_bytes,password\nexisting,disabled,trial,42,changed-password-123', '&on_conflict=update');
      expect(updated.json()).toMatchObject({ rows: 1, created: 0, updated: 1, failed: 0 });
      const after = (await hub.app.db('users').where({ name: 'existing' }).first()) as Record<string, unknown>;
      expect(after).toMatchObject({ note: 'was here', status: 'disabled', uuid: before.uuid, sub_token: before.sub_token, password: 'changed-password-123' });
      const detail = await ownerApi(hub, 'GET', `/api/v1/users/${after.id}`);
      expect(detail.subscription).toMatchObject({ plan_id: 2, traffic_used_bytes: 42, status: 'active' });

      // Updating again changes that subscription rather than adding a second one.
      await importJson(hub, [{ name: 'existing', plan: 'monthly 100G', subscription: { status: 'suspended' } }], '&on_conflict=update');
      const subscriptions = await hub.app.db('subscriptions').where({ user_id: after.id });
      expect(subscriptions).toHaveLength(1);
      expect(subscriptions[0]).toMatchObject({ plan_id: 1, status: 'suspended', suspended_reason: 'admin', traffic_used_bytes: 42 });
    });

    it('shows credentials to admins and owners only: below, the columns are absent', async () => {
      const token = await existingToken();
      for (const role of ['viewer', 'operator', 'admin', 'owner'] as const) {
        const headers = await hub.as(role);
        const csv = (await exported(hub, 'csv', headers)).body;
        const rows = (await exported(hub, 'json', headers)).json().users;
        const shown = role === 'admin' || role === 'owner';
        const header = csv.split('\n')[0]!.split(',');
        expect(CREDENTIAL_COLUMNS.filter((c) => header.includes(c)), role).toEqual(shown ? CREDENTIAL_COLUMNS : []);
        expect(CREDENTIAL_COLUMNS.filter((c) => c in rows[0]), role).toEqual(shown ? CREDENTIAL_COLUMNS : []);
        expect(csv.includes(token) && JSON.stringify(rows).includes(token), role).toBe(shown);
        expect(csv.includes('[redacted]') || JSON.stringify(rows).includes('[redacted]'), role).toBe(false);
      }
    });

    it('lets an operator import, like creating a user, and audits one entry per import with its counts only', async () => {
      const operator = await hub.as('operator');
      const res = await importCsv(hub, 'name,password\nby-operator,secret-password-9876\nbad name,', '&mode=best_effort', operator);
      expect(res.json()).toMatchObject({ created: 1, failed: 1 });
      const entry = await until('the import audit entry', async () => (await hub.app.db('audit_log').where({ action: 'user.import', admin: 'test-operator' }).first()) ?? undefined);
      expect(entry).toMatchObject({ target: 'users', result: 'ok' });
      expect(JSON.parse(entry.input)).toEqual({ format: 'csv', mode: 'best_effort', on_conflict: 'error', rows: 2, created: 1, updated: 0, skipped: 0, failed: 1 });
      expect(JSON.stringify(entry)).not.toContain('secret-password-9876');
    });

    it('refuses files over the row or size limit (413) and files that are not CSV or have unknown columns (400)', async () => {
      const many = await importJson(hub, Array.from({ length: MAX_IMPORT_ROWS + 1 }, (_, i) => ({ name: `u${i}` })));
      expect(many.statusCode).toBe(413);
      expect(many.json().message).toBe(`${MAX_IMPORT_ROWS + 1} users; one import takes at most ${MAX_IMPORT_ROWS}: split the file`);
      const big = await importCsv(hub, `name,note\n${'x,'.padEnd(MAX_IMPORT_BYTES, 'y')}`);
      expect(big.statusCode).toBe(413);
      expect(big.json().message).toMatch(/^the file is \d+ bytes; one import takes at most 20971520 \(50000 users\): split it$/);
      expect((await importCsv(hub, 'name,note\n"unclosed,x')).json()).toMatchObject({ statusCode: 400, message: expect.stringMatching(/^not CSV: Quote Not Closed/) });
      expect((await importCsv(hub, 'name,colour\nx,blue')).json().message).toMatch(/^the CSV has an unknown column "colour"; the columns are name, note/);
      expect((await importCsv(hub, 'note\nx')).json().message).toBe('the CSV has no "name" column');
      expect((await call(hub, 'POST', '/api/v1/users/import?format=csv', { body: { users: [] } })).json().message).toBe(
        'format=csv needs a body of Content-Type text/csv',
      );
      expect(await userNames(hub)).toEqual(['existing']);
    });
  });
});
