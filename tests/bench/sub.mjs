// Benchmark (not a test): GET /sub/:token on the built hub (`node dist/cli.js hub`, jobs off; on
// SQLite, or on MariaDB/MySQL in a fresh database when BOXFLEET_TEST_MYSQL_URL names a server) for
// users whose plan reaches 50 nodes × 3 inbounds (VLESS+TLS, SS-2022, Hysteria2), each format with
// BENCH_CONCURRENCY (32) keep-alive workers on loopback. Prints one JSON line per format:
//   cold_*  the first request of each of the format's users (nothing of theirs rendered yet);
//   rps, p50_ms, p99_ms, max_ms  then, after 3 s not counted, BENCH_SECONDS (10) of requests
//           spread over the same users;
//   floor_* the same response (status, headers, body bytes) from a plain Fastify route in a process
//           of its own, asked by the same client code, concurrency and duration, in the same run;
//   *cpu_us_per_request  the serving process's CPU time per answer (Linux /proc), steadier than
//           requests per second when other work shares the machine.
//
// The route is rate-limited per token (60/min) and per client IP (600/min), and the limiter runs
// on every request here too. To measure the route rather than 429s, each format gets its own
// 5,000 users on the same plan (the same 150 entries each, different credentials) and its own 1,000
// loopback source addresses (127.<format>.<0-3>.1-250), used in turn: at 20,000 answers a second
// that is under 60 a minute per token and 600 per address. Any answer but 200 is counted in
// `non_200` and left out of `rps` (a 429 costs far less than a profile).
//
// BENCH_FORMATS (comma-separated) picks formats; BENCH_HUB_NODE_ARGS passes node flags to the hub
// (`--cpu-prof --cpu-prof-dir=<dir>` for a profile of the run).
//
// `node tests/bench/sub.mjs --floor <dir>` is the floor's process: it serves <dir>/body with the
// headers in <dir>/headers.json at GET /floor and prints its port.
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import knexFactory from 'knex';
import selfsigned from 'selfsigned';

