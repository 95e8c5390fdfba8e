// The users table as the dashboard pages it: one SQL query (SQLite and MySQL alike) that joins each
// user to the subscription governing them, derives the status the table shows, and sorts, filters
// and pages on the server. The derived status is `tableStatus` below written in SQL; a test holds
// the two equal.
import type { Knex } from 'knex';
import { iso, type SubscriptionStatus } from './db/models.js';
import { likeLiteral, pagedRows } from './db/queries.js';
import { parseSort, type SortValue } from './sort.js';
import { governing } from './users.js';

/** What the table says a user is, with the reason when they cannot connect. */
export const TABLE_STATUSES = ['active', 'suspended_quota', 'suspended_admin', 'expired', 'disabled', 'no_plan'] as const;
export type TableStatus = (typeof TABLE_STATUSES)[number];

export const TABLE_SORTS = ['name', 'status', 'plan', 'usage_percent', 'expires_at', 'last_traffic_at', 'created_at'] as const;
type SortKey = (typeof TABLE_SORTS)[number];

export interface TableFilters {
  status?: TableStatus;
  plan_id?: number;
  /** Part of the name or the note, taken literally. */
  q?: string;
}

/** The table status of a user whose non-cancelled subscriptions are given newest first. */
export function tableStatus(
  userStatus: string,
  newestFirst: readonly { status: SubscriptionStatus; suspended_reason: 'quota' | 'admin' | null }[],
): TableStatus {
  if (userStatus === 'disabled') return 'disabled';
  const current = governing(newestFirst);
  if (!current) return 'no_plan';
  if (current.status === 'suspended') return current.suspended_reason === 'quota' ? 'suspended_quota' : 'suspended_admin';
  return current.status === 'active' ? 'active' : 'expired';
}

// `governing` in SQL: the live (active or suspended) subscription, of which there is at most one,
// else the newest that is not cancelled. Both subqueries use the (user_id, status) index.
const GOVERNING_ID = `COALESCE(
  (SELECT MAX(s1.id) FROM subscriptions s1 WHERE s1.user_id = u.id AND s1.status IN ('active', 'suspended')),
  (SELECT MAX(s2.id) FROM subscriptions s2 WHERE s2.user_id = u.id AND s2.status <> 'cancelled'))`;

const STATUS_SQL = `CASE
  WHEN u.status = 'disabled' THEN 'disabled'
  WHEN g.id IS NULL THEN 'no_plan'
  WHEN g.status = 'suspended' AND g.suspended_reason = 'quota' THEN 'suspended_quota'
  WHEN g.status = 'suspended' THEN 'suspended_admin'
  WHEN g.status = 'active' THEN 'active'
  ELSE 'expired' END`;

// A plan without a limit (0 bytes) has no percentage.
const USAGE_SQL = 'CASE WHEN g.traffic_total_bytes > 0 THEN g.traffic_used_bytes * 100.0 / g.traffic_total_bytes END';

// The newest usage hour of the user on any node: one MAX per node through usage_hourly's primary key
// (node_id, user_id, hour), which SQLite and MySQL answer with a single index seek; usage_hourly has
// no index that starts with user_id (it costs the traffic job too much). Pending rows (not yet rolled
// up) are not read: their cells are packed, so the figure may lag by one roll-up.
const LAST_TRAFFIC_SQL = `(SELECT MAX((SELECT MAX(h.hour) FROM usage_hourly h WHERE h.node_id = n.id AND h.user_id = u.id)) FROM nodes n)`;

const SORT_SQL: Record<SortKey, string> = {
  name: 'LOWER(u.name)',
  status: STATUS_SQL,
  plan: 'LOWER(p.name)',
  usage_percent: USAGE_SQL,
  expires_at: 'g.end_time',
  last_traffic_at: LAST_TRAFFIC_SQL,
  created_at: 'u.created_at',
};

interface Row {
  id: number;
  name: string;
  note: string;
  status: 'active' | 'disabled';
  created_at: number | string;
  table_status: TableStatus;
  plan_id: number | null;
  plan_name: string | null;
  traffic_used_bytes: number | string | null;
  traffic_total_bytes: number | string | null;
  usage_percent: number | string | null;
  end_time: number | string | null;
  last_traffic_at: number | string | null;
}

const numberOrNull = (value: number | string | null) => (value === null ? null : Number(value));

function toTableRow(row: Row) {
  const usage = numberOrNull(row.usage_percent);
  return {
    id: row.id,
    name: row.name,
    note: row.note,
    status: row.status,
    created_at: iso(Number(row.created_at))!,
    table_status: row.table_status,
    plan: row.plan_id === null ? null : { id: row.plan_id, name: row.plan_name! },
    traffic_used_bytes: numberOrNull(row.traffic_used_bytes),
    traffic_total_bytes: numberOrNull(row.traffic_total_bytes),
    usage_percent: usage === null ? null : Math.round(usage * 100) / 100,
    expires_at: iso(numberOrNull(row.end_time)),
    last_traffic_at: iso(numberOrNull(row.last_traffic_at)),
  };
}
export type TableRow = ReturnType<typeof toTableRow>;

/** The users matching `filters`, joined to their governing subscription and its plan; unordered. */
export function matchingUsers(db: Knex, { status, plan_id, q }: TableFilters): Knex.QueryBuilder {
  const query = db('users as u')
    .leftJoin('subscriptions as g', (on) => on.on('g.id', '=', db.raw(GOVERNING_ID)))
    .leftJoin('plans as p', 'p.id', 'g.plan_id');
  if (status) query.whereRaw(`${STATUS_SQL} = ?`, [status]);
  if (plan_id !== undefined) query.where('g.plan_id', plan_id);
  if (q) {
    const pattern = likeLiteral(q, '%', '%');
    query.where((w) => w.whereRaw(`u.name LIKE ? ESCAPE '!'`, [pattern]).orWhereRaw(`u.note LIKE ? ESCAPE '!'`, [pattern]));
  }
  return query;
}

/**
 * One page of the table. Without a sort the users come in the order they were created (by id).
 * Rows without a value for the sort key (no plan, never any traffic) come last either way; ties
 * go by id, so pages do not overlap.
 */
export async function usersTablePage(db: Knex, filters: TableFilters, sort: SortValue<SortKey> | undefined, page: { page: number; per_page: number }) {
  const query = matchingUsers(db, filters).select(
    'u.id',
    'u.name',
    'u.note',
    'u.status',
    'u.created_at',
    db.raw(`${STATUS_SQL} AS table_status`),
    'g.plan_id',
    'p.name as plan_name',
    'g.traffic_used_bytes',
    'g.traffic_total_bytes',
    db.raw(`${USAGE_SQL} AS usage_percent`),
    'g.end_time',
    db.raw(`${LAST_TRAFFIC_SQL} AS last_traffic_at`),
  );
  if (sort) {
    const { key: column, descending } = parseSort(sort);
    const key = SORT_SQL[column];
    query.orderByRaw(`CASE WHEN ${key} IS NULL THEN 1 ELSE 0 END, ${key} ${descending ? 'DESC' : 'ASC'}`);
  }
  query.orderBy('u.id');
  const { rows, ...rest } = await pagedRows<Row>(query, page);
  return { items: rows.map(toTableRow), ...rest };
}
