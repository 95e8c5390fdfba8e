// The accounts that sign in to the hub (owner only).
import type { Role } from '../../../agent-core/common/roles.js';
import type { Admin } from './auth.js';
import { request } from './http.js';

export interface AdminAccount extends Admin {
  disabled: boolean;
  created_at: string;
  last_login_at: string | null;
}

export const listAdmins = () => request<{ items: AdminAccount[] }>('GET', '/api/v1/admins').then((r) => r.items);

export const createAdminAccount = (body: { username: string; password: string; role: Role }) =>
  request<AdminAccount>('POST', '/api/v1/admins', body);

export const updateAdminAccount = (id: number, body: { role?: Role; disabled?: boolean; password?: string }) =>
  request<AdminAccount>('PATCH', `/api/v1/admins/${id}`, body);

/** Refused (409) for your own account and for the last enabled owner. */
export const deleteAdminAccount = (id: number) => request<void>('DELETE', `/api/v1/admins/${id}`);