const CLI = path.resolve('dist/cli.js');
const NODES = 50;
const USERS_PER_FORMAT = 5000;
const IPS_PER_FORMAT = 1000;
// Room for one format's working set (5,000 bodies of up to 119 KB): with the default 256 MiB the
// warm pass would cycle through more users than fit and time the cold path again, which cold_*
// already measures. BENCH_SUB_CACHE_MB=256 shows that case.
const CACHE_MB = Number(process.env.BENCH_SUB_CACHE_MB ?? 1024);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 3;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const FORMATS = (process.env.BENCH_FORMATS ?? 'singbox,clash,base64,links').split(',');
/** Node flags for the hub's process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes. */
const HUB_NODE_ARGS = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
const run = promisify(execFile);

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One request; resolves with status, body size and milliseconds. */
function get(agent, port, url, localAddress) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path: url, agent, localAddress }, (res) => {
      let size = 0;
      res.on('data', (chunk) => (size += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode, size, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** CPU milliseconds a process has used so far (Linux /proc; utime + stime at 100 ticks per second). */
async function cpuMs(pid) {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const pct = (sorted, p) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 100) / 100;

/**
 * CONCURRENCY keep-alive workers asking `next()` (path, source address) until `count` requests
 * were sent or `seconds` passed; latencies and status counts of what they got.
 */
async function measure(port, next, { count = Infinity, seconds = Infinity, pid }) {
  const cpuBefore = await cpuMs(pid);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
  const latencies = [];
  let non200 = 0;
  let size = 0;
  let sent = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < count && performance.now() < deadline) {
          sent++;
          const r = await get(agent, port, ...next());
          latencies.push(r.ms);
          if (r.status !== 200) non200++;
          else size = r.size;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    seconds: Math.round(elapsed * 10) / 10, requests: latencies.length, rps: Math.round((latencies.length - non200) / elapsed),
    p50_ms: pct(latencies, 50), p99_ms: pct(latencies, 99), max_ms: pct(latencies, 100), size, non_200: non200,
    // The server's CPU per answer: on a busy machine a steadier figure than requests per second.
    cpu_us_per_request: Math.round(((await cpuMs(pid)) - cpuBefore) * 1000 / latencies.length),
  };
}

/** The floor's process (this file with --floor), serving `body` with `headers`. */
async function startFloor(body, headers) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-bench-floor-'));
  await writeFile(path.join(dir, 'body'), body);
  await writeFile(path.join(dir, 'headers.json'), JSON.stringify(headers));
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--floor', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (c) => resolve(Number(String(c).trim())));
    child.once('exit', (code) => reject(new Error(`floor exited with ${code}`)));
  });
  return {
    port,
    pid: child.pid,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function serveFloor(dir) {
  const body = await readFile(path.join(dir, 'body'));
  const headers = JSON.parse(await readFile(path.join(dir, 'headers.json'), 'utf8'));
  const app = Fastify({ logger: false });
  app.get('/floor', (request, reply) => reply.headers(headers).send(body));
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
  console.log(app.server.address().port);
}

async function withKnex(config, use) {
  const k = knexFactory(config);
  try {
    return await use(k);
  } finally {
    await k.destroy();
  }
}

async function json(port, method, url, token, body) {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${text}`);
  return JSON.parse(text);
}

if (process.argv[2] === '--floor') {
  await serveFloor(process.argv[3]);
} else {
  await main();
}

async function main() {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-bench-sub-'));
  // SQLite in the data dir, or a fresh database on the MariaDB/MySQL server BOXFLEET_TEST_MYSQL_URL names.
  const server = process.env.BOXFLEET_TEST_MYSQL_URL?.replace(/\/$/, '');
  const database = `boxfleet_bench_sub_${randomBytes(4).toString('hex')}`;
  if (server) await withKnex({ client: 'mysql2', connection: server }, (k) => k.raw(`CREATE DATABASE \`${database}\``));
  const databaseUrl = server ? `${server}/${database}` : '';
  const env = { ...process.env, BOXFLEET_DATA_DIR: dataDir, BOXFLEET_DATABASE_URL: databaseUrl, BOXFLEET_JOBS_ENABLED: 'false', BOXFLEET_LOG_LEVEL: 'error', BOXFLEET_SUB_CACHE_MB: String(CACHE_MB) };
  let hub;
  try {
    const password = randomBytes(12).toString('base64url');
    const create = run(process.execPath, [CLI, 'admin', 'create', '--username', 'bench', '--password-stdin'], { env });
    create.child.stdin.end(`${password}\n`);
    await create;

    const port = await freePort();
    hub = spawn(process.execPath, [...HUB_NODE_ARGS, CLI, 'hub', '--host', '127.0.0.1', '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    hub.stdout.on('data', (c) => (output += c));
    hub.stderr.on('data', (c) => (output += c));
    for (let i = 0; ; i++) {
      if (hub.exitCode !== null) throw new Error(`hub exited: ${output}`);
      if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) break;
      if (i > 200) throw new Error(`hub did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const { token: jwt } = await json(port, 'POST', '/api/v1/auth/login', undefined, { username: 'bench', password });

    // 50 base configs (one per node), 3 user inbounds each, self-signed TLS inline.
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'node.bench.test' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
    const tls = { enabled: true, server_name: 'node.bench.test', certificate: pems.cert, key: pems.private };
    const versions = [];
    for (let i = 0; i < NODES; i++) {
      const config = {
        log: { level: 'warn' },
        inbounds: [
          { type: 'vless', tag: 'vless-in', listen: '::', listen_port: 20000 + i, tls },
          { type: 'shadowsocks', tag: 'ss-in', listen: '::', listen_port: 21000 + i, method: '2022-blake3-aes-128-gcm', password: randomBytes(16).toString('base64') },
          { type: 'hysteria2', tag: 'hy2-in', listen: '::', listen_port: 22000 + i, obfs: { type: 'salamander', password: randomBytes(9).toString('base64url') }, tls },
        ],
        outbounds: [{ type: 'direct', tag: 'direct' }],
      };
      versions.push((await json(port, 'POST', '/api/v1/configs', jwt, { config, comment: `node ${i}` })).id);
    }
    const plan = await json(port, 'POST', '/api/v1/plans', jwt, {
      name: 'bench', traffic_limit_bytes: 10 ** 12, duration_days: 30, price: 1, is_enabled: true, node_tags: ['bench'], reset_policy: 'none',
    });

    // Nodes, users and subscriptions straight into the hub's database (WAL: the hub keeps running).
    const db = knexFactory(
      server ? { client: 'mysql2', connection: databaseUrl } : { client: 'better-sqlite3', connection: { filename: path.join(dataDir, 'boxfleet.sqlite') }, useNullAsDefault: true },
    );
    const now = Date.now();
    await db('nodes').insert(Array.from({ length: NODES }, (_, i) => ({
      id: `node-${i}`, name: `Node ${String(i).padStart(2, '0')}`, address: `198.51.100.${i + 1}:50051`, insecure: true, token: 'x'.repeat(32),
      tags: JSON.stringify(['bench', i % 2 ? 'hk' : 'us']), multiplier: i % 5 === 0 ? 2 : 1, enabled: true, health: 'online',
      applied_config_version: versions[i], desired_config_version: versions[i], created_at: now, updated_at: now,
    })));
    const tokens = Object.fromEntries(FORMATS.map((f) => [f, []]));
    for (const [f, format] of FORMATS.entries()) {
      const users = Array.from({ length: USERS_PER_FORMAT }, (_, i) => ({
        name: `bench-${format}-${i}`, note: '', status: 'active', uuid: randomUUID(), password: randomBytes(18).toString('base64url'),
        ss_key: randomBytes(32).toString('base64'), sub_token: randomBytes(32).toString('base64url'), created_at: now, updated_at: now,
      }));
      for (let i = 0; i < users.length; i += 200) await db('users').insert(users.slice(i, i + 200));
      const ids = await db('users').whereIn('name', users.map((u) => u.name)).select('id', 'sub_token');
      const subs = ids.map(({ id }) => ({
        user_id: id, plan_id: plan.id, start_time: now, end_time: now + 30 * 86_400_000, traffic_used_bytes: 12345, traffic_total_bytes: 10 ** 12,
        status: 'active', suspended_reason: null, last_reset_at: now, created_at: now, updated_at: now,
      }));
      for (let i = 0; i < subs.length; i += 200) await db('subscriptions').insert(subs.slice(i, i + 200));
      tokens[format] = ids.map((r) => r.sub_token);
      void f;
    }
    await db.destroy();

      for (const [f, format] of FORMATS.entries()) {
      const ips = Array.from({ length: IPS_PER_FORMAT }, (_, i) => `127.${f + 1}.${Math.floor(i / 250)}.${(i % 250) + 1}`);
      let n = 0;
      const hubRequest = () => {
        const i = n++;
        return [`/sub/${tokens[format][i % USERS_PER_FORMAT]}?format=${format}`, ips[i % IPS_PER_FORMAT]];
      };

      // Cold: the first request of every user (nothing of theirs rendered yet), all of them once.
      const cold = await measure(port, hubRequest, { count: USERS_PER_FORMAT, pid: hub.pid });
      // Not counted: the first seconds after the cold pass (the garbage it left is collected then).
      await measure(port, hubRequest, { seconds: WARMUP_SECONDS, pid: hub.pid });
      const warm = await measure(port, hubRequest, { seconds: SECONDS, pid: hub.pid });

      // The floor: the same response (status, headers, body bytes) from a plain Fastify route in a
      // process of its own, asked by the same client code with the same concurrency.
      const sample = await fetch(`http://127.0.0.1:${port}/sub/${tokens[format][0]}?format=${format}`);
      const headers = Object.fromEntries([...sample.headers].filter(([k]) => !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k)));
      const floor = await startFloor(Buffer.from(await sample.arrayBuffer()), headers);
      let fn = 0;
      const floorRequest = () => ['/floor', ips[fn++ % IPS_PER_FORMAT]];
      let floorRun;
      try {
        await measure(floor.port, floorRequest, { count: 200, pid: floor.pid });
        floorRun = await measure(floor.port, floorRequest, { seconds: SECONDS, pid: floor.pid });
      } finally {
        await floor.stop();
      }

      console.log(JSON.stringify({
        bench: 'sub', database: server ? 'mysql' : 'sqlite', format, nodes: NODES, inbounds_per_node: 3, entries: NODES * 3, concurrency: CONCURRENCY, users: USERS_PER_FORMAT,
        seconds: warm.seconds, requests: warm.requests, rps: warm.rps, p50_ms: warm.p50_ms, p99_ms: warm.p99_ms, max_ms: warm.max_ms,
        cpu_us_per_request: warm.cpu_us_per_request, response_bytes: warm.size, non_200: warm.non_200 + cold.non_200,
        cold_requests: cold.requests, cold_rps: cold.rps, cold_p50_ms: cold.p50_ms, cold_p99_ms: cold.p99_ms, cold_max_ms: cold.max_ms,
        cold_cpu_us_per_request: cold.cpu_us_per_request,
        floor_rps: floorRun.rps, floor_p50_ms: floorRun.p50_ms, floor_p99_ms: floorRun.p99_ms, floor_max_ms: floorRun.max_ms,
        floor_cpu_us_per_request: floorRun.cpu_us_per_request,
        rps_vs_floor: Math.round((warm.rps / floorRun.rps) * 100) / 100,
      }));
    }
  } finally {
    if (hub && hub.exitCode === null) {
      const exited = new Promise((resolve) => hub.once('exit', resolve));
      hub.kill('SIGTERM');
      await exited;
    }
    if (server) await withKnex({ client: 'mysql2', connection: server }, (k) => k.raw(`DROP DATABASE IF EXISTS \`${database}\``));
    await rm(dataDir, { recursive: true, force: true });
  }
}
