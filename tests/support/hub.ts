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
import { createLogger } from '../../agent-core/logger.js';
import { mysqlUrl } from './real-components.js';

export type DatabaseKind = 'sqlite' | 'mariadb';

export interface TestHub {
  app: FastifyInstance;
  config: HubConfig;
  token: string;
  /** Headers that authenticate as the admin. */
  auth: { authorization: string };
  close(): Promise<void>;
}

export async function startTestHub(kind: DatabaseKind): Promise<TestHub> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-hub-'));
  let databaseUrl = '';
  let dropDatabase = async () => {};
  if (kind === 'mariadb') {
    const server = mysqlUrl();
    const name = `boxfleet_t_${randomBytes(5).toString('hex')}`;
    const admin = knexFactory({ client: 'mysql2', connection: server });
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.destroy();
    databaseUrl = `${server.replace(/\/$/, '')}/${name}`;
    dropDatabase = async () => {
      const k = knexFactory({ client: 'mysql2', connection: server });
      await k.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      await k.destroy();
    };
  }
  const token = randomBytes(24).toString('base64url');
  const config = resolveHubConfig({ data_dir: dataDir, database_url: databaseUrl, admin_token: token, log_level: 'error' }, {});
  const app = await buildApp({ config, logger: createLogger({ service: 'hub', level: 'error' }), adminToken: token });
  return {
    app,
    config,
    token,
    auth: { authorization: `Bearer ${token}` },
    async close() {
      await app.close();
      await dropDatabase();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
