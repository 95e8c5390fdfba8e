// Benchmark (not a test): the traffic job's apply step — 200 nodes × 5,000 user deltas, one ledger
// batch per node — in two ticks: the hour's first (every usage cell new: `ms`, `rows_per_s`) and a
// later one in the same hour (every cell there already: `same_hour_*`). The batches are stored as
// the job stores them: BENCH_CONCURRENCY nodes at once (the job's default, 16) hand them to the
// job's grouping applier, which applies the batches waiting together in one transaction
// (usage_hourly upsert, subscriptions, each node's ledger_seq), two such groups at once on MySQL;
// BENCH_CONCURRENCY=1 applies one node's batch per transaction. On MariaDB/MySQL when BOXFLEET_TEST_MYSQL_URL is set (a fresh
// database, dropped afterwards), else on SQLite in a temporary folder. Prints one JSON line.
// Needs `npm run build` (dist/hub-jobs.js).
import os from 'node:os';
import { groupingApplier } from '../../dist/hub-jobs.js';
import { benchDatabase, insertChunked } from './database.mjs';

const NODES = Number(process.env.BENCH_NODES ?? 200);
const USERS = Number(process.env.BENCH_USERS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const HOUR = 3_600_000;

const { kind, db, drop } = await benchDatabase();
try {
  const now = Date.now();
  const [planId] = await db('plans').insert({
    name: 'bench', traffic_limit_bytes: 10 ** 15, duration_days: 30, price: 0, is_enabled: true,
    node_tags: JSON.stringify(['bench']), reset_policy: 'none', created_at: now, updated_at: now,
  });
  const names = Array.from({ length: USERS }, (_, i) => `user${i}`);
  await insertChunked(db, 'users', names.map((name) => ({
    name, note: '', status: 'active', uuid: '00000000-0000-4000-8000-000000000000', password: 'p'.repeat(24),
    ss_key: 'k'.repeat(44), sub_token: `t-${name}`, created_at: now, updated_at: now,
  })));
  const userIds = (await db('users').select('id')).map((r) => Number(r.id));
  await insertChunked(db, 'subscriptions', userIds.map((user_id) => ({
    user_id, plan_id: Number(planId), start_time: now, end_time: now + 30 * 24 * HOUR, traffic_used_bytes: 0,
    traffic_total_bytes: 10 ** 15, status: 'active', suspended_reason: null, last_reset_at: now, created_at: now, updated_at: now,
  })));
  await insertChunked(db, 'nodes', Array.from({ length: NODES }, (_, i) => ({
    id: `node${i}`, name: `node${i}`, address: '127.0.0.1:1', insecure: true, token: 'x'.repeat(32), tags: '["bench"]',
    multiplier: 1.5, created_at: now, updated_at: now,
  })));

  const time = new Date(Math.floor(now / HOUR) * HOUR + 60_000).toISOString();
  const batches = Array.from({ length: NODES }, (_, n) => ({
    nodeId: `node${n}`, multiplier: 1.5, nodeTags: ['bench'], afterSeq: 0, now,
    entries: names.map((user, i) => ({ seq: i + 1, time, user, upload_bytes: 1000 + i, download_bytes: 2000 + n })),
  }));
  let expectedBilled = batches.reduce((sum, b) => b.entries.reduce((s, e) => s + Math.round((e.upload_bytes + e.download_bytes) * 1.5), sum), 0);
  // One tick: every node's batch, BENCH_CONCURRENCY nodes at once, as the job hands them over.
  const tick = async () => {
    const apply = groupingApplier(db);
    let next = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < NODES) {
        const batch = batches[next++];
        const outcome = await apply(batch);
        if (!outcome.applied || outcome.usageRows !== USERS) throw new Error(`${batch.nodeId}: batch not applied as expected: ${JSON.stringify(outcome)}`);
      }
    }));
    const { user, system } = process.cpuUsage(cpu);
    return { ms: performance.now() - started, cpuMs: (user + system) / 1000 };
  };
  // The hour's first tick inserts every usage cell; the next ones (the job runs every minute) add to them.
  const first = await tick();
  for (const batch of batches) {
    batch.afterSeq = USERS;
    batch.entries = batch.entries.map((e) => ({ ...e, seq: e.seq + USERS }));
  }
  const next = await tick();
  expectedBilled *= 2;
  const [{ billed }] = await db('subscriptions').sum({ billed: 'traffic_used_bytes' });
  const rows = NODES * USERS;
  console.log(JSON.stringify({
    bench: 'traffic-job',
    database: kind,
    nodes: NODES,
    concurrency: CONCURRENCY,
    users: USERS,
    entries: rows,
    ms: Math.round(first.ms),
    rows_per_s: Math.round(rows / (first.ms / 1000)),
    ms_per_batch: Number((first.ms / NODES).toFixed(1)),
    same_hour_ms: Math.round(next.ms),
    same_hour_rows_per_s: Math.round(rows / (next.ms / 1000)),
    // This process's CPU in each tick (on SQLite the database's too) and the machine's load: the
    // wall times above depend on both.
    cpu_ms: Math.round(first.cpuMs),
    same_hour_cpu_ms: Math.round(next.cpuMs),
    loadavg_1m: Number(os.loadavg()[0].toFixed(1)),
    billed_ok: Number(billed) === expectedBilled,
  }));
} finally {
  await db.destroy();
  await drop();
}
