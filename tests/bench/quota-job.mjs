// Benchmark (not a test): the quota job over 100,000 subscriptions — 10% over quota, 5% past their
// end, 10% due for their monthly reset, the rest untouched — then a second tick with nothing due.
// User events are recorded as the hub's defaults say (thresholds 80 and 95 %, expiring within 3
// days); BENCH_USER_EVENTS=0 leaves them out, to see what they cost.
// On MariaDB/MySQL when BOXFLEET_TEST_MYSQL_URL is set (a fresh database, dropped afterwards),
// else on SQLite in a temporary folder. Prints one JSON line. Needs `npm run build` (dist/hub-jobs.js).
import { RESET_PERIOD_MS, runQuotaJob } from '../../dist/hub-jobs.js';
import { benchDatabase, insertChunked } from './database.mjs';

const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 100_000);
const NODES = 200;
const DAY = 24 * 3_600_000;
const userEvents = process.env.BENCH_USER_EVENTS === '0' ? undefined : { thresholds: [80, 95], expiringDays: 3 };

const { kind, db, drop } = await benchDatabase();
try {
  const now = Date.now();
  const plans = [];
  for (let p = 0; p < 10; p++) {
    const [id] = await db('plans').insert({
      name: `plan${p}`, traffic_limit_bytes: 10 ** 11, duration_days: 30, price: 0, is_enabled: true,
      node_tags: JSON.stringify([`tag${p}`]), reset_policy: p % 2 ? 'rolling_30d' : 'none', created_at: now, updated_at: now,
    });
    plans.push(Number(id));
  }
  await insertChunked(db, 'nodes', Array.from({ length: NODES }, (_, i) => ({
    id: `node${i}`, name: `node${i}`, address: '127.0.0.1:1', insecure: true, token: 'x'.repeat(32),
    tags: JSON.stringify([`tag${i % 10}`]), created_at: now, updated_at: now,
  })));
  await insertChunked(db, 'users', Array.from({ length: SUBSCRIPTIONS }, (_, i) => ({
    name: `user${i}`, note: '', status: 'active', uuid: '00000000-0000-4000-8000-000000000000', password: 'p'.repeat(24),
    ss_key: 'k'.repeat(44), sub_token: `t-${i}`, created_at: now, updated_at: now,
  })));
  const userIds = (await db('users').orderBy('id').select('id')).map((r) => Number(r.id));
  await insertChunked(db, 'subscriptions', userIds.map((user_id, i) => {
    const overQuota = i % 10 === 0;
    const ended = i % 20 === 1;
    const resetDue = i % 10 === 3; // plan3: rolling_30d
    return {
      user_id, plan_id: plans[i % 10], start_time: now - 10 * DAY, end_time: ended ? now - 1000 : now + 20 * DAY,
      traffic_used_bytes: overQuota ? 10 ** 11 + 1 : 5 * 10 ** 9, traffic_total_bytes: 10 ** 11, status: 'active', suspended_reason: null,
      last_reset_at: resetDue ? now - RESET_PERIOD_MS - DAY : now - 10 * DAY, created_at: now, updated_at: now,
    };
  }));

  let started = performance.now();
  const first = await runQuotaJob({ db, now: () => now, timeZone: 'UTC', userEvents });
  const firstMs = performance.now() - started;
  started = performance.now();
  const second = await runQuotaJob({ db, now: () => now, timeZone: 'UTC', userEvents });
  const idleMs = performance.now() - started;
  console.log(JSON.stringify({
    bench: 'quota-job',
    database: kind,
    subscriptions: SUBSCRIPTIONS,
    ms: Math.round(firstMs),
    idle_tick_ms: Math.round(idleMs),
    expired: first.expired,
    suspended: first.suspended,
    reset: first.reset + first.reactivated,
    touched_nodes: first.touched_nodes.length,
    idle_changes: second.expired + second.suspended + second.reset + second.reactivated,
    user_events: userEvents ? Number((await db('user_events').count({ n: '*' }).first()).n) : 'off',
  }));
} finally {
  await db.destroy();
  await drop();
}
