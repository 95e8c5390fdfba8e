// Every route the hub has, called with no token and as every role: 401 without a token, 403 below
// the route's role, neither at or above it. The table below must name every route the app
// registers (collected by an onRoute hook on the Fastify instance), so a new route without an
// entry fails here. Plugin commands carry their own role, checked against a real agent.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Role } from '../../agent-core/common/roles.js';
import { createAdmin } from '../../hub/admins.js';
import { clientFromEnrollment, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const registered = vi.hoisted(() => [] as { method: string; url: string; role: string | undefined }[]);

// The app is built as the server builds it; this only watches the routes it registers.
vi.mock('fastify', async (importOriginal) => {
  const actual = await importOriginal<typeof import('fastify')>();
  const watched = ((options?: Parameters<typeof actual.default>[0]) => {
    const app = actual.default(options);
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) registered.push({ method, url: route.url, role: route.config?.role });
    });
    return app;
  }) as typeof actual.default;
  return { ...actual, default: watched, fastify: watched };
});

type Who = 'none' | Role;
type Need = Role | 'public';
const WHO: Who[] = ['none', 'viewer', 'operator', 'admin', 'owner'];
const RANK: Record<Who, number> = { none: -1, viewer: 0, operator: 1, admin: 2, owner: 3 };
const LOGIN = { username: 'rbac-login', password: 'rbac login password' };
/** Marks every secret the tests seed, so an answer that leaks one is found by searching for it. */
const MARK = 'SeCrEtMaRk';

/**
 * [method, route, least role, request]. The requests are harmless for anyone allowed: ids that do
 * not exist and bodies that fail validation, so a pass answers 400/404 and nothing changes.
 */
