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

export const listUsers = (options: { q?: string; status?: UserStatus; page?: number; per_page?: number }) =>
  request<Page<User>>('GET', `/api/v1/users${query(options)}`);

export const getUser = (id: number) => request<UserDetail>('GET', `/api/v1/users/${id}`);

export const createUser = (body: { name: string; note?: string }) => request<User>('POST', '/api/v1/users', body);

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
