// `boxfleet import marzban` (dist/cli.js, as an operator runs it) from a Marzban database built
// from Marzban's own table definitions (tests/support/marzban.ts) into a hub: the dry run, a failed
// import that leaves nothing behind, every mapped field, the admins' forced password change, and a
// second import that changes nothing. Run on SQLite by import-marzban.test.ts and on MariaDB (both
// databases) by import-marzban.mariadb.test.ts.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, ownerApi, startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { createMarzbanSchema, fillMarzban, MARZBAN } from '../support/marzban.js';

const exec = promisify(execFile);
const CLI = path.resolve('dist/cli.js');
const GIB = 1024 ** 3;
const DAY_MS = 86_400_000;
const TABLES = ['users', 'subscriptions', 'plans', 'admins', 'audit_log'] as const;

export function importMarzbanSuite(kind: DatabaseKind): void {
  describe(`boxfleet import marzban, hub and Marzban on ${kind}`, () => {
    let hub: TestHub;
    let marzban: Knex;
    let from: string;
    let cleanup: () => Promise<void>;

    const cli = async (...args: string[]) => {
      const target = kind === 'sqlite' ? ['--data-dir', hub.config.data_dir] : ['--database-url', hub.config.database_url];
      try {
        const { stdout } = await exec('node', [CLI, 'import', 'marzban', '--from', from, ...target, ...args]);
        return { code: 0, stdout, stderr: '' };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    /** Every row of the tables an import writes, to show that something changed nothing. */
    const snapshot = async () => Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await hub.app.db(t).orderBy('id')])));
    const userRow = (name: string) => hub.app.db('users').where({ name }).first();
    const subscriptionOf = async (name: string) => {
      const row = await hub.app.db('subscriptions').join('users', 'users.id', 'subscriptions.user_id').join('plans', 'plans.id', 'subscriptions.plan_id')
        .where('users.name', name).first('subscriptions.*', 'plans.name as plan');
      return { ...row, start_time: Number(row.start_time), end_time: Number(row.end_time), last_reset_at: Number(row.last_reset_at), traffic_used_bytes: Number(row.traffic_used_bytes), traffic_total_bytes: Number(row.traffic_total_bytes) };
    };

    beforeAll(async () => {
      hub = await startTestHub(kind);
      if (kind === 'sqlite') {
        const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-marzban-'));
        from = path.join(dir, 'db.sqlite3');
        marzban = knexFactory({ client: 'better-sqlite3', connection: { filename: from }, useNullAsDefault: true });
        cleanup = () => rm(dir, { recursive: true, force: true });
      } else {
        const database = await createTestDatabase('mariadb');
        from = database.url;
        marzban = knexFactory({ client: 'mysql2', connection: from });
        cleanup = database.drop;
      }
      await createMarzbanSchema(marzban);
      await fillMarzban(marzban);
      await marzban.destroy();
      // heidi is in boxfleet already; legacy already has grace's uuid.
      await ownerApi(hub, 'POST', '/api/v1/users', { name: 'heidi' });
      const legacy = await ownerApi(hub, 'POST', '/api/v1/users', { name: 'legacy' });
      await hub.app.db('users').where({ id: legacy.id }).update({ uuid: MARZBAN.uuid.grace });
    });
    afterAll(async () => {
      await hub?.close();
      await cleanup?.();
    });

    it('a dry run prints what it would create and every record it cannot map, and changes nothing', async () => {
      const before = await snapshot();
      const { code, stdout, stderr } = await cli('--dry-run');
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout.split('\n')).toEqual([
        'read 8 users and 2 admins from Marzban',
        'Marzban: 8 users, 2 admins',
        'would create: 5 users with a subscription each, 4 new plans, 2 admins (who must set a new password before using the hub)',
        'already in boxfleet, left as they are: 1 user, 0 admins',
        'plans:',
        `  new  "Marzban 50 GiB · 30 days · rolling_30d" (${50 * GIB} bytes, 30 days, reset rolling_30d, node tags marzban): 2 users`,
        `  new  "Marzban 10 GiB · 30 days · daily" (${10 * GIB} bytes, 30 days, reset daily, node tags marzban): 1 user`,
        '  new  "Marzban unlimited · 7 days · none" (unlimited traffic, 7 days, reset none, node tags marzban): 1 user',
        '  new  "Marzban unlimited · no expiry · yearly" (unlimited traffic, 3650 days, reset yearly, node tags marzban): 1 user',
        'shadowsocks users by method (boxfleet sets the method per inbound; serve them on inbounds with it): chacha20-ietf-poly1305 1, aes-256-gcm 1',
        'imported with changes (3):',
        `  user bob: vmess id ${MARZBAN.uuid.bobVmess} differs from the vless id (boxfleet has one uuid per user; the vless id is kept); its clients using it need the new config`,
        '  user carol: vless flow xtls-rprx-vision: boxfleet sets the flow per VLESS inbound ("flow" on the inbound); serve this user on such an inbound, or its client must drop the flow',
        '  user frank: shadowsocks password is refused by boxfleet (URL-safe, 16 to 128 characters.); its clients using it need the new config',
        'cannot map, not imported (2):',
        '  user dave: no credential can be kept: trojan password is refused by boxfleet (URL-safe, 16 to 128 characters.)',
        `  user grace: its uuid ${MARZBAN.uuid.grace} is already boxfleet user legacy's`,
        '',
      ]);
      expect(await snapshot()).toEqual(before);
    });

    it('an import that fails part way writes nothing', async () => {
      const before = await snapshot();
      // The admins are written last: refusing them fails the import after its users and plans.
      await hub.app.db.raw(
        kind === 'sqlite'
          ? "CREATE TRIGGER refuse_admins BEFORE INSERT ON admins BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
          : "CREATE TRIGGER refuse_admins BEFORE INSERT ON admins FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'",
      );
      try {
        const { code, stderr } = await cli();
        expect(code).toBe(1);
        expect(stderr).toContain('refused by the test');
      } finally {
        await hub.app.db.raw('DROP TRIGGER refuse_admins');
      }
      expect(await snapshot()).toEqual(before);
    });

    it("imports every user with its credentials, note, status, traffic, limit, expiry and last reset, on derived plans", async () => {
      const started = Date.now();
      const { code, stdout, stderr } = await cli();
      const finished = Date.now();
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toContain('created: 5 users with a subscription each, 4 new plans, 2 admins (who must set a new password before using the hub)\n');

      const { created, lastReset, uuid, password } = MARZBAN;
      expect(await userRow('alice')).toMatchObject({ note: 'paid in crypto', status: 'active', uuid: uuid.alice, password: password.alice });
      expect(await subscriptionOf('alice')).toMatchObject({
        plan: 'Marzban 50 GiB · 30 days · rolling_30d', start_time: created * 1000, end_time: (created + 30 * 86_400) * 1000,
        traffic_used_bytes: 10 * GIB, traffic_total_bytes: 50 * GIB, status: 'active', suspended_reason: null, last_reset_at: lastReset * 1000,
      });
      const bob = await userRow('bob');
      expect(bob).toMatchObject({ status: 'disabled', uuid: uuid.bob });
      expect(bob.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(await subscriptionOf('bob')).toMatchObject({ plan: 'Marzban 50 GiB · 30 days · rolling_30d', traffic_used_bytes: GIB, status: 'active', last_reset_at: created * 1000 });
      expect(await userRow('carol')).toMatchObject({ status: 'active', uuid: uuid.carol, password: password.carol });
      expect(await subscriptionOf('carol')).toMatchObject({ plan: 'Marzban 10 GiB · 30 days · daily', traffic_used_bytes: 10 * GIB, traffic_total_bytes: 10 * GIB, status: 'suspended', suspended_reason: 'quota' });
      // On hold: the period starts at the import, and lasts the on-hold duration.
      expect(await userRow('erin')).toMatchObject({ status: 'active', uuid: uuid.erin });
      const erin = await subscriptionOf('erin');
      expect(erin).toMatchObject({ plan: 'Marzban unlimited · 7 days · none', traffic_total_bytes: Number.MAX_SAFE_INTEGER, status: 'active', last_reset_at: erin.start_time });
      expect(erin.start_time).toBeGreaterThanOrEqual(started);
      expect(erin.start_time).toBeLessThanOrEqual(finished);
      expect(erin.end_time - erin.start_time).toBe(7 * DAY_MS);
      const frank = await subscriptionOf('frank');
      expect(frank).toMatchObject({ plan: 'Marzban unlimited · no expiry · yearly', traffic_used_bytes: 123, status: 'active' });
      expect(frank.end_time).toBeGreaterThanOrEqual(started + 3650 * DAY_MS);
      expect(await userRow('frank')).toMatchObject({ uuid: uuid.frank });
      expect(await userRow('dave')).toBeUndefined();
      expect(await userRow('grace')).toBeUndefined();

      const plans = await hub.app.db('plans').orderBy('id').select('name', 'traffic_limit_bytes', 'duration_days', 'reset_policy', 'node_tags', 'is_enabled');
      expect(plans.map((p) => ({ ...p, traffic_limit_bytes: Number(p.traffic_limit_bytes), is_enabled: Boolean(p.is_enabled) }))).toEqual([
        { name: 'Marzban 50 GiB · 30 days · rolling_30d', traffic_limit_bytes: 50 * GIB, duration_days: 30, reset_policy: 'rolling_30d', node_tags: '["marzban"]', is_enabled: true },
        { name: 'Marzban 10 GiB · 30 days · daily', traffic_limit_bytes: 10 * GIB, duration_days: 30, reset_policy: 'daily', node_tags: '["marzban"]', is_enabled: true },
        { name: 'Marzban unlimited · 7 days · none', traffic_limit_bytes: Number.MAX_SAFE_INTEGER, duration_days: 7, reset_policy: 'none', node_tags: '["marzban"]', is_enabled: true },
        { name: 'Marzban unlimited · no expiry · yearly', traffic_limit_bytes: Number.MAX_SAFE_INTEGER, duration_days: 3650, reset_policy: 'yearly', node_tags: '["marzban"]', is_enabled: true },
      ]);
      const admins = await hub.app.db('admins').whereIn('username', ['root', 'reseller']).orderBy('id').select('username', 'role', 'must_change_password');
      expect(admins.map((a) => ({ ...a, must_change_password: Boolean(a.must_change_password) }))).toEqual([
        { username: 'root', role: 'owner', must_change_password: true },
        { username: 'reseller', role: 'operator', must_change_password: true },
      ]);
      const audit = await hub.app.db('audit_log').where('admin', 'boxfleet import marzban').orderBy('id').select('action', 'target');
      expect(audit.map((a) => `${a.action} ${a.target}`)).toEqual([
        'marzban.import.plan plan:Marzban 50 GiB · 30 days · rolling_30d',
        'marzban.import.plan plan:Marzban 10 GiB · 30 days · daily',
        'marzban.import.plan plan:Marzban unlimited · 7 days · none',
        'marzban.import.plan plan:Marzban unlimited · no expiry · yearly',
        ...['alice', 'bob', 'carol', 'erin', 'frank'].map((n) => `marzban.import.user user:${n}`),
        'marzban.import.admin admin:root',
        'marzban.import.admin admin:reseller',
      ]);
    });

    it('an imported admin cannot use the hub until it sets a new password with its Marzban one', async () => {
      const login = (password: string) => hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'root', password } });
      const refused = await login(MARZBAN.adminPassword.root);
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({
        code: 'HUB_ERR_PASSWORD_CHANGE_REQUIRED',
        message: 'root must set a new password before using the hub: POST /api/v1/auth/password with {"username", "password" (the current one), "new_password"}',
      });
      const change = (password: string) =>
        hub.app.inject({ method: 'POST', url: '/api/v1/auth/password', payload: { username: 'root', password, new_password: 'a new boxfleet password' } });
      expect((await change('not the password')).statusCode).toBe(401);
      expect((await change(MARZBAN.adminPassword.root)).statusCode).toBe(204);
      expect((await login(MARZBAN.adminPassword.root)).statusCode).toBe(401);
      const signedIn = await login('a new boxfleet password');
      expect(signedIn.statusCode).toBe(200);
      const me = await hub.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${signedIn.json().token}` } });
      expect(me.json()).toMatchObject({ username: 'root', role: 'owner' });
    });

    it('a second import creates nothing and changes nothing', async () => {
      const before = await snapshot();
      const { code, stdout } = await cli();
      expect(code).toBe(0);
      expect(stdout).toContain('created: 0 users with a subscription each, 0 new plans, 0 admins (who must set a new password before using the hub)\n');
      expect(stdout).toContain('already in boxfleet, left as they are: 6 users, 2 admins\n');
      expect(await snapshot()).toEqual(before);
    });
  });
}