const ROUTES: [string, string, Need, { url?: string; body?: object; ownSession?: boolean }?][] = [
  ['GET', '/health', 'public'],
  ['GET', '/', 'public'],
  ['GET', '/assets/:file', 'public', { url: '/assets/app.js' }],
  ['GET', '/portal/:token', 'public', { url: '/portal/no-such-token' }],
  ['GET', '/docs', 'public'],
  ['GET', '/docs/json', 'public'],
  ['GET', '/docs/yaml', 'public'],
  ['GET', '/docs/static/index.html', 'public'],
  ['GET', '/docs/static/swagger-initializer.js', 'public'],
  ['GET', '/docs/static/*', 'public', { url: '/docs/static/swagger-ui.css' }],
  ['POST', '/api/v1/auth/login', 'public', { body: LOGIN }],
  ['POST', '/api/v1/auth/password', 'public', { body: {} }],
  ['GET', '/api/v1/auth/me', 'viewer'],
  // Signing out ends every session of the caller: called as admins of its own.
  ['POST', '/api/v1/auth/logout', 'viewer', { ownSession: true }],
  ['GET', '/api/v1/info', 'viewer'],

  ['GET', '/api/v1/nodes', 'viewer'],
  ['POST', '/api/v1/nodes', 'admin', { body: {} }],
  ['GET', '/api/v1/nodes/:id', 'viewer', { url: '/api/v1/nodes/no-such-node' }],
  ['PATCH', '/api/v1/nodes/:id', 'admin', { url: '/api/v1/nodes/no-such-node', body: {} }],
  ['DELETE', '/api/v1/nodes/:id', 'admin', { url: '/api/v1/nodes/no-such-node' }],
  // Viewers pass the route; the command's own role is checked against a real agent below.
  ['POST', '/api/v1/nodes/:id/commands/:command', 'viewer', { url: '/api/v1/nodes/no-such-node/commands/hello.greet', body: {} }],

  // Install commands: routes/install-tokens.ts; what a new machine fetches with one: routes/install.ts (the token is the credential).
  ['POST', '/api/v1/nodes/install-tokens', 'admin', { body: { ttl_s: 1 } }],
  ['GET', '/api/v1/nodes/install-tokens', 'admin'],
  ['DELETE', '/api/v1/nodes/install-tokens/:id', 'admin', { url: '/api/v1/nodes/install-tokens/999999' }],
  ['GET', '/install/:token', 'public', { url: '/install/no-such-token' }],
  ['GET', '/install/:token/agent-linux-:arch.tar.gz', 'public', { url: '/install/no-such-token/agent-linux-amd64.tar.gz' }],
  ['POST', '/install/:token/register', 'public', { url: '/install/no-such-token/register', body: {} }],

  // Config versions: routes/configs.ts.
  ['GET', '/api/v1/configs', 'viewer'],
  ['POST', '/api/v1/configs', 'admin', { body: {} }],
  ['GET', '/api/v1/configs/:id', 'viewer', { url: '/api/v1/configs/999999' }],
  ['POST', '/api/v1/configs/:id/apply', 'admin', { url: '/api/v1/configs/999999/apply', body: {} }],
  ['POST', '/api/v1/configs/reality-keypair', 'admin'],
  ['GET', '/api/v1/nodes/:id/config/history', 'viewer', { url: '/api/v1/nodes/no-such-node/config/history' }],
  ['POST', '/api/v1/nodes/:id/config/rollback', 'admin', { url: '/api/v1/nodes/no-such-node/config/rollback' }],

  ['GET', '/api/v1/admins', 'owner'],
  ['POST', '/api/v1/admins', 'owner', { body: {} }],
  ['PATCH', '/api/v1/admins/:id', 'owner', { url: '/api/v1/admins/999999', body: {} }],
  ['DELETE', '/api/v1/admins/:id', 'owner', { url: '/api/v1/admins/999999' }],

  ['GET', '/api/v1/users', 'viewer'],
  ['POST', '/api/v1/users', 'operator', { body: {} }],
  ['GET', '/api/v1/users/:id', 'viewer', { url: '/api/v1/users/999999' }],
  ['PATCH', '/api/v1/users/:id', 'operator', { url: '/api/v1/users/999999', body: {} }],
  ['DELETE', '/api/v1/users/:id', 'operator', { url: '/api/v1/users/999999' }],
  ['GET', '/api/v1/users/:id/credentials', 'operator', { url: '/api/v1/users/999999/credentials' }],
  ['POST', '/api/v1/users/:id/token/rotate', 'operator', { url: '/api/v1/users/999999/token/rotate' }],
  ['GET', '/api/v1/users/:id/usage', 'viewer', { url: '/api/v1/users/999999/usage' }],
  // Users in bulk: hub/users-io.ts. The export shows credentials from admin up only (checked below).
  ['GET', '/api/v1/users/export', 'viewer'],
  ['POST', '/api/v1/users/import', 'operator', { body: {} }],
  // One action on many users: hub/routes/users-bulk.ts, operator like the single-user routes (delete too).
  ['POST', '/api/v1/users/bulk', 'operator', { body: {} }],

  ['GET', '/api/v1/plans', 'viewer'],
  ['POST', '/api/v1/plans', 'admin', { body: {} }],
  ['GET', '/api/v1/plans/:id', 'viewer', { url: '/api/v1/plans/999999' }],
  ['PATCH', '/api/v1/plans/:id', 'admin', { url: '/api/v1/plans/999999', body: {} }],
  ['DELETE', '/api/v1/plans/:id', 'admin', { url: '/api/v1/plans/999999' }],

  // Profile templates: routes/profile-templates.ts (a format that does not exist, or an empty body, fails validation).
  ['GET', '/api/v1/profile-templates/:format', 'viewer', { url: '/api/v1/profile-templates/clash' }],
  ['PUT', '/api/v1/profile-templates/:format', 'admin', { url: '/api/v1/profile-templates/clash', body: {} }],
  ['DELETE', '/api/v1/profile-templates/:format', 'admin', { url: '/api/v1/profile-templates/no-such-format' }],
  ['POST', '/api/v1/profile-templates/:format/preview', 'admin', { url: '/api/v1/profile-templates/clash/preview', body: {} }],

  ['GET', '/api/v1/subscriptions', 'viewer'],
  ['POST', '/api/v1/subscriptions', 'operator', { body: {} }],
  ['GET', '/api/v1/subscriptions/:id', 'viewer', { url: '/api/v1/subscriptions/999999' }],
  ['POST', '/api/v1/subscriptions/:id/renew', 'operator', { url: '/api/v1/subscriptions/999999/renew' }],
  ['POST', '/api/v1/subscriptions/:id/suspend', 'operator', { url: '/api/v1/subscriptions/999999/suspend' }],
  ['POST', '/api/v1/subscriptions/:id/resume', 'operator', { url: '/api/v1/subscriptions/999999/resume' }],
  ['POST', '/api/v1/subscriptions/:id/reset-traffic', 'operator', { url: '/api/v1/subscriptions/999999/reset-traffic' }],
  ['POST', '/api/v1/subscriptions/:id/cancel', 'operator', { url: '/api/v1/subscriptions/999999/cancel' }],

  // Firewall rule sets and each node's confirmed revision: routes/firewall.ts.
  ['GET', '/api/v1/firewall/rule-sets', 'viewer'],
  ['POST', '/api/v1/firewall/rule-sets', 'admin', { body: {} }],
  ['GET', '/api/v1/firewall/rule-sets/:id', 'viewer', { url: '/api/v1/firewall/rule-sets/999999' }],
  ['PUT', '/api/v1/firewall/rule-sets/:id', 'admin', { url: '/api/v1/firewall/rule-sets/999999', body: {} }],
  ['DELETE', '/api/v1/firewall/rule-sets/:id', 'admin', { url: '/api/v1/firewall/rule-sets/999999' }],
  ['GET', '/api/v1/firewall/nodes', 'viewer'],
  // Batch commands: routes/batches.ts (the command's own role is checked inside).
  ['POST', '/api/v1/batches', 'viewer', { body: {} }],
  ['GET', '/api/v1/batches', 'viewer'],
  ['GET', '/api/v1/batches/:id', 'viewer', { url: '/api/v1/batches/999999' }],
  ['POST', '/api/v1/batches/:id/cancel', 'operator', { url: '/api/v1/batches/999999/cancel' }],
  ['POST', '/api/v1/batches/:id/retry', 'viewer', { url: '/api/v1/batches/999999/retry', body: {} }],
  // Cron schedules of batches: routes/batch-schedules.ts.
  ['GET', '/api/v1/batch-schedules', 'viewer'],
  ['POST', '/api/v1/batch-schedules', 'admin', { body: {} }],
  ['GET', '/api/v1/batch-schedules/:id', 'viewer', { url: '/api/v1/batch-schedules/999999' }],
  ['PATCH', '/api/v1/batch-schedules/:id', 'admin', { url: '/api/v1/batch-schedules/999999', body: {} }],
  ['DELETE', '/api/v1/batch-schedules/:id', 'admin', { url: '/api/v1/batch-schedules/999999' }],

  // Staged config rollouts: routes/rollouts.ts.
  ['POST', '/api/v1/rollouts', 'admin', { body: {} }],
  ['GET', '/api/v1/rollouts', 'viewer'],
  ['GET', '/api/v1/rollouts/:id', 'viewer', { url: '/api/v1/rollouts/999999' }],
  ['POST', '/api/v1/rollouts/:id/pause', 'admin', { url: '/api/v1/rollouts/999999/pause' }],
  ['POST', '/api/v1/rollouts/:id/resume', 'admin', { url: '/api/v1/rollouts/999999/resume' }],
  ['POST', '/api/v1/rollouts/:id/abort', 'admin', { url: '/api/v1/rollouts/999999/abort' }],

  ['GET', '/api/v1/usage', 'viewer'],
  ['GET', '/api/v1/usage/daily', 'viewer'],
  ['GET', '/api/v1/audit', 'admin'],
  ['GET', '/api/v1/log-level', 'admin'],
  ['PUT', '/api/v1/log-level', 'admin', { body: {} }],

  // End-user subscriptions: routes/sub.ts (the token is the credential).
  ['GET', '/sub/:token', 'public', { url: '/sub/no-such-token' }],
  ['GET', '/sub/:token/info', 'public', { url: '/sub/no-such-token/info' }],
  ['GET', '/sub/:token/usage', 'public', { url: '/sub/no-such-token/usage' }],
  ['GET', '/sub/:token/qr.svg', 'public', { url: '/sub/no-such-token/qr.svg' }],
  ['GET', '/sub/:token/qr.png', 'public', { url: '/sub/no-such-token/qr.png' }],

  // Node metrics: hub/routes/metrics.ts, hub/routes/ws.ts (the WebSocket checks its JWT itself).
  ['GET', '/api/v1/nodes/:id/metrics', 'viewer', { url: '/api/v1/nodes/no-such-node/metrics' }],
  ['GET', '/api/v1/nodes/:id/probes', 'viewer', { url: '/api/v1/nodes/no-such-node/probes' }],
  ['GET', '/api/v1/ws', 'public'],
  ['GET', '/metrics', 'public'],

  // Alerts: hub/routes/alerts.ts.
  ['GET', '/api/v1/alerts', 'viewer'],
  // User events: hub/routes/user-events.ts.
  ['GET', '/api/v1/user-events', 'viewer'],

  // Live node figures and the fleet overview: hub/routes/live.ts.
  ['GET', '/api/v1/nodes/:id/live', 'viewer', { url: '/api/v1/nodes/no-such-node/live' }],
  ['GET', '/api/v1/overview', 'viewer'],
];

