// Live node metrics end to end: a real agent process (sysmetrics sampling every 2 s), the hub app
// listening on loopback, and WebSocket clients (`ws`) subscribing through the hub. Whether the
// hub's Watch stream is open is checked on the agent side, in its 'watch opened'/'watch closed' log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const NODE = 'metrics-ws';
const INTERVAL_MS = 2000;

interface Message {
  type: string;
  node?: string;
  kind?: string;
  time?: string;
  values?: Record<string, number | null>;
  nodes?: string[];
  message?: string;
}

class Client {
  readonly messages: Message[] = [];
  readonly socket: WebSocket;
  closed?: { code: number; reason: string };
  private waiters: { test: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Message;
      this.messages.push(message);
      this.waiters = this.waiters.filter((w) => !(w.test(message) && (w.resolve(message), true)));
    });
    this.socket.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  send(message: object): void {
    this.socket.send(JSON.stringify(message));
  }

  next(test: (m: Message) => boolean, timeoutMs = 5000): Promise<Message> {
    const seen = this.messages.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`)), timeoutMs);
      this.waiters.push({ test, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

const until = async (check: () => boolean, timeoutMs = 5000) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('live node metrics over the hub WebSocket', () => {
  let agent: AgentProcess;
  let hub: TestHub;
  let base: string;
  let token: string;
  const count = (text: string) => agent.output().split('\n').filter((l) => l.includes(`"${text}"`)).length;

  beforeAll(async () => {
    agent = await startAgentProcess({
      nodeId: NODE,
      configure: (config) => {
        config.log = { level: 'info' };
        config.reload_on_change = false;
        config.plugins.sysmetrics = { enabled: true, cpu_memory_interval_s: INTERVAL_MS / 1000, disk_network_interval_s: INTERVAL_MS / 1000 };
      },
    });
    hub = await startTestHub('sqlite');
    const enrolled = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes', headers: hub.auth, payload: { enrollment: agent.enrollment } });
    expect(enrolled.statusCode, enrolled.body).toBe(201);
    await hub.app.listen({ host: '127.0.0.1', port: 0 });
    base = `ws://127.0.0.1:${(hub.app.server.address() as { port: number }).port}/api/v1/ws`;
    token = hub.auth.authorization.replace(/^Bearer /, '');
  });

  afterAll(async () => {
    await hub?.close();
    await agent?.stop();
  });

  it('sends a sample within one interval of subscribing, over one Watch stream per node', async () => {
    expect(count('watch opened')).toBe(0);
    const a = new Client(`${base}?token=${token}`);
    await a.opened();
    await a.next((m) => m.type === 'ready');
    const subscribedAt = Date.now();
    a.send({ subscribe: [NODE] });
    expect(await a.next((m) => m.type === 'subscribed')).toMatchObject({ nodes: [NODE] });
    const sample = await a.next((m) => m.type === 'sample', INTERVAL_MS + 2000);
    // One interval plus opening the stream on loopback.
    expect(Date.now() - subscribedAt).toBeLessThanOrEqual(INTERVAL_MS + 500);
    expect(sample).toMatchObject({ node: NODE });
    expect(['cpu-memory', 'disk-network']).toContain(sample.kind);
    await until(() => count('watch opened') === 1);

    // A second browser on the same node shares the stream; its token comes as the first message.
    const b = new Client(base);
    await b.opened();
    b.send({ token });
    b.send({ subscribe: [NODE, 'no-such-node'] });
    expect(await b.next((m) => m.type === 'error')).toMatchObject({ node: 'no-such-node', message: 'no node no-such-node' });
    expect(await b.next((m) => m.type === 'subscribed')).toMatchObject({ nodes: [NODE] });
    const cpu = await b.next((m) => m.type === 'sample' && m.kind === 'cpu-memory', INTERVAL_MS + 2000);
    expect(cpu.values!.cpu_percent).toBeGreaterThanOrEqual(0);
    expect(cpu.values!.memory_total_bytes).toBeGreaterThan(0);
    expect(count('watch opened')).toBe(1);
    expect(hub.app.metricsWatches.open()).toEqual([NODE]);

    // The first leaves: the stream stays for the second. The second unsubscribes: it is closed.
    await a.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(count('watch closed')).toBe(0);
    b.send({ unsubscribe: [NODE] });
    expect(await b.next((m) => m.type === 'subscribed' && m.nodes!.length === 0)).toBeTruthy();
    await until(() => count('watch closed') === 1);
    expect(hub.app.metricsWatches.open()).toEqual([]);

    // Subscribing again opens a new stream; closing the socket (no unsubscribe) closes it too.
    b.send({ subscribe: [NODE] });
    await until(() => count('watch opened') === 2);
    await b.close();
    await until(() => count('watch closed') === 2);
    expect(hub.app.metricsWatches.open()).toEqual([]);
  });

  it('stores what arrived and what the metrics job pulls, and serves it to viewers', async () => {
    const viewer = await hub.as('viewer');
    const stored = await hub.app.inject({ method: 'GET', url: `/api/v1/nodes/${NODE}/metrics`, headers: viewer });
    expect(stored.statusCode, stored.body).toBe(200);
    const before = stored.json().samples as { kind: string; resolution: string }[];
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((s) => s.resolution === 'raw')).toBe(true);

    await new Promise((r) => setTimeout(r, INTERVAL_MS + 200));
    const run = await hub.app.jobs.run('metrics');
    expect(run).toMatchObject({ ran: true, result: { nodes: 1 } });
    const after = (await hub.app.inject({ method: 'GET', url: `/api/v1/nodes/${NODE}/metrics?kind=cpu-memory`, headers: viewer })).json();
    expect(after.samples.length).toBeGreaterThan(before.filter((s) => s.kind === 'cpu-memory').length);
    expect(after.samples.every((s: { kind: string }) => s.kind === 'cpu-memory')).toBe(true);

    const missing = await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/nope/metrics', headers: viewer });
    expect(missing.statusCode).toBe(404);
  });

  it('refuses a WebSocket without a valid token', async () => {
    const c = new Client(`${base}?token=not-a-jwt`);
    await c.opened();
    await until(() => c.closed !== undefined);
    expect(c.closed!.code).toBe(4401);
    expect(c.messages[0]).toMatchObject({ type: 'error' });

    const d = new Client(base);
    await d.opened();
    d.send({ subscribe: [NODE] });
    await until(() => d.closed !== undefined);
    expect(d.closed!.code).toBe(4401);
  });

  it('closes an open WebSocket when its session ends: sign-out, or the account disabled', async () => {
    const signIn = async (username: string) => {
      const res = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: 'watching password' } });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().token as string;
    };
    const watching = async (token: string) => {
      const c = new Client(`${base}?token=${token}`);
      await c.opened();
      await c.next((m) => m.type === 'ready');
      c.send({ subscribe: [NODE] });
      await c.next((m) => m.type === 'subscribed');
      return c;
    };
    const ended = async (c: Client) => {
      await until(() => c.closed !== undefined);
      expect(c.closed).toEqual({ code: 4401, reason: 'session ended' });
      expect(c.messages.at(-1)).toMatchObject({ type: 'error', message: expect.stringContaining('this session has ended') });
    };

    const created = await hub.app.inject({ method: 'POST', url: '/api/v1/admins', headers: hub.auth, payload: { username: 'watcher', password: 'watching password', role: 'viewer' } });
    const other = await hub.app.inject({ method: 'POST', url: '/api/v1/admins', headers: hub.auth, payload: { username: 'bystander', password: 'watching password', role: 'viewer' } });
    // Signing out ends every socket of that admin, and no one else's.
    const first = await signIn('watcher');
    const [a, b, c] = [await watching(first), await watching(await signIn('watcher')), await watching(await signIn('bystander'))];
    expect((await hub.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { authorization: `Bearer ${first}` } })).statusCode).toBe(204);
    await ended(a);
    await ended(b);
    expect(c.closed).toBeUndefined();
    // The token that was used on them no longer opens a socket.
    const reused = new Client(`${base}?token=${first}`);
    await reused.opened();
    await until(() => reused.closed !== undefined);
    expect(reused.messages[0]).toMatchObject({ type: 'error', message: expect.stringContaining('this session has ended') });

    // Disabled by an owner: closed at once.
    const d = await watching(await signIn('watcher'));
    await hub.app.inject({ method: 'PATCH', url: `/api/v1/admins/${created.json().id}`, headers: hub.auth, payload: { disabled: true } });
    await ended(d);
    await hub.app.inject({ method: 'DELETE', url: `/api/v1/admins/${other.json().id}`, headers: hub.auth });
    await until(() => c.closed !== undefined);
    expect(c.closed!.code).toBe(4401);
  });

  it('exposes its own figures on /metrics: jobs, API latency, nodes', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/^boxfleet_hub_job_runs_total\{name="metrics"\} 1$/m);
    expect(res.body).toMatch(/^boxfleet_hub_job_runs_total\{name="traffic"\} 0$/m);
    expect(res.body).toMatch(/^boxfleet_hub_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/nodes\/:id\/metrics",status="200"\} 2$/m);
    expect(res.body).toMatch(/^boxfleet_hub_http_request_duration_seconds_bucket\{le="\+Inf",method="POST",route="\/api\/v1\/nodes",status="201"\} 1$/m);
    expect(res.body).toMatch(/^boxfleet_hub_nodes_up \d+$/m);
    expect(res.body).toMatch(/^boxfleet_hub_traffic_bytes_applied_total 0$/m);
    expect(res.body).toMatch(/^boxfleet_hub_watch_streams 0$/m);
  });

  it('asks for metrics_token, when it is set, on /metrics (and only there)', async () => {
    const guarded = await startTestHub('sqlite', { config: { metrics_token: 'prometheus-scrape-token' } });
    try {
      const scrape = (authorization?: string) =>
        guarded.app.inject({ method: 'GET', url: '/metrics', headers: authorization === undefined ? {} : { authorization } });
      for (const wrong of [undefined, 'Bearer nope', 'Bearer prometheus-scrape-toke', 'prometheus-scrape-token', guarded.auth.authorization]) {
        const res = await scrape(wrong);
        expect(res.statusCode, String(wrong)).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
        expect(res.json().message).toBe('/metrics needs Authorization: Bearer <metrics_token>');
      }
      const res = await scrape('Bearer prometheus-scrape-token');
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/^boxfleet_hub_nodes_up 0$/m);
      expect((await guarded.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
