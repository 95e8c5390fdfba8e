// Backup and restore of the hub (`boxfleet hub backup` / `boxfleet hub restore`): every table's rows
// and every object-store object in one archive, read from one snapshot while hubs keep running, and
// written back into an empty database of either kind — the supported way from the embedded SQLite
// to MySQL.
//
// Archive format 1 is gzip'ed JSON lines (`zcat FILE | head -1` shows the header):
//   {"format":"boxfleet-hub-backup","format_version":1,"boxfleet_version","schema_version","database",
//    "created_at","tables":[{"name","columns":{column: kind},"rows","next_id"?}],"objects"}
//   {"t":table,"r":{column: value}}   one line per row, table by table in the header's order
//   {"o":key,"b":base64}              one line per object-store object
// Tables come parents first (foreign keys), so a restore inserts them in archive order. Boolean
// columns are true/false and binary ones base64 whatever the database stored; numbers and text are
// as the database gave them (times are epoch-ms BIGINTs in every table, so they need no
// conversion). knex's bookkeeping tables are left out: schema_version, the last applied migration,
// is what a restore migrates the empty database to before inserting.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline as pipe, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { Type, type Static } from '@sinclair/typebox';
import knexFactory, { type Knex } from 'knex';
import { validate } from '../agent-core/common/schema.js';
import { AGENT_VERSION } from '../agent-core/common/version.js';
import type { HubConfig } from './config.js';
import { connectDatabase, SQLITE_FILE } from './db/database.js';
import { isMysql } from './db/queries.js';
import { migrationSource } from './db/migrations/index.js';
import { openObjectStore, type ObjectStore } from './object-store.js';

const ARCHIVE_FORMAT = 'boxfleet-hub-backup';
const ARCHIVE_FORMAT_VERSION = 1;

const ColumnKind = Type.Union([Type.Literal('boolean'), Type.Literal('number'), Type.Literal('text'), Type.Literal('binary')]);
type ColumnKind = Static<typeof ColumnKind>;

