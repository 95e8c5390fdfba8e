// Batch schedules: the API (what is refused and how it names the field, pausing, editing) and the
// `batch-schedules` job on the hub's clock, moved by the test: each fire time fires once, as the
// admin who set the batch, in the schedule's time zone; two hubs ticking at once still fire it
// once; a paused schedule fires nothing; fire times that passed while no hub ran are recorded
// missed and not run late (a stand-in createBatch records the batches there). Then the same on the
// wall clock with two hubs running their jobs on one database and the real batches: a schedule
// every 2 s fires each time exactly once, pausing stops it, and the times that pass while both hubs
// are down are missed, not run when a hub comes back. Run on SQLite by batch-schedules.test.ts, on
// MariaDB by batch-schedules.mariadb.test.ts.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../agent-core/common/logger.js';
import type { BatchCreator, BatchSpec } from '../../hub/batches/index.js';
import { MISSED, runSchedulesJob, type ScheduleRunnerDeps } from '../../hub/batches/schedule-runner.js';
import { HubError } from '../../hub/errors.js';
import { storeDescription } from '../../hub/node-status.js';
import { tallyDescription } from '../support/described.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';
import { joinHub, leave, seedUnreachableNode, shortSqliteWaits } from './jobs.suite.js';

const logger = createLogger({ service: 'hub', level: 'error' });
const SPEC: BatchSpec = { target: { tags: ['hk'] }, command: 'tally.run' };
/** A whole minute, so `*\/10` seconds fire at +10 s, +20 s… */
const T0 = Date.UTC(2026, 0, 5, 3, 0, 0);
const MISSED_AFTER_MS = 5_000;

/**
 * An agent offering `tally.run` (operator) and `tally.purge` (a role this hub does not know, so
 * owner), as the node-status job would have stored it.
 */
const tallyAgent = (nodeId: string) =>
  tallyDescription(nodeId, [
    { name: 'tally.run', role: 'operator' },
    { name: 'tally.purge', role: 'superuser' },
  ]);

