// Signing in and out, and who is signed in.
import type { Role } from '../../../agent-core/common/roles.js';
import { request, endSession, startSession } from './http.js';

export interface Admin {
  id: number;
  username: string;
  role: Role;
}

export async function signIn(username: string, password: string): Promise<Admin> {
  const result = await request<{ token: string; admin: Admin }>('POST', '/api/v1/auth/login', { username, password });
  startSession(result.token);
  return result.admin;
}

/** Sets a new password with the current one (an admin the hub requires to change it), then signs in. */
export async function changePasswordAndSignIn(username: string, password: string, newPassword: string): Promise<Admin> {
  await request<void>('POST', '/api/v1/auth/password', { username, password, new_password: newPassword });
  return signIn(username, newPassword);
}

export const currentAdmin = () => request<Admin>('GET', '/api/v1/auth/me');

/** Ends the admin's sessions on the hub (every browser it signed in on), then forgets the token here. */
export async function logOut(): Promise<void> {
  // Forgotten here even when the hub cannot be reached: the browser is signed out either way.
  await request<void>('POST', '/api/v1/auth/logout').catch(() => undefined);
  endSession();
}
