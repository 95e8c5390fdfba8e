// Two hub processes behind one (imagined) load balancer, on one MariaDB database and one Redis, as an
// operator who outgrew one hub runs them: whichever hub a request lands on, a subscription token's
// and a client address's limits, and a username's sign-in back-off, count once for both; a change
// made through one hub shows in /sub from the other on the very next request; a browser's WebSocket
// on either hub streams a node and is closed at once when its session ends on the other. While the
// Redis is down both hubs keep answering, each limiting on its own, and share again once it is back.
// Needs MariaDB (BOXFLEET_TEST_MYSQL_URL) and Debian's redis-server; .ci/run provides both.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { CLI, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { createTestDatabase } from '../support/hub.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { until } from '../support/until.js';

const exec = promisify(execFile);
const NODE = 'shared-node';

interface HubProcess {
  name: string;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

async function startHub(name: string, dataDir: string, env: Record<string, string>): Promise<HubProcess> {
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [CLI, 'hub', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], {
    env: { PATH: process.env.PATH, BOXFLEET_LOG_LEVEL: 'info', BOXFLEET_JOBS_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub ${name} not listening within 30 s:\n${output}`)), 30_000);
    child.stdout!.on('data', () => {
      const listening = /^boxfleet hub listening on (\S+)/m.exec(output);
      if (listening) (clearTimeout(timer), resolve(listening[1]!));
    });
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`hub ${name} exited with ${code}:\n${output}`))));
  });
  return {
    name,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A request to `hub` from client address `ip` (the hubs trust loopback's X-Forwarded-For). */
async function call(hub: HubProcess, method: string, url: string, options: { body?: object; token?: string; ip?: string } = {}) {
  const res = await fetch(`${hub.url}${url}`, {
    method,
    headers: {
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      'x-forwarded-for': options.ip ?? '10.0.0.1',
    },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined, text };
}

/** `n` requests of `send`, one after the other; their status codes. */
async function statuses(n: number, send: (i: number) => Promise<{ status: number }>): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < n; i++) codes.push((await send(i)).status);
  return codes;
}

/** A figure from a hub's /metrics, or undefined when it has none. */
async function figure(hub: HubProcess, series: string): Promise<number | undefined> {
  const { text } = await call(hub, 'GET', '/metrics');
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A browser's WebSocket: the messages it got, and how it was closed. */
class Browser {
  readonly messages: { type: string; [key: string]: unknown }[] = [];
  closed?: { code: number; reason: string };
  private readonly socket: WebSocket;

  constructor(hub: HubProcess, token: string) {
    this.socket = new WebSocket(`${hub.url.replace(/^http/, 'ws')}/api/v1/ws?token=${token}`);
    this.socket.on('message', (data) => this.messages.push(JSON.parse(String(data))));
    this.socket.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }

  subscribe(node: string): void {
    this.socket.send(JSON.stringify({ subscribe: [node] }));
  }

  received(type: string) {
    return until(`a ${type} message`, () => this.messages.find((m) => m.type === type), 10_000);
  }

  close(): void {
    this.socket.close();
  }
}

describe('two hubs on one MariaDB and one Redis', () => {
  let redis: TestRedis;
  let database: { url: string; drop(): Promise<void> };
  let tmp: string;
  let a: HubProcess;
  let b: HubProcess;
  let agent: AgentProcess;
  let owner: string;

  const signIn = async (hub: HubProcess, username: string, password: string, ip = '10.0.9.9') => {
    const res = await call(hub, 'POST', '/api/v1/auth/login', { body: { username, password }, ip });
    expect(res.status, res.text).toBe(200);
    return res.json.token as string;
  };
  const newAdmin = async (username: string, role = 'viewer') => {
    const password = `${username} password`;
    const res = await call(a, 'POST', '/api/v1/admins', { body: { username, password, role }, token: owner });
    expect(res.status, res.text).toBe(201);
    return password;
  };
  const newUser = async (name: string) => {
    const user = await call(a, 'POST', '/api/v1/users', { body: { name }, token: owner });
    expect(user.status, user.text).toBe(201);
    const creds = await call(a, 'GET', `/api/v1/users/${user.json.id}/credentials`, { token: owner });
    return { id: user.json.id as number, token: creds.json.sub_token as string };
  };

  beforeAll(async () => {
    redis = await startRedis();
    database = await createTestDatabase('mariadb');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-hubs-'));
    const env = { BOXFLEET_DATABASE_URL: database.url, BOXFLEET_REDIS_URL: redis.url, BOXFLEET_TRUST_PROXY: '127.0.0.1' };
    // One after the other: the first creates the tables.
    a = await startHub('A', path.join(tmp, 'a'), env);
    b = await startHub('B', path.join(tmp, 'b'), env);
    const { stdout } = await exec(process.execPath, [CLI, 'admin', 'create', '--username', 'root', '--database-url', database.url, '--data-dir', path.join(tmp, 'a')], {
      env: { PATH: process.env.PATH },
    });
    owner = await signIn(a, 'root', /with password (\S+)$/m.exec(stdout)![1]!);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), agent?.stop()]);
    await redis?.close();
    await database?.drop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('say they share the Redis, and show it connected', async () => {
    for (const hub of [a, b]) {
      expect(hub.output()).toContain('redis connected: rate limits and sign-in back-off are shared with the other hubs');
      expect(await figure(hub, 'boxfleet_hub_redis_up')).toBe(1);
    }
  });

  it("limit a subscription token to 60 requests a minute in all, however they are spread over the hubs", async () => {
    const { token } = await newUser('spread');
    const info = (hub: HubProcess) => call(hub, 'GET', `/sub/${token}/info`, { ip: '10.0.1.1' });
    expect(await statuses(40, () => info(a))).toEqual(Array(40).fill(200));
    expect(await statuses(20, () => info(b))).toEqual(Array(20).fill(200));
    for (const hub of [a, b]) {
      const refused = await info(hub);
      expect(refused.status, hub.name).toBe(429);
      expect(refused.json).toMatchObject({ code: 'HUB_ERR_RATE_LIMITED' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Another token is not affected.
    expect((await call(b, 'GET', `/sub/${(await newUser('other')).token}/info`, { ip: '10.0.1.1' })).status).toBe(200);
  });

  it('limit sign-in attempts per client address across the hubs', async () => {
    const attempt = (hub: HubProcess, i: number) => call(hub, 'POST', '/api/v1/auth/login', { body: { username: `nobody-${i}`, password: 'guess' }, ip: '10.0.2.1' });
    // login_attempts_per_minute is 10: 6 on A and 4 on B use it up.
    expect(await statuses(6, (i) => attempt(a, i))).toEqual(Array(6).fill(401));
    expect(await statuses(4, (i) => attempt(b, 6 + i))).toEqual(Array(4).fill(401));
    const refused = await attempt(a, 10);
    expect(refused.status).toBe(429);
    expect(refused.json.message).toMatch(/^too many sign-in attempts; try again in \d+ s$/);
  });

  it("back off a username's sign-ins after 5 failures in all, whichever hub and address they came through", async () => {
    const password = await newAdmin('carol');
    const wrong = (hub: HubProcess, i: number) => call(hub, 'POST', '/api/v1/auth/login', { body: { username: 'carol', password: 'wrong' }, ip: `10.0.3.${i}` });
    expect(await statuses(5, (i) => wrong(i % 2 ? b : a, i))).toEqual(Array(5).fill(401));
    for (const hub of [a, b]) {
      const refused = await call(hub, 'POST', '/api/v1/auth/login', { body: { username: 'carol', password }, ip: '10.0.3.99' });
      expect(refused.status, hub.name).toBe(429);
      expect(refused.json.message).toMatch(/^too many failed sign-ins for this username; try again in (2\d|30) s$/);
    }
  });

  it('keep no subscription token or username in Redis, only digests under their own prefixes', async () => {
    const { token } = await newUser('secretive');
    expect((await call(a, 'GET', `/sub/${token}/info`, { ip: '10.0.6.1' })).status).toBe(200);
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      expect(keys.filter((k) => k.startsWith('boxfleet:rate-limit:POST:/api/v1/auth/login:')).length).toBeGreaterThan(0);
      expect(keys.filter((k) => k.startsWith('boxfleet:login:lock:')).length).toBe(1);
      expect(keys.filter((k) => !/^boxfleet:(rate-limit:(POST:\/api\/v1\/auth\/login:)?|login:(failures|lock):)[A-Za-z0-9_-]{43}$/.test(k))).toEqual([]);
      expect(keys.join(' ')).not.toContain(token);
      expect(keys.join(' ')).not.toContain('carol');
    } finally {
      client.disconnect();
    }
  });

  it('show a change made through hub A in /sub from hub B on the very next request', async () => {
    const user = await newUser('changing');
    const profile = (token: string) => call(b, 'GET', `/sub/${token}?format=links`, { ip: '10.0.4.1' });
    /** The profile's title as a client shows it (sent as `base64:…` when it is not plain ASCII). */
    const title = async (token: string) => {
      const header = (await profile(token)).headers.get('profile-title') ?? '';
      return header.startsWith('base64:') ? Buffer.from(header.slice('base64:'.length), 'base64').toString() : header;
    };
    const info = (token: string) => call(b, 'GET', `/sub/${token}/info`, { ip: '10.0.4.1' });
    // B has served this user's profile (twice, as a cache would keep it) before each change.
    for (let i = 0; i < 2; i++) expect(await title(user.token)).toBe('boxfleet · changing (no active plan)');
    expect((await info(user.token)).json.status).toBe('no_plan');

    expect((await call(a, 'PATCH', `/api/v1/users/${user.id}`, { body: { status: 'disabled' }, token: owner })).status).toBe(200);
    expect(await title(user.token)).toBe('boxfleet · changing (account disabled)');
    expect((await info(user.token)).json.status).toBe('disabled');

    expect((await call(a, 'PATCH', `/api/v1/users/${user.id}`, { body: { status: 'active' }, token: owner })).status).toBe(200);
    expect(await title(user.token)).toBe('boxfleet · changing (no active plan)');
    const rotated = await call(a, 'POST', `/api/v1/users/${user.id}/token/rotate`, { token: owner });
    expect(rotated.status).toBe(200);
    expect((await profile(user.token)).status).toBe(404);
    expect((await profile(rotated.json.sub_token)).status).toBe(200);
  });

  it("stream a node enrolled through hub A to a browser on hub B, and close B's socket at once when the session ends on A", async () => {
    agent = await startAgentProcess({
      nodeId: NODE,
      configure: (config) => {
        config.reload_on_change = false;
        config.plugins.sysmetrics = { enabled: true, cpu_memory_interval_s: 1, disk_network_interval_s: 1 };
      },
    });
    const enrolled = await call(a, 'POST', '/api/v1/nodes', { body: { enrollment: agent.enrollment }, token: owner });
    expect(enrolled.status, enrolled.text).toBe(201);

    const password = await newAdmin('watcher');
    const session = await signIn(a, 'watcher', password);
    const browser = new Browser(b, session);
    await browser.received('ready');
    browser.subscribe(NODE);
    expect(await browser.received('subscribed')).toMatchObject({ nodes: [NODE] });
    expect(await browser.received('sample')).toMatchObject({ node: NODE });

    const endedAt = Date.now();
    expect((await call(a, 'POST', '/api/v1/auth/logout', { token: session })).status).toBe(204);
    await until('the socket on hub B closed', () => browser.closed, 5000);
    // Told through Redis, not found by B's 30-second session check.
    expect(Date.now() - endedAt).toBeLessThan(2000);
    expect(browser.closed).toEqual({ code: 4401, reason: 'session ended' });
  });

  it('keep answering while the Redis is down, each hub limiting on its own, and share the counts again once it is back', async () => {
    await redis.stop();
    await until('both hubs to see Redis gone', async () => (await figure(a, 'boxfleet_hub_redis_up')) === 0 && (await figure(b, 'boxfleet_hub_redis_up')) === 0, 10_000);
    const apart = await newUser('apart');
    const info = (hub: HubProcess, token: string) => call(hub, 'GET', `/sub/${token}/info`, { ip: '10.0.5.1' });
    expect(await statuses(61, () => info(a, apart.token))).toEqual([...Array(60).fill(200), 429]);
    expect((await info(b, apart.token)).status).toBe(200);
    // Sign-in goes on too, its back-off counted by B alone.
    expect((await call(b, 'POST', '/api/v1/auth/login', { body: { username: 'root', password: 'wrong' }, ip: '10.0.5.2' })).status).toBe(401);
    expect(await figure(a, 'boxfleet_hub_redis_fallbacks_total{what="rate-limit"}')).toBeGreaterThanOrEqual(61);
    expect(await figure(b, 'boxfleet_hub_redis_fallbacks_total{what="login-throttle"}')).toBeGreaterThan(0);
    for (const hub of [a, b]) expect(hub.output()).toContain('redis unreachable: rate limits and sign-in back-off count per hub until it is back');

    await redis.start();
    await until('both hubs back on Redis', async () => (await figure(a, 'boxfleet_hub_redis_up')) === 1 && (await figure(b, 'boxfleet_hub_redis_up')) === 1, 15_000);
    const together = await newUser('together');
    expect(await statuses(30, () => info(a, together.token))).toEqual(Array(30).fill(200));
    expect(await statuses(31, () => info(b, together.token))).toEqual([...Array(30).fill(200), 429]);
    for (const hub of [a, b]) expect(hub.output()).toContain('redis reachable again: counts are shared across hubs once more');
  });
});
