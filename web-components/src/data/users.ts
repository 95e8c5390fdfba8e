// The proxy users.
import { query, request, type Page } from './http.js';
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
