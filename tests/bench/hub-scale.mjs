// Benchmark (not a test): one hub process (`boxfleet hub`, jobs on) on MariaDB/MySQL
// (BOXFLEET_TEST_MYSQL_URL: a fresh database, dropped afterwards; SQLite in a temporary folder
// without it) driving BENCH_AGENTS real agent processes (`boxfleet agent`, TLS, real sysmetrics; the
// ledger and singbox-config are the test doubles, hub-scale-ledger.js writing traffic by itself),
// with BENCH_USERS users on one plan that reaches every node.
//
// Agents start in waves of BENCH_WAVE and are enrolled through the API. Once every node took its
// first users.sync, the jobs run for BENCH_SECONDS while the bench raises every node's desired
// revision every BENCH_CHANGE_S (as a plan change reaching the whole fleet does). Then GET
// /api/v1/nodes is timed for BENCH_LIST_SECONDS at BENCH_LIST_CONCURRENCY keep-alive clients, right
// after its floor: GET /api/v1/info (same auth, a body of a few bytes) the same way.
//
// Prints one JSON line: the hub's RSS (empty, after enrolling, at the end, peak) and CPU (% of one
// core over the window, from /proc/<pid>/stat), the agents' CPU and RSS summed the same way, each
// job's tick duration p50/p99/max and the hub's CPU while its ticks ran (the scheduler's debug line;
// other work meanwhile included, `overlapped` says how many ticks ran beside another), and the node
// list's latency beside its floor. Job intervals are shorter than the hub's defaults, so 5 minutes
// see ten ticks or more, and differ, so ticks seldom coincide (BOXFLEET_<JOB>_INTERVAL_S overrides
// them). The agents' memory is their proportional set size (shared pages counted once over all of
// them). Needs `npm run build`.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import knexFactory from 'knex';
import { parse, stringify } from 'yaml';
import { insertChunked } from './database.mjs';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 200);
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 300);
const WAVE = Number(process.env.BENCH_WAVE ?? 10);
const CHANGE_S = Number(process.env.BENCH_CHANGE_S ?? 60);
const LIST_SECONDS = Number(process.env.BENCH_LIST_SECONDS ?? 20);
const LIST_CONCURRENCY = Number(process.env.BENCH_LIST_CONCURRENCY ?? 16);
const INTERVALS = {
  BOXFLEET_TRAFFIC_INTERVAL_S: '30',
  BOXFLEET_QUOTA_INTERVAL_S: '60',
  BOXFLEET_RECONCILE_INTERVAL_S: '5',
  BOXFLEET_METRICS_INTERVAL_S: '60',
  BOXFLEET_LIVE_INTERVAL_S: '25',
  BOXFLEET_NODE_STATUS_INTERVAL_S: '20',
  BOXFLEET_ALERTS_INTERVAL_S: '35',
};
for (const name of Object.keys(INTERVALS)) INTERVALS[name] = process.env[name] ?? INTERVALS[name];

const CLI = path.resolve('dist/cli.js');
const FIXTURES = path.resolve('tests/fixtures/plugins');
const LEDGER = path.resolve('tests/bench/hub-scale-ledger.js');
const CLOCK_TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU in 1/100 s on Linux
const run = promisify(execFile);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const round = (n, digits = 1) => (n === null ? null : Number(n.toFixed(digits)));

/**
 * A loopback port below the ephemeral range: a port the OS hands out may be taken again meanwhile
 * by one of the hub's 200 outgoing connections, which draw from that range.
 */
