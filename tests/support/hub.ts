// Builds a hub for a test on SQLite or on MariaDB (a database of its own on the server named by
// BOXFLEET_TEST_MYSQL_URL, dropped afterwards).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import knexFactory from 'knex';
import { buildApp } from '../../hub/app.js';
import { resolveHubConfig, type HubConfig } from '../../hub/config.js';
import { createLogger } from '../../agent-core/common/logger.js';
import { createAdmin } from '../../hub/admins.js';
import type { Role } from '../../agent-core/common/roles.js';
import { mysqlUrl } from './real-components.js';
import { until } from './until.js';

export type DatabaseKind = 'sqlite' | 'mariadb';

export interface TestHub {
  app: FastifyInstance;
  config: HubConfig;
  /** Headers that authenticate as an owner. */
  auth: { authorization: string };
  /** Headers for a new admin with that role (created on first use). */
  as(role: Role): Promise<{ authorization: string }>;
  close(): Promise<void>;
}

export interface TestHubOptions {
  clock?: () => number;
  /** Hub settings for this test; the scheduler is off unless `jobs_enabled` says otherwise. */
  config?: Partial<Record<keyof HubConfig, string | number | boolean>>;
}

/**
 * Calls the hub's API as its owner and returns the JSON answer; a 4xx or 5xx answer throws with its
 * body, so a step that should succeed fails the test where it went wrong.
 */
export async function ownerApi(hub: TestHub, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object) {
  const res = await hub.app.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
  if (res.statusCode >= 400) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body}`);
  return res.json();
}

/** A fresh database for one test: none (SQLite in the data dir) or a new MariaDB database, and how to drop it. */
export async function createTestDatabase(kind: DatabaseKind): Promise<{ url: string; drop(): Promise<void> }> {
  if (kind === 'sqlite') return { url: '', drop: async () => {} };
  const server = mysqlUrl();
  const name = `boxfleet_t_${randomBytes(5).toString('hex')}`;
  const admin = knexFactory({ client: 'mysql2', connection: server });
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.destroy();
  return {
    url: `${server.replace(/\/$/, '')}/${name}`,
    async drop() {
      const k = knexFactory({ client: 'mysql2', connection: server });
      await k.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      await k.destroy();
    },
  };
}

export async function startTestHub(kind: DatabaseKind, options: TestHubOptions = {}): Promise<TestHub> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-hub-'));
  const database = await createTestDatabase(kind);
  const config = resolveHubConfig(
    { data_dir: dataDir, database_url: database.url, log_level: 'error', login_attempts_per_minute: 1000, jobs_enabled: false, ...options.config },
    {},
  );
  const app = await buildApp({ config, logger: createLogger({ service: 'hub', level: 'error' }), clock: options.clock });
  const sessions = new Map<Role, { authorization: string }>();
  const as = async (role: Role) => {
    let headers = sessions.get(role);
    if (!headers) {
      const username = `test-${role}`;
      const password = randomBytes(12).toString('base64url');
      await createAdmin(username, password, role);
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
      if (res.statusCode !== 200) throw new Error(`login as ${role} failed: ${res.body}`);
      // The sign-in's audit row is written after the answer; wait for it, so that a test counting
      // audit rows does not see it land in the middle.
      await until(`the audit row of ${username}'s sign-in`, async () => (await app.db('audit_log').where({ action: 'auth.login', admin: username }).first()) ?? undefined);
      headers = { authorization: `Bearer ${res.json().token}` };
      sessions.set(role, headers);
    }
    return headers;
  };
  return {
    app,
    config,
    auth: await as('owner'),
    as,
    async close() {
      await app.close();
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