/** `/api/v1/users/` and `/api/v1/users` are one route (a plugin's `/` under its prefix). */
const normal = (url: string) => (url.length > 1 ? url.replace(/\/$/, '') : url);
const key = (method: string, url: string) => `${method} ${normal(url)}`;

/** A plugin, written only as plain data, with a command for each role an agent can ask for. */
const PROBE_PLUGIN = `
const Empty = { type: 'object', properties: {} };
const Counts = { type: 'object', properties: { pokes: { type: 'integer' }, nukes: { type: 'integer' } } };
let pokes = 0;
let nukes = 0;
export default {
  id: 'rbac-probe',
  version: '1.0.0',
  agent: '*',
  commands: {
    look: { description: 'Reads the counts.', input: Empty, output: Counts },
    poke: { description: 'Changes something.', mutates: true, input: Empty, output: Counts },
    nuke: { description: 'Changes something dangerous.', mutates: true, role: 'admin', input: Empty, output: Counts },
    wild: { description: 'Asks for a role the hub does not know.', mutates: true, role: 'superuser', input: Empty, output: Counts },
  },
  start() {
    return {
      commands: {
        look: async () => ({ pokes, nukes }),
        poke: async () => ({ pokes: ++pokes, nukes }),
        nuke: async () => ({ pokes, nukes: ++nukes }),
        wild: async () => ({ pokes, nukes }),
      },
    };
  },
};
`;

