// Each reset policy at its boundary, with the hub's clock moved there: a second before it nothing
// resets, at it the used traffic goes back to 0 once (quota suspensions come back), and later runs in
// the same period reset nothing more. The hub's reset time zone is Asia/Shanghai (UTC+8), so the
// calendar boundaries fall at 16:00 UTC. The tests run in time order, and each one's subscriptions
// end soon after its last run, so the next test's runs count only its own. Run on SQLite by
// jobs-resets.test.ts, on MariaDB by jobs-resets.mariadb.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { runQuotaJob } from '../../hub/jobs/quota.js';
import type { ResetPolicy } from '../../hub/reset-policies.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { nodeRow, seedPlan, seedUnreachableNode, seedUser, subscription } from './jobs.suite.js';

const HOUR_MS = 3_600_000;
const at = (iso: string) => Date.parse(iso);

export function resetsJobSuite(kind: DatabaseKind): void {
  describe(`traffic reset policies, hub on ${kind}`, () => {
    const clock = { now: at('2032-03-01T00:00:00Z') };
    let hub: TestHub;
    let never: number;

    const quota = async () => {
      const run = await hub.app.jobs.run('quota');
      if (!run.ran) throw new Error('the quota lease was held elsewhere');
      return run.result as Awaited<ReturnType<typeof runQuotaJob>>;
    };
    const records = async (ids: number[]) =>
      (await hub.app.db('subscription_resets').whereIn('subscription_id', ids).orderBy('id').select('subscription_id', 'at', 'used_bytes', 'strategy')).map((r) => ({
        ...r,
        at: Number(r.at),
        used_bytes: Number(r.used_bytes),
      }));

    /**
     * A plan with `policy`, a subscription suspended for quota and an active one, both last reset
     * at `lastReset` and ending an hour after `endsAfter`; then the checks at `boundary`.
     */
    async function resetsAt(policy: ResetPolicy, boundary: number, { lastReset, resetDay, endsAfter = boundary }: { lastReset: number; resetDay?: number; endsAfter?: number }) {
      const plan = await seedPlan(hub.app.db, `${policy}-${boundary}`, { tags: ['r'], reset: policy, resetDay });
      const endTime = endsAfter + HOUR_MS;
      const seed = { planId: plan, now: lastReset, lastResetAt: lastReset, endTime, total: 100 };
      const held = await seedUser(hub.app.db, `${policy}-held-${boundary}`, { ...seed, used: 100, status: 'suspended', suspendedReason: 'quota' });
      const active = await seedUser(hub.app.db, `${policy}-active-${boundary}`, { ...seed, used: 30 });
      const untouched = await seedUser(hub.app.db, `${policy}-never-${boundary}`, { planId: never, now: lastReset, lastResetAt: lastReset, endTime, used: 30, total: 100 });
      const ids = [held, active, untouched].map((s) => s.subscriptionId);

      clock.now = boundary - 1000;
      expect(await quota()).toMatchObject({ reset: 0, reactivated: 0 });
      expect(await subscription(hub.app.db, held.subscriptionId)).toEqual({ status: 'suspended', suspended_reason: 'quota', used: 100, last_reset_at: lastReset });
      expect(await subscription(hub.app.db, active.subscriptionId)).toMatchObject({ used: 30, last_reset_at: lastReset });

      clock.now = boundary;
      const revision = (await nodeRow(hub.app.db, 'r-1')).desired_revision;
      expect(await quota()).toMatchObject({ reset: 1, reactivated: 1, touched_nodes: ['r-1'] });
      expect((await nodeRow(hub.app.db, 'r-1')).desired_revision).toBeGreaterThan(revision);
      expect(await subscription(hub.app.db, held.subscriptionId)).toEqual({ status: 'active', suspended_reason: null, used: 0, last_reset_at: boundary });
      expect(await subscription(hub.app.db, active.subscriptionId)).toEqual({ status: 'active', suspended_reason: null, used: 0, last_reset_at: boundary });
      expect(await subscription(hub.app.db, untouched.subscriptionId)).toMatchObject({ used: 30, last_reset_at: lastReset });
      expect(await records(ids)).toEqual([
        { subscription_id: held.subscriptionId, at: boundary, used_bytes: 100, strategy: policy },
        { subscription_id: active.subscriptionId, at: boundary, used_bytes: 30, strategy: policy },
      ]);

      // Used again in the same period: a later run does not reset it again.
      await hub.app.db('subscriptions').whereIn('id', ids).update({ traffic_used_bytes: 40 });
      clock.now = boundary + HOUR_MS - 1000;
      expect(await quota()).toMatchObject({ reset: 0, reactivated: 0 });
      expect(await subscription(hub.app.db, active.subscriptionId)).toMatchObject({ used: 40, last_reset_at: boundary });
      expect(await records(ids)).toHaveLength(2);
      return { held, active };
    }

    beforeAll(async () => {
      hub = await startTestHub(kind, { clock: () => clock.now, config: { reset_timezone: 'Asia/Shanghai' } });
      await seedUnreachableNode(hub.app.db, 'r-1', ['r']);
      never = await seedPlan(hub.app.db, 'never', { tags: ['other'] });
    });

    afterAll(async () => {
      await hub?.close();
    });

    it('daily resets at 00:00 in the reset time zone', async () => {
      // Wednesday 10 March 2032, 00:00 in Shanghai.
      await resetsAt('daily', at('2032-03-09T16:00:00Z'), { lastReset: at('2032-03-09T01:00:00Z') });
    });

    it('weekly resets at 00:00 on Monday', async () => {
      // Monday 15 March 2032; last reset on the Wednesday before.
      await resetsAt('weekly', at('2032-03-14T16:00:00Z'), { lastReset: at('2032-03-10T03:00:00Z') });
    });

    it('rolling_30d resets 30 days after the last reset, at whatever time of day that is', async () => {
      await resetsAt('rolling_30d', at('2032-03-17T07:30:00Z'), { lastReset: at('2032-02-16T07:30:00Z') });
    });

    it('monthly resets on its reset day, a subscription started mid-period included, and again on that day next month', async () => {
      // Reset day 20; the subscriptions started on 12 March, so their first period is 8 days long.
      const first = at('2032-03-19T16:00:00Z');
      const next = at('2032-04-19T16:00:00Z');
      const { active } = await resetsAt('monthly', first, { lastReset: at('2032-03-12T09:00:00Z'), resetDay: 20, endsAfter: next });
      clock.now = next - 1000;
      expect(await quota()).toMatchObject({ reset: 0, reactivated: 0 });
      expect(await subscription(hub.app.db, active.subscriptionId)).toMatchObject({ used: 40, last_reset_at: first });
      clock.now = next;
      expect(await quota()).toMatchObject({ reset: 2, reactivated: 0 });
      expect(await subscription(hub.app.db, active.subscriptionId)).toMatchObject({ used: 0, last_reset_at: next });
      expect((await records([active.subscriptionId])).map((r) => r.at)).toEqual([first, next]);
    });

    it('yearly resets at 00:00 on 1 January', async () => {
      await resetsAt('yearly', at('2032-12-31T16:00:00Z'), { lastReset: at('2032-05-01T00:00:00Z') });
    });
  });
}
