// Benchmark (not a test): GET /api/v1/nodes (the node table: stored state, sorted) with
// BENCH_NODES (200) nodes seeded as the jobs leave them — each with sing-box status, three
// CPU/memory samples, traffic today in both usage tables — and BENCH_USERS (1,000) users on ten
// plans, in-process (app.inject) on SQLite, or on MariaDB/MySQL in a fresh database when
// BOXFLEET_TEST_MYSQL_URL names a server. Prints one JSON line: the list's median and p90 ms over
// BENCH_ROUNDS (200) requests after 20 not counted, and in the same run the floors: a
// `SELECT COUNT(*) FROM nodes` through the hub's own knex, and GET /api/v1/info (a signed-in
// request that reads nothing), each as a median over as many rounds.
// Run: npm run bench:node-list
import { performance } from 'node:perf_hooks';
import { startTestHub } from '../support/hub.js';
import { seedPlan, seedUser } from '../integration/jobs.suite.js';
import { seedTableNode } from '../integration/node-table.seed.js';

const NODES = Number(process.env.BENCH_NODES ?? 200);
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const HOUR = 3_600_000;

const kind = process.env.BOXFLEET_TEST_MYSQL_URL ? 'mariadb' : 'sqlite';
const now = Date.now();
const hub = await startTestHub(kind, { clock: () => now });
try {
  const { db } = hub.app;
  const plans: number[] = [];
  for (let p = 0; p < 10; p++) plans.push(await seedPlan(db, `plan${p}`, { tags: [`tag${p}`] }));
  const users: number[] = [];
  for (let u = 0; u < USERS; u++) users.push((await seedUser(db, `user${u}`, { planId: plans[u % 10]!, now })).userId);
  const hour = Math.floor(now / HOUR) * HOUR;
  for (let i = 0; i < NODES; i++) {
    await seedTableNode(db, {
      id: `node${i}`,
      tags: [`tag${i % 10}`],
      health: i % 20 === 0 ? 'offline' : 'online',
      healthSince: now - HOUR,
      lastSeenAt: now - (i % 60) * 1000,
      singbox: { running: i % 30 !== 0, version: '1.11.4', usersServed: USERS / 10, at: now - 20_000 },
      samples: [0, 1, 2].map((k) => ({ time: now - (3 - k) * 60_000, cpu: (i * 7 + k) % 100, memoryUsed: (i % 8) * 2 ** 29, memoryTotal: 2 ** 32 })),
      usage: [{ hour, userId: users[i % users.length]!, hourly: [i * 1000, i * 2000], pending: [i, i] }],
      ...(i % 50 === 7 ? { driftSince: now - HOUR } : {}),
    });
  }
  const headers = await hub.as('viewer');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  const time = async (fn: () => Promise<unknown>) => {
    for (let i = 0; i < 20; i++) await fn();
    const ms: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      await fn();
      ms.push(performance.now() - started);
    }
    return ms;
  };
  const inject = (url: string) => async () => {
    const res = await hub.app.inject({ method: 'GET', url, headers });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    return res;
  };
  const listed = (await inject('/api/v1/nodes?sort=-traffic_today')()).json().nodes.length;
  const list = await time(inject('/api/v1/nodes?sort=-traffic_today'));
  const count = await time(() => db.raw('SELECT COUNT(*) AS n FROM nodes'));
  const info = await time(inject('/api/v1/info'));
  console.log(
    JSON.stringify({
      bench: 'node-list',
      database: kind,
      nodes: listed,
      users: USERS,
      rounds: ROUNDS,
      median_ms: round(median(list)),
      p90_ms: round(p90(list)),
      floor_count_median_ms: round(median(count)),
      floor_info_median_ms: round(median(info)),
    }),
  );
} finally {
  await hub.close();
}
