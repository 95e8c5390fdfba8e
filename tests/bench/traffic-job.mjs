// Benchmark (not a test): the traffic job's apply step — 200 nodes × 5,000 user deltas, one ledger
// batch per node — and the usage roll-up. BENCH_TICKS (10) ticks, then one roll-up folding them into
// usage_hourly (the hour's first: every usage cell new, `rollup_ms`); then as many ticks again and a
// second roll-up in the same hour (every cell there already: `same_hour_rollup_ms`). Each tick's
// batches are stored as the job stores them: BENCH_CONCURRENCY nodes at once (the job's default, 64)
// hand them to the job's grouping applier, which applies the batches waiting together in one
// transaction (subscriptions, node totals and ledger_seq, one usage_pending row per node), two such
// groups at once on MySQL; BENCH_CONCURRENCY=1 applies one node's batch per transaction. The floor
// of a roll-up, `rollup_floor_ms`: the database itself copying the same rows into an empty table of
// the same key (INSERT … SELECT, no client). On MariaDB/MySQL when BOXFLEET_TEST_MYSQL_URL is set (a
// fresh database, dropped afterwards), else on SQLite in a temporary folder. Prints one JSON line.
// Needs `npm run build` (dist/hub-jobs.js).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { groupingApplier, runUsageRollup } from '../../dist/hub-jobs.js';
import { benchDatabase, insertChunked } from './database.mjs';

const NODES = Number(process.env.BENCH_NODES ?? 200);
const USERS = Number(process.env.BENCH_USERS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const TICKS = Number(process.env.BENCH_TICKS ?? 10);
const HOUR = 3_600_000;
// The database server's process on this machine, if given: its CPU time (user + system) per tick,
// which unlike wall time does not depend on what else the machine runs.
const SERVER_PID = process.env.BENCH_SERVER_PID;
const TICKS_PER_S = 100;
const serverCpuMs = () => {
  if (!SERVER_PID) return NaN;
  const fields = readFileSync(`/proc/${SERVER_PID}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
};

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
  const billedPerTick = batches.reduce((sum, b) => b.entries.reduce((s, e) => s + Math.round((e.upload_bytes + e.download_bytes) * 1.5), sum), 0);
  const timed = async (fn) => {
    const cpu = process.cpuUsage();
    const server = serverCpuMs();
    const started = performance.now();
    const result = await fn();
    const { user, system } = process.cpuUsage(cpu);
    return { ms: Math.round(performance.now() - started), cpuMs: Math.round((user + system) / 1000), serverCpuMs: serverCpuMs() - server, result };
  };
  // One tick: every node's batch, BENCH_CONCURRENCY nodes at once, as the job hands them over.
  const tick = () => timed(async () => {
    const apply = groupingApplier(db);
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < NODES) {
        const batch = batches[next++];
        const outcome = await apply(batch);
        if (!outcome.applied || outcome.usageRows !== USERS) throw new Error(`${batch.nodeId}: batch not applied as expected: ${JSON.stringify(outcome)}`);
      }
    }));
  });
  // The ledger's next entries, as the next minute's drain would return them.
  const nextEntries = () => {
    for (const batch of batches) {
      batch.afterSeq += USERS;
      batch.entries = batch.entries.map((e) => ({ ...e, seq: e.seq + USERS }));
    }
  };
  const logger = { error: (message, fields) => console.error(message, fields) };
  const round = async () => {
    const ticks = [];
    for (let i = 0; i < TICKS; i++) {
      ticks.push(await tick());
      nextEntries();
    }
    const rollup = await timed(() => runUsageRollup({ db, logger }));
    if (rollup.result.usage_rows !== NODES * USERS) throw new Error(`roll-up folded ${rollup.result.usage_rows} cells`);
    return { ticks, rollup, loadavg: os.loadavg()[0] };
  };
  const first = await round();
  const second = await round();

  // The floor of a roll-up: the same rows copied by the database into an empty table with the same key.
  await db.schema.createTable('bench_floor', (t) => {
    t.string('node_id', 63).notNullable();
    t.integer('user_id').unsigned().notNullable();
    for (const column of ['hour', 'upload_bytes', 'download_bytes', 'billed_bytes']) t.bigInteger(column).notNullable();
    t.primary(['node_id', 'user_id', 'hour']);
  });
  const floor = await timed(() => db.raw('INSERT INTO bench_floor SELECT node_id, user_id, hour, upload_bytes, download_bytes, billed_bytes FROM usage_hourly'));

  const expectedBilled = billedPerTick * TICKS * 2;
  const [{ billed }] = await db('subscriptions').sum({ billed: 'traffic_used_bytes' });
  const [{ rolled }] = await db('usage_hourly').sum({ rolled: 'billed_bytes' });
  const [{ pending }] = await db('usage_pending').count({ pending: '*' });
  const all = [...first.ticks, ...second.ticks];
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const sorted = all.map((t) => t.ms).sort((a, b) => a - b);
  console.log(JSON.stringify({
    bench: 'traffic-job',
    database: kind,
    nodes: NODES,
    concurrency: CONCURRENCY,
    users: USERS,
    entries_per_tick: NODES * USERS,
    ticks: all.length,
    // Each tick's wall time, in order; the first, the median and the slowest.
    tick_ms: all.map((t) => t.ms),
    first_tick_ms: all[0].ms,
    median_tick_ms: sorted[Math.floor(sorted.length / 2)],
    max_tick_ms: sorted.at(-1),
    rows_per_s: Math.round((NODES * USERS) / (sorted[Math.floor(sorted.length / 2)] / 1000)),
    // A roll-up folding BENCH_TICKS ticks (NODES × USERS usage cells): the hour's first, a later one.
    rollup_ms: first.rollup.ms,
    same_hour_rollup_ms: second.rollup.ms,
    rollup_floor_ms: floor.ms,
    // This process's CPU (on SQLite the database's too) and the machine's load: the wall times depend on both.
    median_tick_cpu_ms: median(all.map((t) => t.cpuMs)),
    rollup_cpu_ms: first.rollup.cpuMs,
    same_hour_rollup_cpu_ms: second.rollup.cpuMs,
    // The database server's CPU (BENCH_SERVER_PID), MariaDB only: SQLite's is in the figures above.
    ...(SERVER_PID && {
      median_tick_server_cpu_ms: median(all.map((t) => t.serverCpuMs)),
      rollup_server_cpu_ms: first.rollup.serverCpuMs,
      same_hour_rollup_server_cpu_ms: second.rollup.serverCpuMs,
      rollup_floor_server_cpu_ms: floor.serverCpuMs,
    }),
    loadavg_1m: [first.loadavg, second.loadavg, os.loadavg()[0]].map((l) => Number(l.toFixed(1))),
    billed_ok: Number(billed) === expectedBilled && Number(rolled) === expectedBilled && Number(pending) === 0,
  }));
} finally {
  await db.destroy();
  await drop();
}
