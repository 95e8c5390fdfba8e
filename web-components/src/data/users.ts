// The proxy users.
import { ApiError, download, query, request, type Page } from './http.js';
import type { Subscription } from './subscriptions.js';

export type UserStatus = 'active' | 'disabled';

export interface User {
  id: number;
  name: string;
  note: string;
  status: UserStatus;
  created_at: string;
}

export interface UserDetail extends User {
  subscription: Subscription | null;
}

/** What the users table says a user is, with the reason when they cannot connect (README, "The users table"). */
export const TABLE_STATUSES = ['active', 'suspended_quota', 'suspended_admin', 'expired', 'disabled', 'no_plan'] as const;
export type TableStatus = (typeof TABLE_STATUSES)[number];

/** The columns the hub sorts the table by; descending with a leading '-'. */
export const TABLE_SORTS = ['name', 'status', 'plan', 'usage_percent', 'expires_at', 'last_traffic_at', 'created_at'] as const;
export type TableSort = (typeof TABLE_SORTS)[number];

/** A row of GET /api/v1/users: the user and what the subscription governing them says. */
export interface UserRow extends User {
  table_status: TableStatus;
  plan: { id: number; name: string } | null;
  traffic_used_bytes: number | null;
  /** 0: the plan has no limit. */
  traffic_total_bytes: number | null;
  usage_percent: number | null;
  expires_at: string | null;
  /** The start of the newest hour with traffic. */
  last_traffic_at: string | null;
}

/** The filters of the table, which bulk actions on "all matching" take as well. */
export interface UsersFilter {
  q?: string;
  status?: TableStatus;
  plan_id?: number;
}

export const listUsers = (options: UsersFilter & { sort?: TableSort | `-${TableSort}`; page?: number; per_page?: number }) =>
  request<Page<UserRow>>('GET', `/api/v1/users${query({ ...options })}`);

export const getUser = (id: number) => request<UserDetail>('GET', `/api/v1/users/${id}`);

/** Creates the user and, given a plan, their subscription in the same call. */
export const createUser = (body: { name: string; note?: string; plan?: { id: number; start_time?: string } }) =>
  request<UserDetail>('POST', '/api/v1/users', body);

/** Where the user's client and the user themselves go; reading them is audited. */
export const getUserLinks = (id: number) => request<{ sub_token: string; subscription_url: string; portal_url: string }>('GET', `/api/v1/users/${id}/credentials`);

export const BULK_ACTIONS = ['extend', 'reset_traffic', 'change_plan', 'suspend', 'resume', 'disable', 'delete'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

export interface BulkRequest {
  action: BulkAction;
  target: { ids: number[] } | { filter: UsersFilter };
  days?: number;
  plan_id?: number;
}

export interface BulkAnswer {
  count: number;
  ok: number;
  failed: number;
  results: { id: number; name: string; ok: boolean; error?: string }[];
}

/** One action on many users; with `preview` nothing changes and only `count` is answered. */
export const bulkUsers = (body: BulkRequest, preview = false) =>
  request<BulkAnswer>('POST', `/api/v1/users/bulk${preview ? '?preview=true' : ''}`, body);

/** The name cannot change: sing-box knows the user by it. */
export const updateUser = (id: number, body: { note?: string; status?: UserStatus }) => request<User>('PATCH', `/api/v1/users/${id}`, body);

export const deleteUser = (id: number) => request<void>('DELETE', `/api/v1/users/${id}`);

export interface UsageBytes {
  upload_bytes: number;
  download_bytes: number;
  billed_bytes: number;
}

/** GET /api/v1/users/:id/usage: days are calendar dates (YYYY-MM-DD) in the hub's reset time zone. */
export interface UserUsage<B> {
  user_id: number;
  from: string;
  to: string;
  time_zone: string;
  buckets: B[];
  totals: UsageBytes;
}
export type DayUsage = { day: string } & UsageBytes;
export type NodeUsage = { node_id: string; node_name: string } & UsageBytes;

/** The user's traffic per day, every day of the range (by default the 30 days up to today). */
export const getUserUsageByDay = (id: number, range: { from?: string; to?: string } = {}) =>
  request<UserUsage<DayUsage>>('GET', `/api/v1/users/${id}/usage${query({ ...range, by: 'day' })}`);

/** The user's traffic per node used in the range, most billed first. */
export const getUserUsageByNode = (id: number, range: { from: string; to: string }) =>
  request<UserUsage<NodeUsage>>('GET', `/api/v1/users/${id}/usage${query({ ...range, by: 'node' })}`);
export type UsersFormat = 'csv' | 'json';
export type ImportMode = 'all_or_nothing' | 'best_effort';
export type OnConflict = 'error' | 'skip' | 'update';

/** Every user as a file; credentials are in it for admins and owners only. */
export const exportUsers = (format: UsersFormat) => download(`/api/v1/users/export${query({ format })}`, `users.${format}`);

export interface ImportRowError {
  /** 1 is the first user (in CSV, the line after the header). */
  row: number;
  field: string;
  message: string;
}

export interface ImportReport {
  rows: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  errors: ImportRowError[];
  /** Why nothing was imported (all_or_nothing met errors); absent when the good rows were. */
  refused?: string;
}

/** Imports a file (CSV, or JSON as the export writes it); a refusal with row errors is a report too. */
export async function importUsers(file: File, options: { mode: ImportMode; on_conflict: OnConflict }): Promise<ImportReport> {
  const format: UsersFormat = file.name.toLowerCase().endsWith('.json') ? 'json' : 'csv';
  const url = `/api/v1/users/import${query({ format, ...options })}`;
  try {
    return await request<ImportReport>('POST', url, await file.text(), format === 'csv' ? 'text/csv' : 'application/json');
  } catch (error) {
    const answer = error instanceof ApiError ? (error.answer as Partial<ImportReport> | undefined) : undefined;
    if (!answer?.errors) throw error;
    return { ...(answer as ImportReport), refused: (error as ApiError).message };
  }
}
