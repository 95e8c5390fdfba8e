// The quota job in SQL with a moved clock: quota suspensions, expiry, the rolling 30-day reset
// (the policy called monthly before calendar resets came), and the node revisions it raises. Run on
// SQLite by jobs-quota.test.ts, on MariaDB by jobs-quota.mariadb.test.ts. The calendar policies are
// in jobs-resets.suite.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { runQuotaJob } from '../../hub/jobs/quota.js';
import { RESET_PERIOD_MS } from '../../hub/reset-policies.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { metricValue } from '../support/prometheus.js';
import { DAY_MS, joinHub, leave, nodeRow, seedPlan, seedUnreachableNode, seedUser, subscription } from './jobs.suite.js';

export function quotaJobSuite(kind: DatabaseKind): void {
  describe(`quota job, hub on ${kind}`, () => {
    const clock = { now: Date.UTC(2032, 0, 10, 12) };
    let hub: TestHub;
    let rollingA: number;
    let plainB: number;

    const revisions = async () => {
      const out: Record<string, number> = {};
      for (const id of ['q-a', 'q-b', 'q-ab', 'q-c']) out[id] = (await nodeRow(hub.app.db, id)).desired_revision;
      return out;
    };
    const quota = async () => {
      const run = await hub.app.jobs.run('quota');
      if (!run.ran) throw new Error('the quota lease was held elsewhere');
      return run.result as Awaited<ReturnType<typeof runQuotaJob>>;
    };

    beforeAll(async () => {
      hub = await startTestHub(kind, { clock: () => clock.now });
      await seedUnreachableNode(hub.app.db, 'q-a', ['a']);
      await seedUnreachableNode(hub.app.db, 'q-b', ['b']);
      await seedUnreachableNode(hub.app.db, 'q-ab', ['a', 'b']);
      await seedUnreachableNode(hub.app.db, 'q-c', ['c']);
      rollingA = await seedPlan(hub.app.db, 'rolling-a', { tags: ['a'], reset: 'rolling_30d' });
      plainB = await seedPlan(hub.app.db, 'plain-b', { tags: ['b'] });
    });

    afterAll(async () => {
      await hub?.close();
    });

    it('suspends active subscriptions at or over their quota and raises the revision of the nodes their plans reach', async () => {
      const now = clock.now;
      const at = await seedUser(hub.app.db, 'at-quota', { planId: rollingA, now, used: 100, total: 100 });
      const under = await seedUser(hub.app.db, 'under-quota', { planId: rollingA, now, used: 99, total: 100 });
      const over = await seedUser(hub.app.db, 'over-quota', { planId: plainB, now, used: 250, total: 100 });
      const byAdmin = await seedUser(hub.app.db, 'admin-held', { planId: rollingA, now, used: 500, total: 100, status: 'suspended', suspendedReason: 'admin' });
      const before = await revisions();

      expect(await quota()).toMatchObject({ suspended: 2, expired: 0, reset: 0, reactivated: 0, touched_nodes: ['q-a', 'q-ab', 'q-b'] });
      expect(await subscription(hub.app.db, at.subscriptionId)).toMatchObject({ status: 'suspended', suspended_reason: 'quota' });
      expect(await subscription(hub.app.db, over.subscriptionId)).toMatchObject({ status: 'suspended', suspended_reason: 'quota' });
      expect(await subscription(hub.app.db, under.subscriptionId)).toMatchObject({ status: 'active', suspended_reason: null });
      expect(await subscription(hub.app.db, byAdmin.subscriptionId)).toMatchObject({ status: 'suspended', suspended_reason: 'admin' });
      expect(await revisions()).toEqual({ 'q-a': before['q-a']! + 1, 'q-b': before['q-b']! + 1, 'q-ab': before['q-ab']! + 1, 'q-c': before['q-c'] });
    });

    it('does nothing and raises no revision when nothing is due', async () => {
      const before = await revisions();
      expect(await quota()).toEqual({ suspended: 0, expired: 0, reset: 0, reactivated: 0, touched_nodes: [] });
      expect(await revisions()).toEqual(before);
    });

    it("expires active and suspended subscriptions once the hub's clock passes their end", async () => {
      const now = clock.now;
      const active = await seedUser(hub.app.db, 'ends-soon', { planId: plainB, now, endTime: now + 2 * DAY_MS });
      const suspended = await seedUser(hub.app.db, 'ends-soon-held', { planId: plainB, now, endTime: now + 2 * DAY_MS, status: 'suspended', suspendedReason: 'admin' });
      const later = await seedUser(hub.app.db, 'ends-later', { planId: plainB, now, endTime: now + 20 * DAY_MS });
      expect((await quota()).expired).toBe(0);

      clock.now += 2 * DAY_MS;
      const before = await revisions();
      const result = await quota();
      expect(result.expired).toBe(2);
      expect(await subscription(hub.app.db, active.subscriptionId)).toMatchObject({ status: 'expired', suspended_reason: null });
      expect(await subscription(hub.app.db, suspended.subscriptionId)).toMatchObject({ status: 'expired', suspended_reason: null });
      expect(await subscription(hub.app.db, later.subscriptionId)).toMatchObject({ status: 'active' });
      expect((await revisions())['q-b']).toBe(before['q-b']! + 1);
      expect((await revisions())['q-a']).toBe(before['q-a']);
    });

    it('resets used traffic every 30 days on rolling_30d plans, anchored to the last reset, and reactivates quota suspensions', async () => {
      const now = clock.now;
      const due = now - RESET_PERIOD_MS - 5 * 60_000;
      const longAgo = now - 2 * RESET_PERIOD_MS - DAY_MS;
      const end = now + 60 * DAY_MS;
      const heldForQuota = await seedUser(hub.app.db, 'reset-quota', { planId: rollingA, now, used: 100, total: 100, status: 'suspended', suspendedReason: 'quota', lastResetAt: due, endTime: end });
      const heldByAdmin = await seedUser(hub.app.db, 'reset-admin', { planId: rollingA, now, used: 70, total: 100, status: 'suspended', suspendedReason: 'admin', lastResetAt: due, endTime: end });
      const active = await seedUser(hub.app.db, 'reset-active', { planId: rollingA, now, used: 30, total: 100, lastResetAt: longAgo, endTime: end });
      const notYet = await seedUser(hub.app.db, 'reset-not-yet', { planId: rollingA, now, used: 30, total: 100, lastResetAt: now - 29 * DAY_MS, endTime: end });
      const plain = await seedUser(hub.app.db, 'reset-plain', { planId: plainB, now, used: 30, total: 100, lastResetAt: longAgo, endTime: end });
      const before = await revisions();

      expect(await quota()).toMatchObject({ reactivated: 1, reset: 2, suspended: 0, expired: 0 });
      expect(await subscription(hub.app.db, heldForQuota.subscriptionId)).toEqual({ status: 'active', suspended_reason: null, used: 0, last_reset_at: due + RESET_PERIOD_MS });
      expect(await subscription(hub.app.db, heldByAdmin.subscriptionId)).toEqual({ status: 'suspended', suspended_reason: 'admin', used: 0, last_reset_at: due + RESET_PERIOD_MS });
      expect(await subscription(hub.app.db, active.subscriptionId)).toEqual({ status: 'active', suspended_reason: null, used: 0, last_reset_at: longAgo + 2 * RESET_PERIOD_MS });
      expect(await subscription(hub.app.db, notYet.subscriptionId)).toMatchObject({ used: 30, last_reset_at: now - 29 * DAY_MS });
      expect(await subscription(hub.app.db, plain.subscriptionId)).toMatchObject({ used: 30, last_reset_at: longAgo });
      // One record per reset, even for a subscription two periods behind.
      const records = await hub.app.db('subscription_resets')
        .whereIn('subscription_id', [heldForQuota, heldByAdmin, active, notYet, plain].map((x) => x.subscriptionId))
        .orderBy('subscription_id')
        .select('subscription_id', 'at', 'used_bytes', 'strategy');
      expect(records.map((r) => ({ ...r, at: Number(r.at), used_bytes: Number(r.used_bytes) }))).toEqual([
        { subscription_id: heldForQuota.subscriptionId, at: due + RESET_PERIOD_MS, used_bytes: 100, strategy: 'rolling_30d' },
        { subscription_id: heldByAdmin.subscriptionId, at: due + RESET_PERIOD_MS, used_bytes: 70, strategy: 'rolling_30d' },
        { subscription_id: active.subscriptionId, at: longAgo + 2 * RESET_PERIOD_MS, used_bytes: 30, strategy: 'rolling_30d' },
      ]);
      const after = await revisions();
      expect(after['q-a']).toBeGreaterThan(before['q-a']!);
      expect(after['q-c']).toBe(before['q-c']);

      // The next period is 30 days after the anchored reset, not after the job ran.
      clock.now = due + 2 * RESET_PERIOD_MS - 1;
      await hub.app.db('subscriptions').where({ id: heldForQuota.subscriptionId }).update({ traffic_used_bytes: 50 });
      await quota();
      expect(await subscription(hub.app.db, heldForQuota.subscriptionId)).toMatchObject({ used: 50, last_reset_at: due + RESET_PERIOD_MS });
      clock.now += 1;
      await quota();
      expect(await subscription(hub.app.db, heldForQuota.subscriptionId)).toMatchObject({ used: 0, last_reset_at: due + 2 * RESET_PERIOD_MS });
    });

    it('runs once per interval across hubs: a second hub finds the lease taken', async () => {
      const first = await hub.app.jobs.run('quota');
      expect(first.ran).toBe(true);
      const other = await joinHub(hub, {}, () => clock.now);
      try {
        expect(await other.jobs.run('quota')).toEqual({ ran: false, holder: hub.app.jobs.holder });
        clock.now += 60_001;
        expect((await other.jobs.run('quota')).ran).toBe(true);
        expect(await hub.app.jobs.run('quota')).toEqual({ ran: false, holder: other.jobs.holder });
        expect(await metricValue(hub.app, 'boxfleet_hub_job_skipped_total', { name: 'quota' })).toBe(1);
      } finally {
        await leave(other, hub);
      }
      // Closing gave the lease up: the first hub takes it at once.
      expect((await hub.app.jobs.run('quota')).ran).toBe(true);
    });
  });
}
