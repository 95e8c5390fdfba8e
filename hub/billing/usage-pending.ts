// usage_pending (migration 020): the per-node, per-user detail of applied traffic on its way to
// usage_hourly. The traffic job writes one row per node and hour of each batch, in the transaction
// that bills it; the usage-rollup job (hub/jobs/usage-rollup.ts) folds the rows into usage_hourly
// and deletes them in one transaction, so every byte is in exactly one of the two tables at any
// time, and a (node, user, hour) cell is upserted once per roll-up instead of once per tick.
//
// A row's cells are one JSON array of numbers, four per user: user id, upload, download and billed
// bytes (billed as the traffic job rounded it, so usage_hourly keeps adding up to what the
// subscriptions were charged). JSON because V8 parses a flat number array fast and both databases
// store it as plain text.
import type { Knex } from 'knex';
import { isMysql, selectRows } from '../db/queries.js';
import { chunks } from '../jobs/common.js';
import { addUsage, type UsageRow } from './ledger-store.js';

/** Numbers per cell: user id, upload, download, billed. */
const CELL = 4;

/**
 * Rows per INSERT: a row holds up to 10,000 users (the agent's drain limit), some 600 KB of text,
 * so 16 stay far below MySQL's default max_allowed_packet (16 MB).
 */
const ROWS_PER_STATEMENT = 16;

/** User ids per existence check. */
const IDS_PER_STATEMENT = 5000;

/** One node's usage in one hour of one batch, by user. */
export interface PendingUsage {
  nodeId: string;
  hour: number;
  upload: number;
  download: number;
  billed: number;
  /** user id, upload, download, billed; again for each user. */
  cells: number[];
}

/** Stores the batches' usage rows (in the billing transaction). */
export async function insertPending(trx: Knex.Transaction, rows: readonly PendingUsage[]): Promise<void> {
  for (const part of chunks(rows, ROWS_PER_STATEMENT)) {
    await trx('usage_pending').insert(
      part.map((r) => ({ node_id: r.nodeId, hour: r.hour, upload_bytes: r.upload, download_bytes: r.download, billed_bytes: r.billed, cells: JSON.stringify(r.cells) })),
    );
  }
}

/** A pending row's cells, refused unless they are what insertPending wrote. */
function decodeCells(id: unknown, text: string): number[] {
  let cells: unknown;
  try {
    cells = JSON.parse(text);
  } catch {
    cells = undefined;
  }
  const valid = Array.isArray(cells) && cells.length % CELL === 0 && cells.every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
  if (!valid) throw new Error(`usage_pending row ${String(id)}: its cells are not user id and byte count quadruples; nothing was rolled up with it`);
  return cells as number[];
}

/** Pending rows some other roll-up deleted after this one read them: this one's transaction rolls back. */
export class PendingTakenError extends Error {
  constructor() {
    super('pending usage rows were rolled up by another hub meanwhile');
  }
}

export interface FoldOutcome {
  /** usage_pending rows folded and deleted. */
  pendingRows: number;
  /** usage_hourly cells added to. */
  usageRows: number;
  /** Cells of users deleted since they were billed (their usage rows were deleted with them). */
  droppedCells: number;
}

/**
 * Which of `ids` are still users. On MySQL they stay locked (shared) until the commit, so a user
 * deleted meanwhile gets no usage rows (usage_hourly has no foreign key to users, migration 013):
 * the delete waits, or went first and the id is not found. SQLite runs one writer at a time.
 */
async function existingUsers(trx: Knex.Transaction, ids: readonly number[]): Promise<number[]> {
  const found: number[] = [];
  for (const part of chunks(ids, IDS_PER_STATEMENT)) {
    const rows = isMysql(trx)
      ? await selectRows<{ id: number }>(trx, `SELECT id FROM users WHERE id IN (${part.join(', ')}) LOCK IN SHARE MODE`)
      : await selectRows<{ id: number }>(trx, 'SELECT id FROM users WHERE id IN (SELECT value FROM json_each(?))', [JSON.stringify(part)]);
    for (const row of rows) found.push(Number(row.id));
  }
  return found;
}

/**
 * Folds every pending row of `nodeIds` into usage_hourly and deletes it, in the transaction `trx`
 * (roll it back on any error: then neither table changed). The rows are deleted first, so a second
 * roll-up of the same rows waits for this one, and then finds fewer rows than it read and throws
 * PendingTakenError instead of adding them again. Nodes one at a time, each node's cells summed
 * over all its rows before one upsert.
 */