let nextPort = Number(process.env.BENCH_PORT_BASE ?? 21000);
async function freePort() {
  for (;;) {
    const port = nextPort++;
    const server = net.createServer();
    const free = await new Promise((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
}

/** CPU seconds (user + system) and RSS (or PSS) in MB of a process, from /proc. */
async function usage(pid, memory = 'Rss') {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = Number(new RegExp(`^${memory}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
    return { cpu: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS, mb: kb / 1024 };
  } catch {
    return { cpu: 0, mb: 0 };
  }
}
const usages = async (pids) => {
  const all = await Promise.all(pids.map((pid) => usage(pid, 'Pss')));
  return { cpu: all.reduce((n, u) => n + u.cpu, 0), pss: all.reduce((n, u) => n + u.mb, 0) };
};

async function database() {
  const server = process.env.BOXFLEET_TEST_MYSQL_URL;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-scale-hub-'));
  if (!server) return { kind: 'sqlite', url: '', dataDir, drop: () => rm(dataDir, { recursive: true, force: true }) };
  const name = `boxfleet_scale_${randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'mysql2', connection: server });
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  return {
    kind: 'mariadb',
    url: `${server.replace(/\/$/, '')}/${name}`,
    dataDir,
    drop: async () => {
      await admin.raw(`DROP DATABASE \`${name}\``);
      await admin.destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** `boxfleet hub` with jobs on; collects the scheduler's `job tick` lines. */
async function startHub(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'hub'], {
    env: { ...process.env, ...env, BOXFLEET_PORT: String(port), BOXFLEET_HOST: '127.0.0.1', BOXFLEET_LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ticks = [];
  let tail = '';
  let pending = '';
  const onData = (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) {
      if (line.includes('"job tick"')) {
        const entry = JSON.parse(line);
        const end = Date.parse(entry.time);
        ticks.push({ job: entry.job, start: end - entry.duration_ms, end, ms: entry.duration_ms, cpuMs: entry.cpu_ms, error: entry.error });
      } else tail = (tail + line + '\n').slice(-4000);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`hub exited with ${child.exitCode}:\n${tail}`);
    const ok = await fetch(`${base}/api/v1/info`).then((r) => r.status === 401, () => false);
    if (ok) break;
    if (i > 300) throw new Error(`hub did not listen within 30 s:\n${tail}`);
    await sleep(100);
  }
  return {
    child,
    base,
    ticks,
    tail: () => tail,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `boxfleet agent init` then `boxfleet agent`; resolves with its enrollment string once it listens. */
async function startAgent(index) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-scale-agent-'));
  const nodeId = `node${String(index).padStart(3, '0')}`;
  const init = await run(process.execPath, [CLI, 'agent', 'init', '--dir', dir, '--node-id', nodeId, '--listen', `127.0.0.1:${await freePort()}`]);
  const enrollment = init.stdout.trim().split('\n').at(-1);
  const configFile = path.join(dir, 'agent.yaml');
  const config = parse(await readFile(configFile, 'utf8'));
  config.plugins = {
    'clash-stats': { module: LEDGER },
    'singbox-config': { module: path.join(FIXTURES, 'fake-singbox.js') },
    sysmetrics: { enabled: true },
  };
  config.reload_on_change = false;
  await writeFile(configFile, stringify(config));
  const child = spawn(process.execPath, [CLI, 'agent', '--config', configFile], {
    env: { ...process.env, BENCH_USERS: String(USERS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent ${nodeId} did not start within 60 s:\n${output}`)), 60_000);
    const onData = (chunk) => {
      output = (output + chunk).slice(-4000);
      if (output.includes('listening on')) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`agent ${nodeId} exited with ${code}:\n${output}`)));
  });
  child.stdout.resume();
  child.stderr.resume();
  return {
    child,
    enrollment,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `requests` GETs of `url` by `concurrency` clients for `seconds`: latencies in ms, rps, body bytes. */
async function load(url, headers, concurrency, seconds) {
  const latencies = [];
  let bytes = 0;
  let failures = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const res = await fetch(url, { headers });
        const body = await res.arrayBuffer();
        latencies.push(performance.now() - started);
        if (res.status !== 200) failures += 1;
        bytes = body.byteLength;
      }
    }),
  );
  return {
    requests: latencies.length,
    rps: Math.round(latencies.length / seconds),
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    bytes,
    failures,
  };
}

const db = await database();
let hub;
const agents = [];
let knex;
try {
  const env = { ...INTERVALS, BOXFLEET_DATA_DIR: db.dataDir, BOXFLEET_DATABASE_URL: db.url };
  const password = randomBytes(12).toString('base64url');
  await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'admin', 'create', '--username', 'bench', '--role', 'owner', '--password-stdin'], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    child.stdin.end(`${password}\n`);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`admin create exited with ${code}`))));
  });
  hub = await startHub(env);
  await sleep(2000);
  const rssEmpty = (await usage(hub.child.pid)).mb;
  const login = await fetch(`${hub.base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench', password }),
  });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
  const auth = { authorization: `Bearer ${(await login.json()).token}` };

  // The users, on one plan reaching every node, straight into the hub's database.
  knex = knexFactory(db.url ? { client: 'mysql2', connection: db.url } : { client: 'better-sqlite3', connection: { filename: path.join(db.dataDir, 'boxfleet.sqlite') }, useNullAsDefault: true });
  const now = Date.now();
  const [planId] = await knex('plans').insert({
    name: 'bench', traffic_limit_bytes: 10 ** 15, duration_days: 30, price: 0, is_enabled: true,
    node_tags: JSON.stringify(['bench']), reset_policy: 'none', created_at: now, updated_at: now,
  });
  await insertChunked(knex, 'users', Array.from({ length: USERS }, (_, i) => ({
    name: `user${i}`, note: '', status: 'active', uuid: '00000000-0000-4000-8000-000000000000', password: 'p'.repeat(24),
    ss_key: 'k'.repeat(44), sub_token: `t-user${i}-${randomBytes(6).toString('hex')}`, created_at: now, updated_at: now,
  })));
  const userIds = (await knex('users').select('id')).map((r) => Number(r.id));
  await insertChunked(knex, 'subscriptions', userIds.map((user_id) => ({
    user_id, plan_id: Number(planId), start_time: now, end_time: now + 30 * 86_400_000, traffic_used_bytes: 0,
    traffic_total_bytes: 10 ** 15, status: 'active', suspended_reason: null, last_reset_at: now, created_at: now, updated_at: now,
  })));

  const startedAt = performance.now();
  for (let first = 0; first < AGENTS; first += WAVE) {
    const started = await Promise.allSettled(Array.from({ length: Math.min(WAVE, AGENTS - first) }, (_, i) => startAgent(first + i)));
    const wave = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    agents.push(...wave);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    for (const agent of wave) {
      const res = await fetch(`${hub.base}/api/v1/nodes`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ enrollment: agent.enrollment, tags: ['bench'] }),
      });
      if (res.status !== 201) throw new Error(`enroll: ${res.status} ${await res.text()}`);
    }
  }
  const enrolledS = (performance.now() - startedAt) / 1000;
  // Warm-up: every node took its first users.sync.
  for (let i = 0; ; i++) {
    const [{ behind }] = await knex('nodes').whereRaw('applied_revision < desired_revision').count({ behind: '*' });
    if (Number(behind) === 0) break;
    if (i > 600) throw new Error(`${behind} nodes still behind after 10 minutes`);
    await sleep(1000);
  }
  const warmS = (performance.now() - startedAt) / 1000 - enrolledS;

  const agentPids = agents.map((a) => a.child.pid);
  const windowStart = Date.now();
  const hubBefore = await usage(hub.child.pid);
  const agentsBefore = await usages(agentPids);
  let rssPeak = hubBefore.mb;
  let changes = 0;
  let nextChange = windowStart + CHANGE_S * 1000;
  while (Date.now() < windowStart + SECONDS * 1000) {
    await sleep(1000);
    rssPeak = Math.max(rssPeak, (await usage(hub.child.pid)).mb);
    if (Date.now() >= nextChange) {
      await knex('nodes').increment('desired_revision', 1);
      changes += 1;
      nextChange += CHANGE_S * 1000;
    }
  }
  const windowEnd = Date.now();
  const hubAfter = await usage(hub.child.pid);
  const agentsAfter = await usages(agentPids);
  const windowS = (windowEnd - windowStart) / 1000;

  const inWindow = hub.ticks.filter((t) => t.start >= windowStart && t.end <= windowEnd);
  const jobs = {};
  for (const name of [...new Set(inWindow.map((t) => t.job))].sort()) {
    const mine = inWindow.filter((t) => t.job === name);
    const ms = mine.map((t) => t.ms);
    const cpu = mine.map((t) => t.cpuMs);
    jobs[name] = {
      ticks: mine.length,
      p50_ms: percentile(ms, 50),
      p99_ms: percentile(ms, 99),
      max_ms: Math.max(...ms),
      cpu_ms_p50: percentile(cpu, 50),
      cpu_ms_p99: percentile(cpu, 99),
      cpu_ms_total: cpu.reduce((a, b) => a + b, 0),
      overlapped: mine.filter((t) => inWindow.some((o) => o !== t && o.start < t.end && t.start < o.end)).length,
      errors: mine.filter((t) => t.error).length,
      ...(mine.some((t) => t.error) ? { error_sample: mine.find((t) => t.error).error.slice(0, 300) } : {}),
    };
  }

  const floor = await load(`${hub.base}/api/v1/info`, auth, LIST_CONCURRENCY, LIST_SECONDS);
  const list = await load(`${hub.base}/api/v1/nodes`, auth, LIST_CONCURRENCY, LIST_SECONDS);
  const [{ online }] = await knex('nodes').where({ health: 'online' }).count({ online: '*' });

  console.log(JSON.stringify({
    bench: 'hub-scale',
    database: db.kind,
    agents: AGENTS,
    online: Number(online),
    users: USERS,
    seconds: round(windowS, 0),
    intervals_s: Object.fromEntries(Object.entries(INTERVALS).map(([k, v]) => [k.slice('BOXFLEET_'.length, -'_INTERVAL_S'.length).toLowerCase(), Number(v)])),
    revision_changes: changes,
    enroll_s: round(enrolledS),
    first_sync_s: round(warmS),
    hub: {
      rss_mb_empty: round(rssEmpty),
      rss_mb_start: round(hubBefore.mb),
      rss_mb_end: round(hubAfter.mb),
      rss_mb_peak: round(rssPeak),
      cpu_percent: round(((hubAfter.cpu - hubBefore.cpu) / windowS) * 100),
    },
    agents_total: {
      cpu_percent: round(((agentsAfter.cpu - agentsBefore.cpu) / windowS) * 100),
      pss_mb: round(agentsAfter.pss, 0),
      pss_mb_each: round(agentsAfter.pss / AGENTS),
    },
    cpus: os.cpus().length,
    jobs,
    node_list: { concurrency: LIST_CONCURRENCY, seconds: LIST_SECONDS, ...list },
    node_list_floor: { route: '/api/v1/info', ...floor },
  }));
} catch (error) {
  if (hub) console.error(hub.tail());
  throw error;
} finally {
  await knex?.destroy();
  await hub?.stop();
  for (let i = 0; i < agents.length; i += 20) await Promise.all(agents.slice(i, i + 20).map((a) => a.stop()));
  await db.drop();
}
