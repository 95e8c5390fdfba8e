// User events (hub/user-events) end to end, with the hub's clock moved: the quota job and the renew
// route record them, the `user-events` job sends them to a local webhook receiver that checks
// every signature with verifyWebhook (and to a Telegram Bot API stand-in). Below a threshold
// nothing is sent; its crossing sends exactly one event; more usage above it none; a traffic reset
// lets it happen once more. Expiring, quota suspension, expiry and renewal send one each; a failing
// receiver gets the event again at later ticks until it takes it, once; two hubs on one database
// racing through the same ticks still send each event once; a hub with no channel only records. Run on SQLite by user-events.test.ts,
// on MariaDB by user-events.mariadb.test.ts.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQuotaJob } from '../../hub/jobs/quota.js';
import type { UserEventBody } from '../../hub/user-events/body.js';
import { userEventRules } from '../../hub/user-events/record.js';
import { ownerApi, startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { startTelegramStandIn, startWebhookReceiver, type TelegramStandIn, type WebhookReceiver } from '../support/notify-receivers.js';
import { DAY_MS, joinHub, leave, seedPlan, seedUnreachableNode, seedUser, shortSqliteWaits, type SeededSubscription } from './jobs.suite.js';

const SECRET = 'user events signing secret';
const BOT_TOKEN = '123456:user-events-bot';
const CHAT_ID = '-100555';
const GIB = 2 ** 30;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

export function userEventsSuite(kind: DatabaseKind): void {
  describe(`user events by signed webhook and Telegram, hub on ${kind}`, () => {
    const clock = { now: at('2032-06-01T10:00:00Z') };
    let hub: TestHub;
    let receiver: WebhookReceiver<UserEventBody>;
    let telegram: TelegramStandIn;
    let plan: number;

    const quota = async (app: FastifyInstance = hub.app) => {
      const run = await app.jobs.run('quota');
      if (!run.ran) throw new Error('the quota lease was held elsewhere');
    };
    const send = async (app: FastifyInstance = hub.app) => {
      const run = await app.jobs.run('user-events');
      if (!run.ran) throw new Error('the user-events lease was held elsewhere');
      return run.result as { queued: number; sent: number; failed: number };
    };
    const of = (s: SeededSubscription) => receiver.received.filter((r) => r.body.subscription.id === s.subscriptionId).map((r) => r.event + (r.body.threshold_percent ? ` ${r.body.threshold_percent}` : ''));
    const use = (s: SeededSubscription, bytes: number) => hub.app.db('subscriptions').where({ id: s.subscriptionId }).update({ traffic_used_bytes: bytes });
    /** A user on the daily plan, last reset at today's midnight (UTC, the reset time zone). */
    const user = (name: string, options: { used?: number; endTime?: number } = {}) =>
      seedUser(hub.app.db, name, { planId: plan, now: clock.now, total: 100 * GIB, used: options.used ?? 0, lastResetAt: Math.floor(clock.now / DAY_MS) * DAY_MS, endTime: options.endTime });

    beforeAll(async () => {
      receiver = await startWebhookReceiver<UserEventBody>(SECRET);
      telegram = await startTelegramStandIn(BOT_TOKEN);
      hub = await startTestHub(kind, {
        clock: () => clock.now,
        config: {
          user_event_webhook_url: `${receiver.url}/shop/boxfleet`,
          user_event_webhook_secret: SECRET,
          user_event_usage_thresholds: '95, 80',
          user_event_expiring_days: 3,
          telegram_bot_token: BOT_TOKEN,
          telegram_api_url: telegram.url,
          user_event_telegram_chat_id: CHAT_ID,
        },
      });
      await seedUnreachableNode(hub.app.db, 'e-1', ['e']);
      plan = await seedPlan(hub.app.db, 'Daily 100G', { tags: ['e'], reset: 'daily' });
    });

    afterAll(async () => {
      await hub?.close();
      await receiver?.close();
      await telegram?.close();
    });

    let alice: SeededSubscription;

    it('sends nothing while usage stays below the thresholds', async () => {
      alice = await user('alice', { used: 79 * GIB, endTime: at('2032-07-01T10:00:00Z') });
      await quota();
      expect(await send()).toEqual({ queued: 0, sent: 0, failed: 0 });
      expect(of(alice)).toEqual([]);
    });

    it('sends exactly one signed usage.threshold when usage crosses 80 %, and none for more usage above it', async () => {
      await use(alice, 80 * GIB);
      await quota();
      expect(await send()).toEqual({ queued: 1, sent: 2, failed: 0 });
      expect(receiver.received.map((r) => r.event)).toEqual(['usage.threshold']);
      expect(receiver.received[0]!.body).toEqual({
        event: 'usage.threshold',
        id: expect.any(Number),
        created_at: iso(clock.now),
        user: { id: alice.userId, name: 'alice', note: '' },
        subscription: {
          id: alice.subscriptionId,
          plan_id: plan,
          plan_name: 'Daily 100G',
          end_time: '2032-07-01T10:00:00.000Z',
          traffic_used_bytes: 80 * GIB,
          traffic_total_bytes: 100 * GIB,
        },
        threshold_percent: 80,
        text: 'alice has used 80% of their traffic: 80 GiB of 100 GiB',
      });
      expect(telegram.messages).toEqual([{ chat_id: CHAT_ID, text: '[boxfleet] alice has used 80% of their traffic: 80 GiB of 100 GiB', disable_web_page_preview: true }]);

      await use(alice, 90 * GIB);
      clock.now += 60_000;
      await quota();
      await quota();
      expect(await send()).toEqual({ queued: 0, sent: 0, failed: 0 });
      expect(of(alice)).toEqual(['usage.threshold 80']);
    });

    it('lets a threshold be crossed again, once, after a traffic reset', async () => {
      clock.now = at('2032-06-02T00:00:00Z');
      await quota();
      expect((await hub.app.db('subscriptions').where({ id: alice.subscriptionId }).first()).traffic_used_bytes).toEqual(0);
      await send();
      expect(of(alice)).toEqual(['usage.threshold 80']);

      await use(alice, 85 * GIB);
      clock.now += 3_600_000;
      await quota();
      await quota();
      await send();
      expect(of(alice)).toEqual(['usage.threshold 80', 'usage.threshold 80']);
    });

    it('sends the 95 % crossing before the quota suspension when usage runs out in one go, one each', async () => {
      await use(alice, 100 * GIB);
      await quota();
      await quota();
      await send();
      expect(of(alice)).toEqual(['usage.threshold 80', 'usage.threshold 80', 'usage.threshold 95', 'subscription.suspended']);
      expect(receiver.received.at(-1)!.body).toMatchObject({ event: 'subscription.suspended', reason: 'quota', subscription: { traffic_used_bytes: 100 * GIB } });
    });

    let bob: SeededSubscription;

    it('sends one subscription.expiring when the end is within the configured days', async () => {
      bob = await user('bob', { endTime: clock.now + 4 * DAY_MS });
      await quota();
      await send();
      expect(of(bob)).toEqual([]);
      clock.now += 1.5 * DAY_MS;
      await quota();
      clock.now += 60_000;
      await quota();
      await send();
      expect(of(bob)).toEqual(['subscription.expiring']);
      expect(receiver.received.at(-1)!.body).toMatchObject({ days_left: 3, subscription: { end_time: iso(at('2032-06-02T01:00:00Z') + 4 * DAY_MS) } });
    });

    it('sends one subscription.expired at the end, and one subscription.renewed for a renewal', async () => {
      clock.now = at('2032-06-02T01:00:00Z') + 4 * DAY_MS;
      await quota();
      await quota();
      await send();
      expect(of(bob)).toEqual(['subscription.expiring', 'subscription.expired']);

      const renewed = await ownerApi(hub, 'POST', `/api/v1/subscriptions/${bob.subscriptionId}/renew`, { days: 30 });
      await send();
      expect(of(bob)).toEqual(['subscription.expiring', 'subscription.expired', 'subscription.renewed']);
      expect(receiver.received.at(-1)!.body).toMatchObject({ event: 'subscription.renewed', subscription: { end_time: renewed.end_time } });
      expect(receiver.received.at(-1)!.body.text).toBe(`bob's subscription was renewed until ${renewed.end_time.slice(0, 16).replace('T', ' ')} UTC`);
      await quota();
      await send();
      expect(of(bob)).toHaveLength(3);
    });

    it('tries a refusing receiver again at later ticks and delivers the event once', async () => {
      receiver.refusals = 2;
      await ownerApi(hub, 'POST', `/api/v1/subscriptions/${alice.subscriptionId}/renew`, { days: 1 });
      expect(await send()).toMatchObject({ queued: 1, failed: 1 });
      expect(await send()).toMatchObject({ queued: 0, sent: 0, failed: 1 });
      const pending = await ownerApi(hub, 'GET', `/api/v1/user-events?user_id=${alice.userId}&kind=subscription.renewed`);
      expect(pending.items[0].deliveries).toContainEqual({
        channel: 'webhook', status: 'pending', attempts: 2, last_error: 'webhook: HTTP 503: receiver busy', created_at: expect.any(String), sent_at: null,
      });
      expect(await send()).toEqual({ queued: 0, sent: 1, failed: 0 });
      expect(await send()).toEqual({ queued: 0, sent: 0, failed: 0 });
      expect(of(alice).filter((e) => e === 'subscription.renewed')).toHaveLength(1);
      const done = await ownerApi(hub, 'GET', `/api/v1/user-events?user_id=${alice.userId}&kind=subscription.renewed`);
      expect(done.total).toBe(1);
      expect(done.items[0].deliveries.map((d: Record<string, unknown>) => [d.channel, d.status, d.attempts])).toEqual([
        ['webhook', 'sent', 3],
        ['telegram', 'sent', 1],
      ]);
    });

    it('records and sends each event once when two hubs run the same ticks on one database', async () => {
      const carol = await user('carol', { used: 81 * GIB, endTime: clock.now + 20 * DAY_MS });
      const other = await joinHub(hub, {}, () => clock.now);
      try {
        await shortSqliteWaits(hub.app, other);
        // Past the jobs' lease (a re-run, or a hub whose lease ran out mid-tick), the key alone holds.
        const rules = userEventRules(hub.config);
        const direct = (app: FastifyInstance) => runQuotaJob({ db: app.db, now: () => clock.now, timeZone: 'UTC', userEvents: rules });
        await Promise.all([direct(hub.app), direct(other), direct(hub.app)]);
        await Promise.all([hub.app.jobs.run('quota'), other.jobs.run('quota')]);
        await Promise.all([hub.app.jobs.run('user-events'), other.jobs.run('user-events')]);
        await Promise.all([hub.app.jobs.run('user-events'), other.jobs.run('user-events')]);
      } finally {
        await leave(other, hub);
      }
      expect(of(carol)).toEqual(['usage.threshold 80']);
      expect(await hub.app.db('user_events').where({ subscription_id: carol.subscriptionId }).count({ n: '*' }).first()).toEqual({ n: 1 });
    });

    it('lists events newest first with ISO times, filtered by user and kind', async () => {
      const all = await ownerApi(hub, 'GET', `/api/v1/user-events?user_id=${bob.userId}&per_page=2`);
      expect(all).toMatchObject({ total: 3, page: 1, per_page: 2 });
      expect(all.items.map((e: UserEventBody) => e.event)).toEqual(['subscription.renewed', 'subscription.expired']);
      expect(all.items[0].created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const expiring = await ownerApi(hub, 'GET', `/api/v1/user-events?kind=subscription.expiring`);
      expect(expiring.items.map((e: UserEventBody) => e.user.name)).toEqual(['bob']);
      const viewer = await hub.app.inject({ method: 'GET', url: '/api/v1/user-events', headers: await hub.as('viewer') });
      expect(viewer.statusCode).toBe(200);
    });

    it('records events for the API but sends none from a hub with no channel configured', async () => {
      const quiet = await joinHub(hub, { user_event_webhook_url: '', user_event_telegram_chat_id: '' }, () => clock.now);
      try {
        // Past the leases the other hub holds.
        clock.now += 10 * 60_000;
        const dave = await user('dave', { used: 100 * GIB, endTime: clock.now + 20 * DAY_MS });
        expect(await quiet.jobs.run('quota')).toMatchObject({ ran: true, result: { suspended: 1 } });
        expect(await quiet.jobs.run('user-events')).toMatchObject({ ran: true, result: { queued: 3, sent: 0, failed: 0 } });
        const listed = await ownerApi(hub, 'GET', `/api/v1/user-events?user_id=${dave.userId}`);
        expect(listed.items.map((e: UserEventBody & { deliveries: unknown[] }) => [e.event, e.threshold_percent, e.deliveries])).toEqual([
          ['subscription.suspended', undefined, []],
          ['usage.threshold', 95, []],
          ['usage.threshold', 80, []],
        ]);
        expect(of(dave)).toEqual([]);
      } finally {
        await leave(quiet, hub);
      }
    });
  });
}