export function batchSchedulesSuite(kind: DatabaseKind): void {
  describe(`batch schedules, hub on ${kind}`, () => {
    let hub: TestHub;
    let clock = T0;
    let created: { spec: BatchSpec; by: BatchCreator; origin: { schedule_id: number }; at: number }[] = [];
    let refuse: Error | undefined;
    const deps = (): ScheduleRunnerDeps => ({
      db: hub.app.db,
      now: () => clock,
      logger,
      missedAfterMs: MISSED_AFTER_MS,
      createBatch: async (_deps, spec, by, origin) => {
        if (refuse) throw refuse;
        created.push({ spec, by, origin, at: clock });
        return { id: 1000 + created.length };
      },
    });
    const api = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, role: 'admin' | 'viewer' | 'owner' = 'admin') =>
      hub.app.inject({ method, url: `/api/v1/batch-schedules${url}`, headers: role === 'owner' ? hub.auth : await hub.as(role), payload });
    const create = async (body: object) => {
      const res = await api('POST', '', { batch: SPEC, timezone: 'UTC', ...body });
      expect(res.statusCode, res.body).toBe(201);
      return res.json() as { id: number; name: string };
    };
    /** One job tick per second of hub time, from now until `until` (inclusive). */
    const tickUntil = async (end: number) => {
      while (clock < end) {
        clock = Math.min(end, clock + 1000);
        await runSchedulesJob(deps());
      }
    };
    /** A schedule's fires, each fire_at (an ISO time in the API) in ms to reckon with. */
    const fires = async (id: number) =>
      ((await api('GET', `/${id}`)).json().fires as { fire_at: string; status: string; batch_id: number | null; error: string | null }[]).map((f) => ({ ...f, fire_at: Date.parse(f.fire_at) }));

    beforeAll(async () => {
      hub = await startTestHub(kind, { clock: () => clock });
      await seedUnreachableNode(hub.app.db, 'sched-hk', ['hk']);
      await storeDescription(hub.app.db, 'sched-hk', tallyAgent('sched-hk'), Date.now());
    });
    afterAll(async () => {
      await hub?.close();
    });
    beforeEach(async () => {
      await hub.app.db('batch_schedules').delete();
      created = [];
      refuse = undefined;
      clock = T0;
    });

    it('refuses an invalid cron expression naming the field, and an unknown time zone', async () => {
      const refused = async (body: object) => {
        const res = await api('POST', '', { name: 'bad', batch: SPEC, timezone: 'UTC', cron: '* * * * *', ...body });
        expect(res.statusCode).toBe(400);
        return res.json().message as string;
      };
      expect(await refused({ cron: '61 * * * *' })).toMatch(/^body\.cron: minute field: 61 is a invalid expression for minute/);
      expect(await refused({ cron: '0 4 * * 9' })).toMatch(/^body\.cron: day of week field/);
      expect(await refused({ cron: '* * * *' })).toMatch(/^body\.cron: expected 5 or 6 fields but got 4/);
      expect(await refused({ timezone: 'Mars/Olympus' })).toMatch(/^body\.timezone: unknown time zone "Mars\/Olympus"/);
      expect(await refused({ batch: { ...SPEC, concurrency: 99 } })).toMatch(/batch.concurrency/);
      // The batch is checked as a batch is: a target that matches nothing, a command above the caller.
      expect(await refused({ batch: { ...SPEC, target: { tags: ['nowhere'] } } })).toBe('target: no node matches tags nowhere');
      const above = await api('POST', '', { name: 'purge', batch: { ...SPEC, command: 'tally.purge' }, timezone: 'UTC', cron: '* * * * *' });
      expect([above.statusCode, above.json().message]).toEqual([403, 'tally.purge needs the owner role; test-admin is admin']);
      expect(await hub.app.db('batch_schedules').count({ n: '*' })).toEqual([{ n: 0 }]);

      const schedule = await create({ name: 'edit me', cron: '0 4 * * *' });
      const patched = await api('PATCH', `/${schedule.id}`, { cron: '0 4 * * * * *' });
      expect(patched.statusCode).toBe(400);
      expect(patched.json().message).toMatch(/^body\.cron: /);
      expect((await api('GET', `/${schedule.id}`)).json().cron).toBe('0 4 * * *');
      expect((await api('POST', '', { name: 'EDIT ME', batch: SPEC, timezone: 'UTC', cron: '* * * * *' })).statusCode).toBe(409);
      expect((await api('POST', '', { name: 'viewer', batch: SPEC, timezone: 'UTC', cron: '* * * * *' }, 'viewer')).statusCode).toBe(403);
    });

    it('lists, shows, changes and deletes schedules, spelling the time zone as IANA does, with audit records', async () => {
      const batch = { ...SPEC, input: { reason: 'nightly', password: 'hunter2' } };
      const schedule = await create({ name: 'nightly restart', cron: '0 4 * * *', timezone: 'asia/shanghai', batch });
      const shown = (await api('GET', `/${schedule.id}`, undefined, 'viewer')).json();
      // The input is kept whole to run it, and shown redacted.
      expect(shown.batch).toEqual({ ...SPEC, concurrency: 4, stop_after_failures: 0, input: { reason: 'nightly', password: '[redacted]' } });
      expect(JSON.stringify((await api('GET', '', undefined, 'viewer')).json())).not.toContain('hunter2');
      expect(shown).toMatchObject({ name: 'nightly restart', cron: '0 4 * * *', timezone: 'Asia/Shanghai', enabled: true, created_by: 'test-admin', last_fire_at: null, fires: [] });
      // 04:00 in Shanghai is 20:00 UTC, every day.
      expect(shown.next_fire_at).toMatch(/^\d{4}-\d\d-\d\dT20:00:00\.000Z$/);
      const list = (await api('GET', '?per_page=10', undefined, 'viewer')).json();
      expect(list).toMatchObject({ total: 1, page: 1, per_page: 10 });
      expect(list.items.map((s: { id: number }) => s.id)).toEqual([schedule.id]);

      const paused = (await api('PATCH', `/${schedule.id}`, { enabled: false })).json();
      expect(paused).toMatchObject({ enabled: false, next_fire_at: null });
      expect((await api('DELETE', `/${schedule.id}`)).statusCode).toBe(204);
      expect((await api('GET', `/${schedule.id}`)).statusCode).toBe(404);
      for (const action of ['batch-schedule.create', 'batch-schedule.update', 'batch-schedule.delete']) {
        await until(`the ${action} audit row`, async () => (await hub.app.db('audit_log').where({ action, target: `batch-schedule:${schedule.id}` }).first()) ?? undefined);
      }
    });

    it('fires each fire time once, as the admin who set the batch, in the schedule\'s time zone', async () => {
      const every10s = await create({ name: 'every 10 s', cron: '*/10 * * * * *' });
      await tickUntil(T0 + 35_000);
      expect(created.map((c) => c.at - T0)).toEqual([10_000, 20_000, 30_000]);
      expect(created[0]).toMatchObject({ spec: SPEC, by: { name: 'test-admin', role: 'admin' }, origin: { schedule_id: every10s.id } });
      expect((await fires(every10s.id)).map((f) => [f.fire_at - T0, f.status, f.batch_id, f.error])).toEqual([
        [30_000, 'ran', 1003, null],
        [20_000, 'ran', 1002, null],
        [10_000, 'ran', 1001, null],
      ]);
      expect((await api('GET', `/${every10s.id}`)).json().last_fire_at).toBe(new Date(T0 + 30_000).toISOString());

      // 04:00 Asia/Shanghai is 20:00 UTC: nothing at 04:00 UTC, one fire at 20:00 UTC.
      await api('DELETE', `/${every10s.id}`);
      created = [];
      clock = Date.UTC(2026, 0, 5, 19, 59, 55);
      const nightly = await create({ name: 'nightly', cron: '0 4 * * *', timezone: 'Asia/Shanghai' });
      await tickUntil(Date.UTC(2026, 0, 5, 20, 0, 5));
      expect(created.map((c) => new Date(c.at).toISOString())).toEqual(['2026-01-05T20:00:00.000Z']);
      expect((await fires(nightly.id)).map((f) => new Date(f.fire_at).toISOString())).toEqual(['2026-01-05T20:00:00.000Z']);
    });

    it('fires a fire time once when two hubs look at the same moment', async () => {
      const schedule = await create({ name: 'contended', cron: '* * * * * *' });
      for (let i = 0; i < 5; i++) {
        clock += 1000;
        await Promise.all([runSchedulesJob(deps()), runSchedulesJob(deps())]);
      }
      expect(created.map((c) => c.at - T0)).toEqual([1000, 2000, 3000, 4000, 5000]);
      expect((await fires(schedule.id)).map((f) => f.status)).toEqual(['ran', 'ran', 'ran', 'ran', 'ran']);
    });

    it('fires nothing while paused, and neither runs nor reports the paused times once resumed', async () => {
      const schedule = await create({ name: 'pausable', cron: '*/10 * * * * *' });
      await tickUntil(T0 + 12_000);
      await api('PATCH', `/${schedule.id}`, { enabled: false });
      await tickUntil(T0 + 45_000);
      expect(created.map((c) => c.at - T0)).toEqual([10_000]);
      await api('PATCH', `/${schedule.id}`, { enabled: true });
      await tickUntil(T0 + 55_000);
      expect(created.map((c) => c.at - T0)).toEqual([10_000, 50_000]);
      expect((await fires(schedule.id)).map((f) => [f.fire_at - T0, f.status])).toEqual([
        [50_000, 'ran'],
        [10_000, 'ran'],
      ]);
    });

    it('records fire times that passed while no hub ran as missed, audits them once, and does not run them late', async () => {
      const schedule = await create({ name: 'outage', cron: '*/10 * * * * *' });
      await tickUntil(T0 + 10_000);
      // Every hub is down for ten minutes: nothing ticks. The first tick after finds 60 fire times.
      clock = T0 + 10 * 60_000 + 2_000;
      await runSchedulesJob(deps());
      // Only the one within schedule_missed_after_s (5 s here) of its time runs.
      expect(created.map((c) => c.at - T0)).toEqual([10_000, 602_000]);
      const rows = await fires(schedule.id);
      // The newest 50 of them: the one run, then the missed ones before it.
      expect(rows.filter((f) => f.status === 'ran').map((f) => f.fire_at - T0)).toEqual([600_000]);
      const missed = rows.filter((f) => f.status === 'missed');
      expect(missed).toHaveLength(49);
      expect(missed.every((f) => f.batch_id === null && f.error === MISSED)).toBe(true);
      expect([missed[0]!.fire_at - T0, missed[missed.length - 1]!.fire_at - T0]).toEqual([590_000, 110_000]);
      const audit = await hub.app.db('audit_log').where({ action: 'batch-schedule.missed' });
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ target: `batch-schedule:${schedule.id}`, result: 'error' });
      expect(audit[0].error).toMatch(/58 fire time\(s\) of schedule outage missed \(no hub fired them in time\), from 2026-01-05T03:00:20.000Z to 2026-01-05T03:09:50.000Z; not run late/);
      // The next ticks find nothing more to report.
      await tickUntil(clock + 3_000);
      expect(await hub.app.db('audit_log').where({ action: 'batch-schedule.missed' })).toHaveLength(1);
    });

    it('records a fire whose batch could not be created as failed, with the reason', async () => {
      const schedule = await create({ name: 'no nodes', cron: '*/10 * * * * *' });
      refuse = new HubError('HUB_ERR_BAD_REQUEST', 'target tags hk: no node matched');
      await tickUntil(T0 + 10_000);
      refuse = undefined;
      await hub.app.db('admins').where({ username: 'test-admin' }).update({ disabled: true });
      await tickUntil(T0 + 20_000);
      await hub.app.db('admins').where({ username: 'test-admin' }).update({ disabled: false });
      expect((await fires(schedule.id)).map((f) => [f.fire_at - T0, f.status, f.error])).toEqual([
        [20_000, 'failed', 'the schedule runs as test-admin, who is disabled; set its batch again to run it as yourself'],
        [10_000, 'failed', 'target tags hk: no node matched'],
      ]);
      expect(created).toEqual([]);
      const audit = await hub.app.db('audit_log').where({ action: 'batch-schedule.fire', target: `batch-schedule:${schedule.id}` }).orderBy('id');
      expect(audit.map((a) => [a.admin, a.result])).toEqual([
        ['test-admin', 'error'],
        ['test-admin', 'error'],
      ]);
    });
  });
}