describe('role-based access to every hub route', () => {
  let hub: TestHub;
  let headers: Record<Who, Record<string, string>>;

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    await createAdmin(LOGIN.username, LOGIN.password, 'viewer');
    headers = { none: {}, viewer: await hub.as('viewer'), operator: await hub.as('operator'), admin: await hub.as('admin'), owner: hub.auth };
  });

  afterAll(async () => {
    await hub?.close();
  });

  let sessions = 0;
  /** A new admin with that role, signed in, for a route that ends the caller's sessions. */
  const freshSession = async (role: Role) => {
    const username = `own-session-${role}-${++sessions}`;
    await createAdmin(username, LOGIN.password, role);
    const res = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password: LOGIN.password } });
    return { authorization: `Bearer ${res.json().token}` };
  };

  it('has a table entry, with the declared role, for every route the app registers', () => {
    expect(registered.length).toBeGreaterThan(0);
    const table = new Map(ROUTES.map(([method, url, need]) => [key(method, url), need]));
    const found = new Map<string, string | undefined>();
    for (const route of registered) if (route.method !== 'HEAD') found.set(key(route.method, route.url), route.role);
    // HEAD routes are Fastify's copies of GET routes, with the same config; they are walked with them.
    for (const route of registered.filter((r) => r.method === 'HEAD')) {
      expect(found.has(key('GET', route.url)), `HEAD ${route.url} has no GET`).toBe(true);
    }
    expect([...found.keys()].sort()).toEqual([...table.keys()].sort());
    for (const [route, role] of found) {
      // /docs routes come from @fastify/swagger-ui, which declares no role; the auth hook lets them pass.
      if (!route.includes(' /docs')) expect(role, route).toBe(table.get(route));
    }
  });

  for (const [method, route, need, request = {}] of ROUTES) {
    it(`${method} ${route} needs ${need === 'public' ? 'no token' : `the ${need} role`}`, async () => {
      const url = request.url ?? route;
      const methods = method === 'GET' ? ['GET', 'HEAD'] : [method];
      for (const m of methods) {
        for (const who of WHO) {
          const as = request.ownSession && who !== 'none' ? await freshSession(who) : headers[who];
          const res = await hub.app.inject({ method: m as 'GET', url, headers: as, payload: request.body });
          const label = `${m} ${url} as ${who}: ${res.statusCode} ${res.body.slice(0, 200)}`;
          if (need === 'public') expect([401, 403], label).not.toContain(res.statusCode);
          else if (who === 'none') expect(res.statusCode, label).toBe(401);
          else if (RANK[who] < RANK[need]) {
            expect(res.statusCode, label).toBe(403);
            if (m !== 'HEAD') expect(res.json().message, label).toBe(`this needs the ${need} role; test-${who} is ${who}`);
          } else expect([401, 403], label).not.toContain(res.statusCode);
        }
      }
    });
  }

  describe('plugin commands, by the role their agent declares', () => {
    let agent: AgentProcess;
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-rbac-'));
      const plugin = path.join(dir, 'rbac-probe.mjs');
      await writeFile(plugin, PROBE_PLUGIN);
      agent = await startAgentProcess({
        nodeId: 'rbac-node',
        insecure: true,
        extraPlugins: `  rbac-probe:\n    module: ${plugin}\nreload_on_change: false`,
        configure: (config) => {
          config.plugins['clash-stats'].clash_api = { url: 'http://127.0.0.1:9', secret: `${MARK}-clash-api-secret` };
        },
      });
      const enrolled = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes', headers: hub.auth, payload: { enrollment: agent.enrollment } });
      expect(enrolled.statusCode, enrolled.body).toBe(201);
    });

    afterAll(async () => {
      await agent?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    const run = (who: Who, command: string) =>
      hub.app.inject({ method: 'POST', url: `/api/v1/nodes/rbac-node/commands/rbac-probe.${command}`, headers: headers[who], payload: {} });

    it('runs a read-only command for a viewer, a mutating one from operator up, an admin one from admin up', async () => {
      const needs: Record<string, Role> = { look: 'viewer', poke: 'operator', nuke: 'admin' };
      for (const [command, need] of Object.entries(needs)) {
        for (const who of WHO) {
          const res = await run(who, command);
          const label = `rbac-probe.${command} as ${who}: ${res.statusCode} ${res.body.slice(0, 200)}`;
          if (who === 'none') expect(res.statusCode, label).toBe(401);
          else if (RANK[who] < RANK[need]) {
            expect(res.statusCode, label).toBe(403);
            expect(res.json().message, label).toBe(`rbac-probe.${command} needs the ${need} role; test-${who} is ${who}`);
          } else expect(res.statusCode, label).toBe(200);
        }
      }
      // A refused command never reached the agent: operator, admin and owner poked; admin and owner nuked.
      expect((await run('viewer', 'look')).json()).toEqual({ pokes: 3, nukes: 2 });
    });

    it('runs a command whose role the hub does not know for owners only', async () => {
      for (const who of WHO) {
        const res = await run(who, 'wild');
        const label = `rbac-probe.wild as ${who}: ${res.statusCode} ${res.body.slice(0, 200)}`;
        if (who === 'none') expect(res.statusCode, label).toBe(401);
        else if (who !== 'owner') expect(res.json(), label).toMatchObject({ statusCode: 403, message: `rbac-probe.wild needs the owner role; test-${who} is ${who}` });
        else expect(res.statusCode, label).toBe(200);
      }
    });

    it('answers 404 for a command named like an Object.prototype property, and never sends it', async () => {
      for (const command of ['rbac-probe.constructor', 'singbox-config.constructor', 'rbac-probe.tostring', 'rbac-probe.no-such']) {
        for (const who of ['viewer', 'owner'] as const) {
          const res = await hub.app.inject({ method: 'POST', url: `/api/v1/nodes/rbac-node/commands/${command}`, headers: headers[who], payload: {} });
          expect(res.json(), `${command} as ${who}`).toEqual({ statusCode: 404, code: 'HUB_ERR_NOT_FOUND', message: `no command ${command} on node rbac-node` });
        }
      }
    });

    it('refuses config.apply and config.rollback through the command route, pointing to the versioned routes', async () => {
      const described = (await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/rbac-node', headers: hub.auth })).json();
      const commands = described.agent.plugins.flatMap((p: { commands: { name: string; role: string }[] }) => p.commands);
      const roleOf = (name: string) => commands.find((c: { name: string }) => c.name === name)?.role;
      expect([roleOf('singbox-config.config.apply'), roleOf('singbox-config.config.rollback'), roleOf('singbox-config.ssm.endpoints')]).toEqual([
        'admin',
        'admin',
        'admin',
      ]);
      const routes = {
        'config.apply': 'save the config with POST /api/v1/configs, then POST /api/v1/configs/:id/apply',
        'config.rollback': 'use POST /api/v1/nodes/:id/config/rollback',
      };
      for (const [command, route] of Object.entries(routes)) {
        for (const who of ['operator', 'admin', 'owner'] as const) {
          const res = await hub.app.inject({
            method: 'POST',
            url: `/api/v1/nodes/rbac-node/commands/singbox-config.${command}`,
            headers: headers[who],
            payload: command === 'config.apply' ? { config: {} } : {},
          });
          expect(res.json(), `${command} as ${who}`).toEqual({
            statusCode: 409,
            code: 'HUB_ERR_CONFLICT',
            message: `singbox-config.${command} is not run directly: ${route}`,
          });
        }
      }
    });

    it('runs users.sync through the command route for admins only: the hub owns which users a node serves', async () => {
      const send = (who: Who) =>
        hub.app.inject({ method: 'POST', url: '/api/v1/nodes/rbac-node/commands/singbox-config.users.sync', headers: headers[who], payload: {} });
      const refused = await send('operator');
      expect(refused.json()).toMatchObject({ statusCode: 403, message: 'singbox-config.users.sync needs the admin role; test-operator is operator' });
      // An admin passes the role check; the agent then refuses the empty input.
      const allowed = await send('admin');
      expect(allowed.statusCode, allowed.body).not.toBe(403);
      expect(allowed.json().message).toMatch(/revision/);
    });

    it('shows viewers and operators no secret in any route answer or command output', async () => {
      // Secrets of every kind the hub holds or relays: a base config's server keys, a user's credentials, the Clash API secret.
      const base = {
        inbounds: [
          {
            type: 'vless',
            tag: 'vless-in',
            listen_port: 443,
            tls: {
              enabled: true,
              server_name: 'www.example.com',
              key: ['-----BEGIN PRIVATE KEY-----', `${MARK}-tls-key`, '-----END PRIVATE KEY-----'],
              reality: { enabled: true, handshake: { server: 'www.example.com', server_port: 443 }, private_key: `${MARK}-reality`, short_id: ['0123'] },
            },
          },
          { type: 'shadowsocks', tag: 'ss-in', listen_port: 8388, method: '2022-blake3-aes-128-gcm', password: `${MARK}-ss-server` },
          { type: 'hysteria2', tag: 'hy2-in', listen_port: 8443, obfs: { type: 'salamander', password: `${MARK}-obfs` } },
        ],
      };
      const version = await hub.app.inject({ method: 'POST', url: '/api/v1/configs', headers: hub.auth, payload: { config: base } });
      expect(version.statusCode, version.body).toBe(201);
      const user = (await hub.app.inject({ method: 'POST', url: '/api/v1/users', headers: hub.auth, payload: { name: 'leaky' } })).json();
      const credentials = (await hub.app.inject({ method: 'GET', url: `/api/v1/users/${user.id}/credentials`, headers: hub.auth })).json();
      const plan = (
        await hub.app.inject({ method: 'POST', url: '/api/v1/plans', headers: hub.auth, payload: { name: 'leaky plan', traffic_limit_bytes: 1, duration_days: 1 } })
      ).json();
      const subscription = (
        await hub.app.inject({ method: 'POST', url: '/api/v1/subscriptions', headers: hub.auth, payload: { user_id: user.id, plan_id: plan.id } })
      ).json();
      const secrets = [MARK, credentials.uuid, credentials.password, credentials.ss_key, credentials.sub_token];
      expect(secrets.every((v) => typeof v === 'string' && v.length >= 8)).toBe(true);

      const ids: Record<string, string> = {
        '/api/v1/nodes/': 'rbac-node',
        '/api/v1/configs/': String(version.json().id),
        '/api/v1/users/': String(user.id),
        '/api/v1/plans/': String(plan.id),
        '/api/v1/subscriptions/': String(subscription.id),
      };
      const described = (await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/rbac-node', headers: hub.auth })).json();
      const readCommands = (described.agent.plugins as { commands: { name: string; mutates: boolean }[] }[])
        .flatMap((p) => p.commands)
        .filter((c) => !c.mutates)
        .map((c) => c.name);
      expect(readCommands).toEqual(expect.arrayContaining(['clash-stats.singbox-contribution', 'singbox-config.config.get']));
      // The owner sees the secrets: they are there to leak.
      const asOwner = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes/rbac-node/commands/clash-stats.singbox-contribution', headers: hub.auth, payload: { users: ['leaky'] } });
      expect(asOwner.body).toContain(`${MARK}-clash-api-secret`);
      expect((await hub.app.inject({ method: 'GET', url: `/api/v1/configs/${ids['/api/v1/configs/']}`, headers: hub.auth })).body).toContain(`${MARK}-reality`);

      for (const who of ['viewer', 'operator'] as const) {
        const answers: { label: string; status: number; body: string }[] = [];
        for (const [method, route, need] of ROUTES) {
          // The credentials route is how operators hand out a user's credentials; checked below.
          if (method !== 'GET' || need === 'public' || RANK[who] < RANK[need] || route.endsWith('/credentials')) continue;
          const prefix = Object.keys(ids).find((p) => route.startsWith(p) && route.slice(p.length).startsWith(':id'));
          const url = prefix ? route.replace(':id', ids[prefix]!) : route;
          const res = await hub.app.inject({ method: 'GET', url, headers: headers[who] });
          answers.push({ label: `GET ${url}`, status: res.statusCode, body: res.body });
        }
        for (const name of readCommands) {
          const payload = name === 'clash-stats.singbox-contribution' ? { users: ['leaky'] } : {};
          const res = await hub.app.inject({ method: 'POST', url: `/api/v1/nodes/rbac-node/commands/${name}`, headers: headers[who], payload });
          answers.push({ label: `command ${name}`, status: res.statusCode, body: res.body });
        }
        // The answers carry data, so a leak would show.
        const shown = (label: string) => answers.find((a) => a.label === label)!;
        expect(shown(`GET /api/v1/configs/${ids['/api/v1/configs/']}`).body, who).toContain('[redacted]');
        expect(shown('command clash-stats.singbox-contribution').status, who).toBe(200);
        for (const answer of answers) {
          for (const secret of secrets) expect(answer.body.includes(secret), `${who}: ${answer.label} (${answer.status}) shows ${secret}`).toBe(false);
        }
      }
      // Operators still get the credentials they hand out, from the one route that is for them.
      const forOperator = await hub.app.inject({ method: 'GET', url: `/api/v1/users/${user.id}/credentials`, headers: headers.operator });
      expect(forOperator.json()).toMatchObject({ uuid: credentials.uuid, sub_token: credentials.sub_token });
    });

    it('checks the role of a command its plugin offers again after the hub last saw it disabled', async () => {
      const probe = async () =>
        (await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/rbac-node', headers: hub.auth })).json().agent.plugins.find(
          (p: { id: string }) => p.id === 'rbac-probe',
        );
      await agent.setConfig((yaml) => yaml.replace('  rbac-probe:\n', '  rbac-probe:\n    enabled: false\n'));
      process.kill(agent.child.pid!, 'SIGHUP');
      // A reload can take seconds on a busy machine: wait for it up to 20 s.
      // Each look describes the node again, so the hub's cache ends up holding the disabled plugin.
      for (let i = 0; i < 200 && (await probe()).state !== 'disabled'; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await probe()).toMatchObject({ state: 'disabled', commands: [] });
      expect((await run('viewer', 'poke')).json()).toMatchObject({ statusCode: 409, message: 'plugin rbac-probe is disabled on node rbac-node' });

      await agent.setConfig((yaml) => yaml.replace('  rbac-probe:\n    enabled: false\n', '  rbac-probe:\n'));
      process.kill(agent.child.pid!, 'SIGHUP');
      // Asked of the agent directly: the hub's cache must stay as it was.
      const direct = await clientFromEnrollment(agent.enrollment);
      try {
        const state = async () => (await direct.describe()).plugins.find((p) => p.id === 'rbac-probe')?.state;
        for (let i = 0; i < 200 && (await state()) !== 'running'; i++) await new Promise((r) => setTimeout(r, 100));
        expect(await state()).toBe('running');
      } finally {
        direct.close();
      }
      const before = (await run('owner', 'look')).json();
      const poked = await run('viewer', 'poke');
      expect(poked.json()).toMatchObject({ statusCode: 403, message: 'rbac-probe.poke needs the operator role; test-viewer is viewer' });
      expect((await run('owner', 'look')).json()).toEqual(before);
    });
  });
});
