// The users import/export as CSV: one user per line after a header line, the row of users-io.ts
// flattened into columns. An empty cell is a value not given (a default on create, the value kept on
// an update). Cells are written as they are, without formula escaping, so a file reads back the same.
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { HubError } from './errors.js';
import type { ReadRow, RowError, UserRow } from './users-io.js';

/** Each column and where it goes in a row, in the order an export writes them. */
const COLUMNS: readonly (readonly [column: string, path: string])[] = [
  ['name', 'name'],
  ['note', 'note'],
  ['status', 'status'],
  ['plan', 'plan'],
  ['subscription_status', 'subscription.status'],
  ['suspended_reason', 'subscription.suspended_reason'],
  ['start_time', 'subscription.start_time'],
  ['end_time', 'subscription.end_time'],
  ['last_reset_at', 'subscription.last_reset_at'],
  ['traffic_used_bytes', 'subscription.traffic_used_bytes'],
  ['traffic_total_bytes', 'subscription.traffic_total_bytes'],
  ['uuid', 'uuid'],
  ['password', 'password'],
  ['ss_key', 'ss_key'],
  ['sub_token', 'sub_token'],
  // Read, never written: an export names plans, which another hub has under other ids.
  ['plan_id', 'plan_id'],
];
const CREDENTIAL_COLUMNS = new Set(['uuid', 'password', 'ss_key', 'sub_token']);
const pathOf = new Map(COLUMNS);
const columnOf = new Map(COLUMNS.map(([column, path]) => [path, column]));

export function usersToCsv(rows: readonly UserRow[], { credentials }: { credentials: boolean }): string {
  const columns = COLUMNS.filter(([column]) => column !== 'plan_id' && (credentials || !CREDENTIAL_COLUMNS.has(column)));
  const cell = (row: UserRow, path: string) => {
    const [first, second] = path.split('.') as [keyof UserRow, string | undefined];
    const value = second === undefined ? row[first] : (row[first] as Record<string, unknown> | null | undefined)?.[second];
    return value ?? '';
  };
  return stringify(
    rows.map((row) => columns.map(([, path]) => cell(row, path))),
    { header: true, columns: columns.map(([column]) => column) },
  );
}

/** The rows of a CSV file; a file that is not CSV, or whose header is wrong, is refused whole. */
export function usersFromCsv(text: string): ReadRow[] {
  let records: string[][];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true });
  } catch (error) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `not CSV: ${(error as Error).message}`);
  }
  const [header, ...lines] = records;
  if (!header) throw new HubError('HUB_ERR_BAD_REQUEST', 'the CSV is empty: its first line names the columns (name, note, status, ...)');
  const unknown = header.find((column) => !pathOf.has(column));
  if (unknown !== undefined) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `the CSV has an unknown column "${unknown}"; the columns are ${COLUMNS.map(([c]) => c).join(', ')}`);
  }
  const repeated = header.find((column, i) => header.indexOf(column) !== i);
  if (repeated !== undefined) throw new HubError('HUB_ERR_BAD_REQUEST', `the CSV has the column "${repeated}" twice`);
  if (!header.includes('name')) throw new HubError('HUB_ERR_BAD_REQUEST', 'the CSV has no "name" column');
  return lines.map((cells) => {
    if (cells.length !== header.length) {
      return { unreadable: { field: '', message: `has ${cells.length} cells; the header has ${header.length}` } };
    }
    const value: Record<string, unknown> = {};
    header.forEach((column, i) => {
      if (cells[i] === '') return;
      const [first, second] = pathOf.get(column)!.split('.') as [string, string | undefined];
      if (second === undefined) value[first] = cells[i];
      else ((value[first] ??= {}) as Record<string, unknown>)[second] = cells[i];
    });
    return { value };
  });
}

/** The error with its field named as the CSV's column. */
export const asCsvError = (error: RowError): RowError => ({ ...error, field: columnOf.get(error.field) ?? error.field });
