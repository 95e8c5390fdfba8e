// Many users straight into the database, for the users table's timing tests: names in a scattered
// order, a note on one in ten, one in fifty disabled, a subscription to `planId` for eight in nine
// in every status with expiries from 20 days ago to 40 days ahead, and a day of hourly usage on each
// node for four users in five, their last hours up to a week apart.
import type { Knex } from 'knex';
import type { SubscriptionStatus } from '../../hub/db/models.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const GiB = 2 ** 30;

export async function seedManyUsers(db: Knex, options: { count: number; now: number; planId: number; nodes: readonly string[] }): Promise<void> {
  const { count, now, planId, nodes } = options;
  for (const id of nodes) await db('nodes').insert({ id, name: id, address: '127.0.0.1:1', insecure: true, token: 't'.repeat(20), tags: '[]', created_at: now, updated_at: now });
  const users = Array.from({ length: count }, (_, i) => ({
    name: `user-${String((i * 7919) % count).padStart(5, '0')}`,
    note: i % 10 === 0 ? 'reseller' : '',
    status: i % 50 === 0 ? 'disabled' : 'active',
    uuid: `uuid-${i}`, password: 'p', ss_key: 'k', sub_token: `token-${i}`,
    created_at: now - i * 60_000, updated_at: now,
  }));
  const { last } = (await db('users').max({ last: 'id' }).first()) as { last: number | null };
  await db.batchInsert('users', users, 500);
  const ids = ((await db('users').where('id', '>', last ?? 0).orderBy('id').select('id')) as { id: number }[]).map((u) => u.id);
  const statuses: SubscriptionStatus[] = ['active', 'active', 'active', 'suspended', 'expired', 'cancelled'];
  const subs = ids.filter((_, i) => i % 9 !== 0).map((user_id, i) => ({
    user_id, plan_id: planId, start_time: now - 10 * DAY, end_time: now + ((i % 60) - 20) * DAY,
    traffic_used_bytes: (i * 104_729) % (100 * GiB), traffic_total_bytes: 100 * GiB,
    status: statuses[i % statuses.length], suspended_reason: statuses[i % statuses.length] === 'suspended' ? (i % 2 ? 'quota' : 'admin') : null,
    last_reset_at: now, created_at: now, updated_at: now,
  }));
  await db.batchInsert('subscriptions', subs, 500);
  // 24 hours × nodes × 4/5 of the users, in one statement.
  await db.raw(
    `WITH RECURSIVE h(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM h WHERE k < 23)
     INSERT INTO usage_hourly (node_id, user_id, hour, upload_bytes, download_bytes, billed_bytes)
     SELECT n.id, u.id, ? - h.k * ? - (u.id % 7) * ?, 1, 1, 2 FROM users u, nodes n, h WHERE u.id % 5 <> 0`,
    [Math.floor(now / HOUR) * HOUR, HOUR, DAY],
  );
}
