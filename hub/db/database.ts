// The database as a Fastify plugin: SQLite under the data dir by default, MySQL/MariaDB when a
// database URL is set; migrations run at start; the pool closes with the app.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import fp from 'fastify-plugin';
import knexFactory, { type Knex } from 'knex';
import { Model } from 'objection';
import type { HubConfig } from '../config.js';
import { PRIVATE_DIR, privateFile } from '../private-files.js';
import { migrationSource } from './migrations/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Knex;
  }
}

/** The SQLite database's file name inside the data dir. */
export const SQLITE_FILE = 'boxfleet.sqlite';

/** A pool on the hub's database as it is, without migrating it (a backup reads it under running hubs). */
export async function connectDatabase(config: Pick<HubConfig, 'data_dir' | 'database_url'>): Promise<Knex> {
  if (config.database_url) {
    const url = new URL(config.database_url);
    if (url.protocol !== 'mysql:') throw new Error(`database_url must be mysql://..., not ${url.protocol}`);
    return knexFactory({ client: 'mysql2', connection: { uri: config.database_url, timezone: 'Z', supportBigNumbers: true } as never, pool: { min: 0, max: 10 } });
  }
  const filename = path.join(config.data_dir, SQLITE_FILE);
  await mkdir(config.data_dir, { recursive: true, mode: PRIVATE_DIR });
  await privateFile(filename);
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: { afterCreate: (conn: { pragma(s: string): void }, done: () => void) => (conn.pragma('journal_mode = WAL'), conn.pragma('foreign_keys = ON'), done()) },
  });
}

export async function openDatabase(config: Pick<HubConfig, 'data_dir' | 'database_url'>): Promise<Knex> {
  const knex = await connectDatabase(config);
  await knex.migrate.latest({ migrationSource });
  return knex;
}

export const databasePlugin = fp<{ config: HubConfig }>(async (app, { config }) => {
  const knex = await openDatabase(config);
  Model.knex(knex);
  app.decorate('db', knex);
  app.addHook('onClose', () => knex.destroy());
}, { name: 'database' });
