// The statements the traffic job stores applied ledger batches with, in each database's dialect.
//
// Raw SQL, not knex's builder: at thousands of rows a batch, building the statements (and on SQLite
// compiling a fresh statement of some 30,000 placeholders every time) cost as much as running them.
// SQLite gets each list as ONE JSON parameter read by json_each, so its statements stay short and
// compile in microseconds; usage rows, the bulk, go through prepared statements of 200 rows each.
// MySQL gets the integers written into the statement (each checked to be an integer first, so
// nothing else can get in) and the strings as parameters, or escaped by knex.
import type { Knex } from 'knex';
import { isMysql, selectRows } from '../db/queries.js';
import { chunks } from '../jobs/common.js';
import { CHARGEABLE_STATUSES, type ChargeableStatus, type ChargeCandidate } from './policy.js';

/** Rows per MySQL statement: keeps one statement far below max_allowed_packet (16 MB by default). */
const MYSQL_ROWS_PER_STATEMENT = 5000;

/** One usage_hourly cell to add to. */
export interface UsageRow {
  nodeId: string;
  userId: number;
  hour: number;
  upload: number;
  download: number;
  billed: number;
}

export interface Chargeables {
  /** Users found, by their exact name. */
  ids: Map<string, number>;
  /** Their subscriptions that traffic may be charged to. */
  candidates: ChargeCandidate[];
}

/** What this file uses of a better-sqlite3 connection (the one a knex transaction runs on). */
interface SqliteConnection {
  prepare(sql: string): { run(...values: unknown[]): unknown };
}
type SqliteStatement = ReturnType<SqliteConnection['prepare']>;
const usageInserts = new WeakMap<SqliteConnection, { many: SqliteStatement; one: SqliteStatement }>();

/** Usage rows per SQLite statement (6 parameters each, far below SQLite's 32,766). */
const SQLITE_ROWS_PER_STATEMENT = 200;

const sqliteUpsert = (rowCount: number) => `
  INSERT INTO usage_hourly (node_id, user_id, hour, upload_bytes, download_bytes, billed_bytes)
  VALUES ${Array.from({ length: rowCount }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}
  ON CONFLICT (node_id, user_id, hour) DO UPDATE SET upload_bytes = upload_bytes + excluded.upload_bytes,
    download_bytes = download_bytes + excluded.download_bytes, billed_bytes = billed_bytes + excluded.billed_bytes`;


/** Whether transactions on `db` can write at the same time (MySQL), or one at a time (SQLite). */
export const concurrentWriters = isMysql;

/** `n` as SQL text, refused unless it is an integer (the bytes come from the node's answer). */
function integer(n: number): string {
  if (!Number.isSafeInteger(n)) throw new TypeError(`not an integer byte count or id: ${String(n)}`);
  return String(n);
}

const CHARGEABLES_SQL = (namesIn: string) => `
  SELECT u.id AS user_id, u.name, s.id AS subscription_id, s.status, s.end_time, p.node_tags
  FROM users AS u
  LEFT JOIN subscriptions AS s ON s.user_id = u.id AND s.status IN (${CHARGEABLE_STATUSES.map(() => '?').join(', ')})
  LEFT JOIN plans AS p ON p.id = s.plan_id
  WHERE u.name IN (${namesIn})`;

/**
 * The users named and their chargeable subscriptions, in one query. A name matches only the user
 * with exactly that name (MySQL's collation would also match it in another case).
 *
 * On MySQL the users are first locked (shared) until the commit: usage_hourly has no foreign key to
 * users (migration 013), so this is what keeps a user deleted meanwhile (users route, which deletes
 * their usage rows) from getting new rows: the delete waits for this transaction, or went first and
 * the user is not found. Not the join itself, which would lock the subscriptions shared too, and two
 * appliers would then wait on each other to update them. SQLite runs one writer at a time.
 */
export async function readChargeables(trx: Knex.Transaction, names: readonly string[]): Promise<Chargeables> {
  let rows: Record<string, unknown>[] = [];
  if (isMysql(trx)) {
    for (const part of chunks(names, MYSQL_ROWS_PER_STATEMENT)) {
      await trx.raw(`SELECT id FROM users WHERE name IN (${part.map(() => '?').join(', ')}) LOCK IN SHARE MODE`, part);
    }
    for (const part of chunks(names, MYSQL_ROWS_PER_STATEMENT)) {
      rows = rows.concat(await selectRows<Record<string, unknown>>(trx, CHARGEABLES_SQL(part.map(() => '?').join(', ')), [...CHARGEABLE_STATUSES, ...part]));
    }
  } else {
    rows = await selectRows(trx, CHARGEABLES_SQL('SELECT value FROM json_each(?)'), [...CHARGEABLE_STATUSES, JSON.stringify(names)]);
  }
  const ids = new Map<string, number>();
  const candidates: ChargeCandidate[] = [];
  const tagLists = new Map<string, string[]>(); // plans are few: parse each one's tags once
  const wanted = new Set(names);
  for (const row of rows) {
    const name = String(row.name);
    if (!wanted.has(name)) continue;
    const userId = Number(row.user_id);
    ids.set(name, userId);
    if (row.subscription_id === null) continue;
    const tags = String(row.node_tags);
    if (!tagLists.has(tags)) tagLists.set(tags, JSON.parse(tags) as string[]);
    candidates.push({
      id: Number(row.subscription_id),
      userId,
      status: row.status as ChargeableStatus,
      endTime: Number(row.end_time),
      planNodeTags: tagLists.get(tags)!,
    });
  }
  return { ids, candidates };
}