const ArchiveHeader = Type.Object({
  format: Type.Literal(ARCHIVE_FORMAT),
  format_version: Type.Literal(ARCHIVE_FORMAT_VERSION),
  boxfleet_version: Type.String(),
  /** The last migration applied to the database the rows come from. */
  schema_version: Type.String({ minLength: 1 }),
  database: Type.Union([Type.Literal('sqlite'), Type.Literal('mysql')]),
  created_at: Type.String(),
  tables: Type.Array(
    Type.Object({
      name: Type.String({ minLength: 1 }),
      columns: Type.Record(Type.String(), ColumnKind),
      rows: Type.Integer({ minimum: 0 }),
      /** The id the table's next insert gets (SQLite's sqlite_sequence + 1, MySQL's AUTO_INCREMENT). */
      next_id: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
  ),
  objects: Type.Integer({ minimum: 0 }),
});
export type ArchiveHeader = Static<typeof ArchiveHeader>;

const RowLine = Type.Object({ t: Type.String(), r: Type.Record(Type.String(), Type.Unknown()) });
const ObjectLine = Type.Object({ o: Type.String({ minLength: 1 }), b: Type.String() });
const Line = Type.Union([RowLine, ObjectLine]);

/** Where long runs say how far they are (the CLI: stderr). */
export type Progress = (message: string) => void;

const PAGE_ROWS = 1000;
const PROGRESS_ROWS = 100_000;
/** Rows per INSERT: below SQLite's 500 compound SELECTs (knex's multi-row insert there). */
const INSERT_ROWS = 250;
/** ... and this much JSON per INSERT, well below MySQL's max_allowed_packet. */
const INSERT_BYTES = 4 * 2 ** 20;
/** A first line longer than this is no header. */
const MAX_HEADER_BYTES = 2 ** 20;

const KNEX_TABLES = new Set(['knex_migrations', 'knex_migrations_lock']);
/** Tables a hub fills by itself when it merely starts on a database: not the operator's data. */
const HUB_OWN_TABLES = new Set(['settings', 'job_leases']);

interface Table {
  name: string;
  columns: Record<string, ColumnKind>;
  primaryKey: string[];
  /** Tables its foreign keys point at. */
  references: string[];
}


function kindOf(table: string, column: string, type: string): ColumnKind {
  const t = type.toLowerCase();
  if (t === 'boolean' || t === 'tinyint(1)') return 'boolean';
  if (/blob|binary/.test(t)) return 'binary';
  if (/int|decimal|numeric|float|double|real/.test(t)) return 'number';
  if (/char|text|clob/.test(t)) return 'text';
  throw new Error(`column ${table}.${column} has type ${type}, which a backup cannot carry between databases`);
}

/** The boxfleet tables of the database (not knex's), parents before the tables that reference them. */
async function readTables(db: Knex): Promise<Table[]> {
  const tables = new Map<string, Table>();
  const add = (name: string) => {
    const table: Table = { name, columns: {}, primaryKey: [], references: [] };
    tables.set(name, table);
    return table;
  };
  if (isMysql(db)) {
    const rows = async (sql: string) => ((await db.raw(sql)) as [Record<string, unknown>[]])[0];
    for (const { name } of await rows("SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'")) {
      if (!KNEX_TABLES.has(String(name))) add(String(name));
    }
    for (const c of await rows('SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION')) {
      const table = tables.get(String(c.t));
      if (table) table.columns[String(c.c)] = kindOf(table.name, String(c.c), String(c.type));
    }
    const keys = 'SELECT TABLE_NAME AS t, COLUMN_NAME AS c, CONSTRAINT_NAME AS k, REFERENCED_TABLE_NAME AS r FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION';
    for (const k of await rows(keys)) {
      const table = tables.get(String(k.t));
      if (table && k.k === 'PRIMARY') table.primaryKey.push(String(k.c));
      if (table && k.r) table.references.push(String(k.r));
    }
  } else {
    const names = (await db('sqlite_master').where({ type: 'table' }).pluck('name')) as string[];
    for (const name of names.filter((n) => !n.startsWith('sqlite_') && !KNEX_TABLES.has(n))) {
      const table = add(name);
      const columns = (await db.raw('PRAGMA table_info(??)', [name])) as { name: string; type: string; pk: number }[];
      for (const c of columns) table.columns[c.name] = kindOf(name, c.name, c.type);
      table.primaryKey = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
      table.references = ((await db.raw('PRAGMA foreign_key_list(??)', [name])) as { table: string }[]).map((f) => f.table);
    }
  }
  return inForeignKeyOrder([...tables.values()]);
}

function inForeignKeyOrder(tables: Table[]): Table[] {
  const names = new Set(tables.map((t) => t.name));
  const placed = new Set<string>();
  const ordered: Table[] = [];
  let pending = [...tables].sort((a, b) => (a.name < b.name ? -1 : 1));
  while (pending.length) {
    const ready = pending.filter((t) => t.references.every((r) => r === t.name || placed.has(r) || !names.has(r)));
    if (!ready.length) throw new Error(`tables ${pending.map((t) => t.name).join(', ')} reference each other in a cycle`);
    for (const t of ready) placed.add(t.name);
    ordered.push(...ready);
    pending = pending.filter((t) => !placed.has(t.name));
  }
  return ordered;
}

/** The last migration applied to the database, if any. */
async function schemaVersion(db: Knex): Promise<string | undefined> {
  if (!(await db.schema.hasTable('knex_migrations'))) return undefined;
  return ((await db('knex_migrations').orderBy('id', 'desc').first('name')) as { name: string } | undefined)?.name;
}

/** Per table, the id its next insert gets, where the table has an auto-increment counter. */
async function nextIds(db: Knex): Promise<Map<string, number>> {
  const rows = isMysql(db)
    ? ((await db.raw('SELECT TABLE_NAME AS name, AUTO_INCREMENT AS next FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND AUTO_INCREMENT IS NOT NULL')) as [{ name: string; next: number }[]])[0]
    : ((await db('sqlite_sequence').select('name', db.raw('seq + 1 AS next'))) as { name: string; next: number }[]);
  return new Map(rows.map((r) => [String(r.name), Number(r.next)]));
}

function encodeValue(kind: ColumnKind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (kind === 'boolean') return Boolean(Number(value));
  if (kind === 'binary') return Buffer.from(value as Buffer).toString('base64');
  return value;
}

function decodeValue(kind: ColumnKind | undefined, value: unknown): unknown {
  return kind === 'binary' && typeof value === 'string' ? Buffer.from(value, 'base64') : value;
}

/** A table's rows in primary-key order, a page at a time (keyset paging: every page is one index range). */
async function* pagesOf(db: Knex, table: Table): AsyncGenerator<Record<string, unknown>[]> {
  const key = table.primaryKey;
  let last: Record<string, unknown> | undefined;
  for (;;) {
    const query = db(table.name).select('*').orderBy(key.map((column) => ({ column, order: 'asc' as const }))).limit(PAGE_ROWS);
    const after = last;
    if (after && isMysql(db)) {
      // (k1, k2, …) > (v1, v2, …) spelled out, k1 > v1 OR (k1 = v1 AND k2 > v2) OR …: MariaDB plans
      // this as index ranges but scans the whole index for the row comparison.
      query.where((q) => {
        key.forEach((column, i) =>
          q.orWhere((term) => {
            for (const earlier of key.slice(0, i)) term.where(earlier, after[earlier] as Knex.Value);
            term.where(column, '>', after[column] as Knex.Value);
          }),
        );
      });
    } else if (after) {
      // SQLite searches its index for a row comparison, and scans it for the spelled-out form.
      query.whereRaw(`(${key.map(() => '??').join(', ')}) > (${key.map(() => '?').join(', ')})`, [...key, ...key.map((c) => after[c] as Knex.Value)]);
    }
    const rows = (await query) as Record<string, unknown>[];
    if (rows.length) yield rows;
    if (rows.length < PAGE_ROWS) return;
    last = rows[rows.length - 1];
  }
}

interface Snapshot {
  header: ArchiveHeader;
  tables: Table[];
  keys: string[];
}

async function takeSnapshot(trx: Knex.Transaction, objects: ObjectStore): Promise<Snapshot> {
  // The first read fixes the snapshot: everything after it sees the database as of here.
  const schema_version = await schemaVersion(trx);
  if (!schema_version) throw new Error('the database has no boxfleet tables yet: there is nothing to back up');
  const tables = await readTables(trx);
  const next = await nextIds(trx);
  const described: ArchiveHeader['tables'] = [];
  for (const table of tables) {
    if (!table.primaryKey.length) throw new Error(`table ${table.name} has no primary key, which a backup pages through it by`);
    const [{ n }] = (await trx(table.name).count({ n: '*' })) as [{ n: number | string }];
    const next_id = next.get(table.name);
    described.push({ name: table.name, columns: table.columns, rows: Number(n), ...(next_id && next_id > 1 ? { next_id } : {}) });
  }
  // An object is written before the row that names it, so listing after the snapshot finds every object its rows need.
  const keys = await objects.list();
  const header: ArchiveHeader = {
    format: ARCHIVE_FORMAT,
    format_version: ARCHIVE_FORMAT_VERSION,
    boxfleet_version: AGENT_VERSION,
    schema_version,
    database: isMysql(trx) ? 'mysql' : 'sqlite',
    created_at: new Date().toISOString(),
    tables: described,
    objects: keys.length,
  };
  return { header, tables, keys };
}

async function* archiveText(trx: Knex.Transaction, { header, tables, keys }: Snapshot, objects: ObjectStore, progress: Progress): AsyncGenerator<string> {
  yield `${JSON.stringify(header)}\n`;
  for (const [i, table] of tables.entries()) {
    const kinds = Object.entries(table.columns);
    let rows = 0;
    for await (const page of pagesOf(trx, table)) {
      yield page.map((row) => `${JSON.stringify({ t: table.name, r: Object.fromEntries(kinds.map(([c, kind]) => [c, encodeValue(kind, row[c])])) })}\n`).join('');
      rows += page.length;
      if (rows % PROGRESS_ROWS === 0) progress(`${table.name}: ${rows} rows so far`);
    }
    if (rows !== header.tables[i]!.rows) throw new Error(`table ${table.name} gave ${rows} rows, not the ${header.tables[i]!.rows} it counted: the read was not one snapshot`);
    progress(`${table.name}: ${rows} rows`);
  }
  for (const key of keys) yield `${JSON.stringify({ o: key, b: (await objects.get(key)).toString('base64') })}\n`;
  progress(`objects: ${keys.length}`);
}

/** Writes the text gzip'ed to a private temporary file beside `file`, then renames it into place; returns its size. */
async function writeAtomically(file: string, text: Readable): Promise<number> {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // 0600: the archive holds the JWT secret, node tokens and every user's credentials.
    await pipeline(text, createGzip(), createWriteStream(temporary, { flags: 'wx', mode: 0o600 }));
    // The stream closed its descriptor; fsync through another before the rename makes the archive visible.
    const handle = await open(temporary, 'r');
    let size: number;
    try {
      await handle.sync();
      size = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
    return size;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export interface BackupResult {
  file: string;
  /** Size of the archive. */
  bytes: number;
  header: ArchiveHeader;
}

/** Writes the hub's database (SQLite or MySQL, as `config` says) and object store to one archive. */
export async function backupHub(config: HubConfig, file: string, progress: Progress = () => {}): Promise<BackupResult> {
  if (!config.database_url) {
    const database = path.join(config.data_dir, SQLITE_FILE);
    await access(database).catch(() => {
      throw new Error(`no hub database at ${database}`);
    });
  }
  const objects = await openObjectStore(config.object_store_url, config.data_dir);
  const db = await connectDatabase(config);
  try {
    // One read transaction is one snapshot: SQLite's from its first read; InnoDB's under REPEATABLE READ.
    const trx = await db.transaction(isMysql(db) ? { isolationLevel: 'repeatable read' } : {});
    try {
      const snapshot = await takeSnapshot(trx, objects);
      const bytes = await writeAtomically(path.resolve(file), Readable.from(archiveText(trx, snapshot, objects, progress)));
      return { file: path.resolve(file), bytes, header: snapshot.header };
    } finally {
      await trx.commit();
    }
  } finally {
    await db.destroy();
  }
}

function unreadable(file: string, error: unknown): Error {
  const { code, message } = error as NodeJS.ErrnoException;
  if (code === 'ENOENT') return new Error(`${file}: no such file`);
  if (code === 'Z_DATA_ERROR' && /header check/.test(message)) return new Error(`${file} is not a boxfleet backup (it is not gzip-compressed)`);
  if (code === 'Z_BUF_ERROR') return new Error(`${file} is truncated: its compressed data ends early`);
  if (code?.startsWith('Z_')) return new Error(`${file} is corrupt: ${message}`);
  return error as Error;
}

/** The archive's lines, parsed, with their line numbers. */
async function* archiveLines(file: string): AsyncGenerator<{ value: unknown; line: number }> {
  const gunzip = createGunzip();
  // Errors of either stream reach the loop below through gunzip.
  pipe(createReadStream(file), gunzip, () => undefined);
  const chunks = gunzip.setEncoding('utf8')[Symbol.asyncIterator]() as AsyncIterator<string>;
  const parse = (text: string, line: number) => {
    try {
      return { value: JSON.parse(text) as unknown, line };
    } catch {
      throw new Error(line === 1 ? `${file} is not a boxfleet backup (its first line is not JSON)` : `${file} line ${line} is not JSON`);
    }
  };
  let rest = '';
  let line = 0;
  try {
    for (;;) {
      let next: IteratorResult<string>;
      try {
        next = await chunks.next();
      } catch (error) {
        throw unreadable(file, error);
      }
      if (next.done) break;
      const parts = (rest + next.value).split('\n');
      rest = parts.pop()!;
      if (line === 0 && rest.length > MAX_HEADER_BYTES) throw new Error(`${file} is not a boxfleet backup (its first line is not a header)`);
      for (const text of parts) yield parse(text, ++line);
    }
    if (rest) yield parse(rest, ++line);
  } finally {
    await chunks.return?.();
  }
}

function readHeader(file: string, value: unknown): ArchiveHeader {
  const h = value as Partial<ArchiveHeader> | null;
  if (typeof h !== 'object' || h === null || h.format !== ARCHIVE_FORMAT) throw new Error(`${file} is not a boxfleet backup (its first line is not a ${ARCHIVE_FORMAT} header)`);
  if (h.format_version !== ARCHIVE_FORMAT_VERSION) {
    throw new Error(
      `${file} is a boxfleet backup in format version ${String(h.format_version)} (made by boxfleet ${String(h.boxfleet_version)}); ` +
        `this boxfleet (${AGENT_VERSION}) reads format version ${ARCHIVE_FORMAT_VERSION}`,
    );
  }
  try {
    return validate<ArchiveHeader>(ArchiveHeader, value, 'header');
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

/** Reads the whole archive once: the header, every line's shape, and the counts the header promises. */
async function checkArchive(file: string): Promise<ArchiveHeader> {
  let header: ArchiveHeader | undefined;
  const rows = new Map<string, number>();
  let table = -1;
  let objects = 0;
  for await (const { value, line } of archiveLines(file)) {
    if (!header) {
      header = readHeader(file, value);
      continue;
    }
    const at = `${file} line ${line}`;
    let entry: { t?: string; r?: Record<string, unknown> };
    try {
      entry = validate(Line, value, 'line');
    } catch {
      throw new Error(`${at} is neither a row {"t","r"} nor an object {"o","b"}`);
    }
    if (entry.t === undefined) {
      objects += 1;
      continue;
    }
    if (objects) throw new Error(`${at}: a row of table ${entry.t} after the objects`);
    if (header.tables[table]?.name !== entry.t) {
      const index = header.tables.findIndex((t) => t.name === entry.t);
      if (index < 0) throw new Error(`${at}: a row of table ${entry.t}, which the header does not list`);
      if (index < table) throw new Error(`${at}: a row of table ${entry.t} after the rows of table ${header.tables[table]!.name}`);
      table = index;
    }
    const { name, columns } = header.tables[table]!;
    const unknown = Object.keys(entry.r!).find((c) => !(c in columns));
    if (unknown) throw new Error(`${at}: a row of table ${name} with column ${unknown}, which the header does not list`);
    rows.set(name, (rows.get(name) ?? 0) + 1);
  }
  if (!header) throw new Error(`${file} is not a boxfleet backup (it is empty)`);
  for (const t of header.tables) {
    if ((rows.get(t.name) ?? 0) !== t.rows) throw new Error(`${file} is incomplete: table ${t.name} has ${rows.get(t.name) ?? 0} rows, its header says ${t.rows}`);
  }
  if (objects !== header.objects) throw new Error(`${file} is incomplete: it has ${objects} objects, its header says ${header.objects}`);
  return header;
}

const migrationsUpTo = (version: string): Knex.MigrationSource<string> => ({
  ...migrationSource,
  getMigrations: async (loaders) => {
    const all = await migrationSource.getMigrations(loaders);
    return all.slice(0, all.indexOf(version) + 1);
  },
});

/** Refuses an archive whose schema this boxfleet does not have, and one naming a table or column that schema lacks. */
async function checkSchema(file: string, header: ArchiveHeader, known: string[]): Promise<void> {
  const latest = known[known.length - 1]!;
  if (!known.includes(header.schema_version)) {
    throw new Error(
      header.schema_version > latest
        ? `${file} has schema version ${header.schema_version}, newer than this boxfleet (${AGENT_VERSION}) knows (${latest}): restore it with boxfleet ${header.boxfleet_version} or later`
        : `${file} has schema version ${header.schema_version}, which this boxfleet (${AGENT_VERSION}) does not know (it knows ${known[0]} to ${latest})`,
    );
  }
  // The tables that schema version has, from a scratch database in memory: the target is not touched yet.
  const scratch = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
  try {
    await scratch.migrate.latest({ migrationSource: migrationsUpTo(header.schema_version) });
    const tables = new Map((await readTables(scratch)).map((t) => [t.name, t]));
    for (const { name, columns } of header.tables) {
      const table = tables.get(name);
      if (!table) throw new Error(`${file} has rows of table ${name}, which schema version ${header.schema_version} does not have`);
      const unknown = Object.keys(columns).find((c) => !(c in table.columns));
      if (unknown) throw new Error(`${file} has column ${name}.${unknown}, which schema version ${header.schema_version} does not have`);
    }
  } finally {
    await scratch.destroy();
  }
}

/** Refuses a database that is newer than the archive, or that already holds the operator's data (unless forced). */
async function checkTarget(db: Knex, header: ArchiveHeader, known: string[], force: boolean): Promise<void> {
  const current = await schemaVersion(db);
  if (!current) return;
  if (!known.includes(current)) throw new Error(`the database is at schema version ${current}, which this boxfleet (${AGENT_VERSION}) does not know`);
  if (known.indexOf(current) > known.indexOf(header.schema_version)) {
    throw new Error(
      `the database is at schema version ${current}, newer than the archive's ${header.schema_version}: ` +
        'restore into a new, empty database (the restored data is migrated to the current schema afterwards)',
    );
  }
  if (force) return;
  for (const table of await readTables(db)) {
    if (!HUB_OWN_TABLES.has(table.name) && (await db(table.name).first())) {
      throw new Error(`the database already holds data (table ${table.name} has rows): restore into an empty database, or pass --force to replace everything in it`);
    }
  }
}

/** Inserts the archive's rows in batches and puts its objects, inside the restore's transaction. */
async function load(trx: Knex.Transaction, file: string, header: ArchiveHeader, objects: ObjectStore, progress: Progress): Promise<void> {
  const kinds = new Map(header.tables.map((t) => [t.name, t.columns]));
  let table = '';
  let batch: Record<string, unknown>[] = [];
  let bytes = 0;
  let rows = 0;
  const flush = async () => {
    if (!batch.length) return;
    try {
      await trx(table).insert(batch);
    } catch (error) {
      const reason = (error as { sqlMessage?: string }).sqlMessage ?? (error as Error).message.split(' - ').pop();
      throw new Error(`restoring table ${table} (rows ${rows - batch.length + 1} to ${rows}): ${reason}`);
    }
    batch = [];
    bytes = 0;
  };
  const finishTable = async () => {
    await flush();
    if (table) progress(`${table}: ${rows} rows`);
  };
  let restoredObjects = 0;
  for await (const { value, line } of archiveLines(file)) {
    if (line === 1) continue;
    const entry = value as { t?: string; r?: Record<string, unknown>; o?: string; b?: string };
    if (entry.t === undefined) {
      if (restoredObjects === 0) await finishTable();
      await objects.put(entry.o!, Buffer.from(entry.b!, 'base64'));
      restoredObjects += 1;
      continue;
    }
    if (entry.t !== table) {
      await finishTable();
      table = entry.t;
      rows = 0;
    }
    const columns = kinds.get(table)!;
    batch.push(Object.fromEntries(Object.entries(entry.r!).map(([c, v]) => [c, decodeValue(columns[c], v)])));
    rows += 1;
    bytes += JSON.stringify(entry.r).length;
    if (batch.length >= INSERT_ROWS || bytes >= INSERT_BYTES) await flush();
    if (rows % PROGRESS_ROWS === 0) progress(`${table}: ${rows} rows so far`);
  }
  if (restoredObjects === 0) await finishTable();
  progress(`objects: ${restoredObjects}`);
}

export interface RestoreOptions {
  /** Replace whatever the database holds. */
  force?: boolean;
  progress?: Progress;
}

export interface RestoreResult {
  file: string;
  header: ArchiveHeader;
  /** The schema the restored database is at now (the archive's, migrated up to this boxfleet's). */
  schema_version: string;
}

/**
 * Restores an archive into the hub database and object store `config` names. The whole archive is
 * checked before anything is touched, rows go in in one transaction, and a failure rolls it back.
 */
export async function restoreHub(config: HubConfig, file: string, { force = false, progress = () => {} }: RestoreOptions = {}): Promise<RestoreResult> {
  const header = await checkArchive(file);
  const known = await migrationSource.getMigrations([]);
  await checkSchema(file, header, known);
  const objects = await openObjectStore(config.object_store_url, config.data_dir);
  const db = await connectDatabase(config);
  try {
    await checkTarget(db, header, known, force);
    await db.migrate.latest({ migrationSource: migrationsUpTo(header.schema_version) });
    const tables = await readTables(db);
    await db.transaction(async (trx) => {
      // Children first. Without --force only the hub's own leftovers (settings, job leases) are here.
      for (const table of [...tables].reverse()) await trx(table.name).delete();
      await load(trx, file, header, objects, progress);
      if (!isMysql(trx)) {
        for (const { name, next_id } of header.tables.filter((t) => t.next_id)) {
          await trx('sqlite_sequence').where({ name }).delete();
          await trx('sqlite_sequence').insert({ name, seq: next_id! - 1 });
        }
      }
    });
    // After the commit: ALTER TABLE would commit the transaction. MySQL keeps the counter above the ids present.
    if (isMysql(db)) {
      for (const { name, next_id } of header.tables.filter((t) => t.next_id)) await db.raw(`ALTER TABLE ?? AUTO_INCREMENT = ${Number(next_id)}`, [name]);
    }
    await db.migrate.latest({ migrationSource });
    return { file: path.resolve(file), header, schema_version: known[known.length - 1]! };
  } finally {
    await db.destroy();
  }
}