export async function foldPending(trx: Knex.Transaction, nodeIds: readonly string[]): Promise<FoldOutcome> {
  const rows = (await trx('usage_pending')
    .whereIn('node_id', nodeIds)
    .orderBy([{ column: 'node_id' }, { column: 'id' }])
    .select('id', 'node_id', 'hour', 'cells')) as { id: number | string; node_id: string; hour: number | string; cells: string }[];
  const outcome: FoldOutcome = { pendingRows: rows.length, usageRows: 0, droppedCells: 0 };
  if (rows.length === 0) return outcome;
  let deleted = 0;
  for (const part of chunks(rows, IDS_PER_STATEMENT)) deleted += await trx('usage_pending').whereIn('id', part.map((r) => r.id)).delete();
  if (deleted !== rows.length) throw new PendingTakenError();

  // Whether each user id seen so far still names a user (nodes mostly share their users).
  const isUser = new Map<number, boolean>();
  for (let start = 0; start < rows.length; ) {
    const nodeId = rows[start]!.node_id;
    let end = start;
    // hour → user id → [upload, download, billed]
    const hours = new Map<number, Map<number, [number, number, number]>>();
    for (; end < rows.length && rows[end]!.node_id === nodeId; end++) {
      const row = rows[end]!;
      const hour = Number(row.hour);
      let users = hours.get(hour);
      if (!users) hours.set(hour, (users = new Map()));
      const cells = decodeCells(row.id, row.cells);
      for (let i = 0; i < cells.length; i += CELL) {
        const cell = users.get(cells[i]!);
        if (cell) {
          cell[0] += cells[i + 1]!;
          cell[1] += cells[i + 2]!;
          cell[2] += cells[i + 3]!;
        } else users.set(cells[i]!, [cells[i + 1]!, cells[i + 2]!, cells[i + 3]!]);
      }
    }
    start = end;

    const unchecked = new Set<number>();
    for (const users of hours.values()) for (const userId of users.keys()) if (!isUser.has(userId)) unchecked.add(userId);
    if (unchecked.size > 0) {
      for (const userId of unchecked) isUser.set(userId, false);
      for (const userId of await existingUsers(trx, [...unchecked])) isUser.set(userId, true);
    }
    const usage: UsageRow[] = [];
    for (const [hour, users] of hours) {
      for (const [userId, [upload, download, billed]] of users) {
        if (isUser.get(userId)) usage.push({ nodeId, userId, hour, upload, download, billed });
        else outcome.droppedCells += 1;
      }
    }
    // In key order, as the locks are taken.
    usage.sort((a, b) => a.userId - b.userId || a.hour - b.hour);
    await addUsage(trx, usage);
    outcome.usageRows += usage.length;
  }
  return outcome;
}

/** Pending rows read per query by pendingUsageOf: each may hold some 600 KB of cells. */
const ROWS_PER_READ = 16;

const COMMA = 44;
const OPEN = 91;
const CLOSE = 93;

/**
 * One user's upload, download and billed bytes in a row's cells, summed if they are there more than
 * once, without parsing the other users' (a row holds up to 10,000): the user id as a whole number
 * at the start of a cell, i.e. after a multiple of four commas. The text is as insertPending writes
 * it (JSON.stringify: no spaces); a cell that is not three safe integers is refused as decodeCells does.
 */
function cellOf(id: unknown, text: string, userId: number): [number, number, number] | undefined {
  const token = String(userId);
  let found: [number, number, number] | undefined;
  let commas = 0;
  let counted = 0;
  for (let at = text.indexOf(token); at !== -1; at = text.indexOf(token, at + token.length)) {
    const before = text.charCodeAt(at - 1);
    if ((before !== COMMA && before !== OPEN) || text.charCodeAt(at + token.length) !== COMMA) continue;
    for (; counted < at; counted++) if (text.charCodeAt(counted) === COMMA) commas++;
    if (commas % CELL !== 0) continue;
    const bytes: number[] = [];
    for (let end = at + token.length; bytes.length < CELL - 1 && text.charCodeAt(end) === COMMA; ) {
      const first = end + 1;
      for (end = first; end < text.length && text.charCodeAt(end) !== COMMA && text.charCodeAt(end) !== CLOSE; end++);
      bytes.push(end > first ? Number(text.slice(first, end)) : NaN);
    }
    if (bytes.length !== CELL - 1 || !bytes.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw new Error(`usage_pending row ${String(id)}: user ${token}'s cell is not three byte counts`);
    }
    found = found ? [found[0] + bytes[0]!, found[1] + bytes[1]!, found[2] + bytes[2]!] : [bytes[0]!, bytes[1]!, bytes[2]!];
  }
  return found;
}

/** One user's bytes in one node's pending row. */
export interface PendingCell {
  node_id: string;
  hour: number;
  upload_bytes: number;
  download_bytes: number;
  billed_bytes: number;
}

/**
 * One user's cells in the pending rows of the hours in [from, to): what usage_hourly does not hold
 * yet. Every row's cells are read, a few rows at a time (the rows are what the traffic job wrote
 * since the last roll-up, so their number is bounded by usage_rollup_interval_s), and searched for
 * the user's cell rather than parsed whole.
 */
export async function pendingUsageOf(db: Knex, userId: number, from: number, to: number): Promise<PendingCell[]> {
  const found: PendingCell[] = [];
  const ids = (await db('usage_pending').where('hour', '>=', from).andWhere('hour', '<', to).orderBy('id').select('id')) as { id: number | string }[];
  for (const part of chunks(ids, ROWS_PER_READ)) {
    const rows = (await db('usage_pending').whereIn('id', part.map((r) => r.id)).select('id', 'node_id', 'hour', 'cells')) as {
      id: number | string;
      node_id: string;
      hour: number | string;
      cells: string;
    }[];
    for (const row of rows) {
      const cell = cellOf(row.id, row.cells, userId);
      if (cell) found.push({ node_id: row.node_id, hour: Number(row.hour), upload_bytes: cell[0], download_bytes: cell[1], billed_bytes: cell[2] });
    }
  }
  return found;
}