/** usage_hourly += each row (inserted where the cell is new), rows in the order given. */
export async function addUsage(trx: Knex.Transaction, rows: readonly UsageRow[]): Promise<void> {
  if (isMysql(trx)) {
    // Each node id escaped once by knex, not bound again in every row.
    const literals = new Map<string, string>();
    const literal = (nodeId: string) => {
      if (!literals.has(nodeId)) literals.set(nodeId, trx.raw('?', [nodeId]).toQuery());
      return literals.get(nodeId)!;
    };
    for (const part of chunks(rows, MYSQL_ROWS_PER_STATEMENT)) {
      const values = part.map((r) => `(${literal(r.nodeId)}, ${integer(r.userId)}, ${integer(r.hour)}, ${integer(r.upload)}, ${integer(r.download)}, ${integer(r.billed)})`);
      await trx.raw(
        `INSERT INTO usage_hourly (node_id, user_id, hour, upload_bytes, download_bytes, billed_bytes) VALUES ${values.join(', ')}
         ON DUPLICATE KEY UPDATE upload_bytes = upload_bytes + VALUES(upload_bytes), download_bytes = download_bytes + VALUES(download_bytes),
           billed_bytes = billed_bytes + VALUES(billed_bytes)`,
      );
    }
    return;
  }
  // Prepared statements per connection, each run for SQLITE_ROWS_PER_STATEMENT rows at once and the
  // rest one row at a time: a million rows an hour make both compiling statements and decoding a
  // JSON list per row (json_each) cost more than the inserts, and a statement per row costs SQLite's
  // per-statement overhead a million times.
  const connection = await (trx.client as { acquireConnection(): Promise<SqliteConnection> }).acquireConnection();
  let inserts = usageInserts.get(connection);
  if (!inserts) {
    inserts = { many: connection.prepare(sqliteUpsert(SQLITE_ROWS_PER_STATEMENT)), one: connection.prepare(sqliteUpsert(1)) };
    usageInserts.set(connection, inserts);
  }
  const values: unknown[] = [];
  let i = 0;
  for (; i + SQLITE_ROWS_PER_STATEMENT <= rows.length; i += SQLITE_ROWS_PER_STATEMENT) {
    values.length = 0;
    for (let k = i; k < i + SQLITE_ROWS_PER_STATEMENT; k++) {
      const r = rows[k]!;
      values.push(r.nodeId, r.userId, r.hour, r.upload, r.download, r.billed);
    }
    inserts.many.run(...values);
  }
  for (const r of rows.slice(i)) inserts.one.run(r.nodeId, r.userId, r.hour, r.upload, r.download, r.billed);
}

/**
 * traffic_used_bytes += bytes for each [subscription id, bytes], joined to the list in one
 * statement (several times faster than a CASE over the ids); rows in the order given, so
 * concurrent appliers that order them alike lock them alike.
 */
export async function addUsed(trx: Knex.Transaction, increments: readonly (readonly [number, number])[], updatedAt: number): Promise<void> {
  if (isMysql(trx)) {
    for (const part of chunks(increments, MYSQL_ROWS_PER_STATEMENT)) {
      const list = part.map(([id, bytes], i) => (i === 0 ? `SELECT ${integer(id)} AS id, ${integer(bytes)} AS bytes` : `SELECT ${integer(id)}, ${integer(bytes)}`));
      await trx.raw(
        `UPDATE subscriptions AS s JOIN (${list.join(' UNION ALL ')}) AS v ON s.id = v.id
         SET s.traffic_used_bytes = s.traffic_used_bytes + v.bytes, s.updated_at = ?`,
        [updatedAt],
      );
    }
    return;
  }
  await trx.raw(
    `UPDATE subscriptions SET traffic_used_bytes = traffic_used_bytes + v.bytes, updated_at = ?
     FROM (SELECT value ->> 0 AS id, value ->> 1 AS bytes FROM json_each(?)) AS v WHERE subscriptions.id = v.id`,
    [updatedAt, JSON.stringify(increments)],
  );
}