export function twoHubSchedulesSuite(kind: DatabaseKind): void {
  describe(`a batch schedule with two hubs running, on ${kind} (wall clock)`, () => {
    const MISSED_AFTER_S = 3;
    let hub: TestHub;
    const running: FastifyInstance[] = [];
    /** Another hub on the same database with its jobs started (they start when it listens). */
    const startHub = async () => {
      const app = await joinHub(hub, { jobs_enabled: true });
      await shortSqliteWaits(app);
      await app.listen({ host: '127.0.0.1', port: 0 });
      running.push(app);
      return app;
    };
    const stopHubs = async (...apps: FastifyInstance[]) => {
      for (const app of apps.length > 0 ? apps : [...running]) {
        running.splice(running.indexOf(app), 1);
        await leave(app, hub);
      }
    };
    const fireRows = async (id: number) =>
      (await hub.app.db('batch_schedule_fires').where({ schedule_id: id }).orderBy('fire_at')).map((f) => ({
        fire_at: Number(f.fire_at),
        status: f.status as string,
        batch_id: f.batch_id as number | null,
        late_ms: Number(f.recorded_at) - Number(f.fire_at),
      }));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    beforeAll(async () => {
      hub = await startTestHub(kind, { config: { schedule_missed_after_s: MISSED_AFTER_S } });
      await seedUnreachableNode(hub.app.db, 'sched-hk', ['hk']);
      await storeDescription(hub.app.db, 'sched-hk', tallyAgent('sched-hk'), Date.now());
    });
    afterAll(async () => {
      await stopHubs();
      await hub?.close();
    });

    it('runs each fire time exactly once across both hubs, stops while paused, and records the times both hubs were down as missed', async () => {
      const [a, b] = [await startHub(), await startHub()];
      // Both hubs run the job; the lease decides which ticks when, the fire row which hub fires.
      const admin = await hub.as('admin');
      const res = await a.inject({
        method: 'POST',
        url: '/api/v1/batch-schedules',
        headers: admin,
        payload: { name: 'every 2 s', cron: '*/2 * * * * *', timezone: 'UTC', batch: { target: { tags: ['hk'] }, command: 'tally.run' } },
      });
      expect(res.statusCode, res.body).toBe(201);
      const id = res.json().id as number;

      // Three fire times, each run once: one batch each, made for this schedule.
      await until('3 fires', async () => (await fireRows(id)).filter((f) => f.status === 'ran').length >= 3, 20_000);
      const paused = await b.inject({ method: 'PATCH', url: `/api/v1/batch-schedules/${id}`, headers: admin, payload: { enabled: false } });
      expect(paused.statusCode, paused.body).toBe(200);
      const pausedAt = Date.now();
      await sleep(4_500);
      const beforeResume = await fireRows(id);
      expect(beforeResume.length).toBeGreaterThanOrEqual(3);
      expect(beforeResume.every((f) => f.status === 'ran')).toBe(true);
      // Every even second from the first fire to the pause, none twice (the unique key) and none skipped.
      const times = beforeResume.map((f) => f.fire_at);
      expect(times.every((t, i) => i === 0 || t - times[i - 1]! === 2_000)).toBe(true);
      expect(times[times.length - 1]!).toBeLessThanOrEqual(pausedAt);
      const batches = await hub.app.db('batches').where({ schedule_id: id }).orderBy('id');
      expect(batches.map((x) => x.id).sort()).toEqual(beforeResume.map((f) => f.batch_id).sort());
      expect(new Set(batches.map((x) => x.id)).size).toBe(beforeResume.length);
      expect(batches.every((x) => x.command === 'tally.run' && x.created_by === 'test-admin')).toBe(true);

      // Resumed, then every hub goes down for a while; the one that comes back runs only what is due.
      expect((await a.inject({ method: 'PATCH', url: `/api/v1/batch-schedules/${id}`, headers: admin, payload: { enabled: true } })).statusCode).toBe(200);
      await until('a fire after resuming', async () => (await fireRows(id)).length > beforeResume.length, 10_000);
      // One hub stops: the other carries on, taking the lease once it lapses.
      await stopHubs(a);
      const aDownAt = Date.now();
      await until('2 fires after one hub stopped', async () => (await fireRows(id)).filter((f) => f.fire_at > aDownAt && f.status === 'ran').length >= 2, 10_000);
      expect((await fireRows(id)).every((f) => f.status === 'ran')).toBe(true);
      await stopHubs();
      const downAt = Date.now();
      await sleep(7_000);
      const upAt = Date.now();
      await startHub();
      await until('a fire after the outage', async () => (await fireRows(id)).some((f) => f.fire_at > upAt && f.status === 'ran'), 10_000);
      const rows = await fireRows(id);
      const down = rows.filter((f) => f.fire_at > downAt + 1_000 && f.fire_at < upAt - MISSED_AFTER_S * 1000);
      expect(down.length).toBeGreaterThanOrEqual(1);
      expect(down.every((f) => f.status === 'missed' && f.batch_id === null)).toBe(true);
      // Nothing ran later than schedule_missed_after_s after its time; every run made one batch.
      expect(rows.filter((f) => f.status === 'ran').every((f) => f.late_ms <= MISSED_AFTER_S * 1000)).toBe(true);
      expect(await hub.app.db('batches').where({ schedule_id: id }).count({ n: '*' })).toEqual([{ n: rows.filter((f) => f.status === 'ran').length }]);
      // Nothing between pausing and resuming: neither run nor missed.
      expect(rows.filter((f) => f.fire_at > times[times.length - 1]! && f.fire_at <= pausedAt + 4_000)).toEqual([]);
      expect(await hub.app.db('audit_log').where({ action: 'batch-schedule.missed', target: `batch-schedule:${id}` })).toHaveLength(1);
    }, 60_000);
  });
}
