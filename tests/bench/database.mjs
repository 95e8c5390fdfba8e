// The database the hub benchmarks run on: a fresh MariaDB/MySQL database on the server named by
// BOXFLEET_TEST_MYSQL_URL (dropped afterwards), else SQLite in a temporary folder.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { openDatabase } from '../../dist/hub-jobs.js';

export async function benchDatabase() {
  const server = process.env.BOXFLEET_TEST_MYSQL_URL;
  if (!server) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'boxfleet-bench-'));
    return { kind: 'sqlite', db: await openDatabase({ data_dir: dir, database_url: '' }), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `boxfleet_bench_${randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'mysql2', connection: server });
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const db = await openDatabase({ data_dir: os.tmpdir(), database_url: `${server.replace(/\/$/, '')}/${name}` });
  return { kind: 'mariadb', db, drop: async () => (await admin.raw(`DROP DATABASE \`${name}\``), admin.destroy()) };
}

export async function insertChunked(db, table, rows) {
  for (let i = 0; i < rows.length; i += 500) await db(table).insert(rows.slice(i, i + 500));
}
