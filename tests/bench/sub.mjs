// Benchmark (not a test): GET /sub/:token on the built hub (`node dist/cli.js hub`, SQLite, jobs
// off) for a user whose plan reaches 50 nodes × 3 inbounds (VLESS+TLS, SS-2022, Hysteria2), each
// format for BENCH_SECONDS (10) with BENCH_CONCURRENCY (32) keep-alive workers on loopback. Prints
// one JSON line per format: requests/s and latency percentiles.
//
// The route is rate-limited per token (60/min) and per client IP (600/min), and the limiter runs
// on every request here too. To measure the renderer rather than 429s, each format gets its own
// 1000 users on the same plan (the same 150 entries each) and its own 250 loopback source
// addresses (127.<format>.0.1-250), used in turn. Any answer but 200 is counted in `non_200`.
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import knexFactory from 'knex';
import selfsigned from 'selfsigned';

const CLI = path.resolve('dist/cli.js');
const NODES = 50;
const USERS_PER_FORMAT = 1000;
const IPS_PER_FORMAT = 250;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const FORMATS = ['singbox', 'clash', 'base64', 'links'];
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

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-bench-sub-'));
const env = { ...process.env, BOXFLEET_DATA_DIR: dataDir, BOXFLEET_JOBS_ENABLED: 'false', BOXFLEET_LOG_LEVEL: 'error' };
let hub;
try {
  const password = randomBytes(12).toString('base64url');
  const create = run(process.execPath, [CLI, 'admin', 'create', '--username', 'bench', '--password-stdin'], { env });
  create.child.stdin.end(`${password}\n`);
  await create;

  const port = await freePort();
  hub = spawn(process.execPath, [CLI, 'hub', '--host', '127.0.0.1', '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const db = knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(dataDir, 'boxfleet.sqlite') }, useNullAsDefault: true });
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
    const ips = Array.from({ length: IPS_PER_FORMAT }, (_, i) => `127.${f + 1}.0.${i + 1}`);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
    let n = 0;
    const next = () => {
      const i = n++;
      return [`/sub/${tokens[format][i % USERS_PER_FORMAT]}?format=${format}`, ips[i % IPS_PER_FORMAT]];
    };
    // Warm-up (connections, config cache, JIT), not counted.
    for (let i = 0; i < 200; i++) await get(agent, port, ...next());

    const latencies = [];
    let non200 = 0;
    let size = 0;
    const deadline = performance.now() + SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const r = await get(agent, port, ...next());
          latencies.push(r.ms);
          if (r.status !== 200) non200++;
          else size = r.size;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const pct = (p) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] * 100) / 100;
    console.log(JSON.stringify({
      bench: 'sub', format, nodes: NODES, inbounds_per_node: 3, entries: NODES * 3, concurrency: CONCURRENCY, seconds: Math.round(elapsed * 10) / 10,
      requests: latencies.length, rps: Math.round(latencies.length / elapsed), p50_ms: pct(50), p99_ms: pct(99), max_ms: pct(100),
      response_bytes: size, non_200: non200,
    }));
  }
} finally {
  if (hub && hub.exitCode === null) {
    const exited = new Promise((resolve) => hub.once('exit', resolve));
    hub.kill('SIGTERM');
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true });
}
