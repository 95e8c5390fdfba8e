// Everything the dashboard asks the hub, as plain functions. Components never call fetch.

const TOKEN_KEY = 'boxfleet.token';

/** A failed API call, with the hub's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function session(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function signOut(): void {
  localStorage.removeItem(TOKEN_KEY);
}

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const token = session();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  if (!res.ok) {
    const error = (data ?? {}) as { code?: string; message?: string };
    if (res.status === 401) signOut();
    throw new ApiError(res.status, error.code ?? 'HUB_ERR_INTERNAL', error.message ?? res.statusText);
  }
  return data as T;
}

export type Role = 'owner' | 'admin' | 'operator' | 'viewer';

export interface Admin {
  id: number;
  username: string;
  role: Role;
}

export async function signIn(username: string, password: string): Promise<Admin> {
  const result = await request<{ token: string; admin: Admin }>('POST', '/api/v1/auth/login', { username, password });
  localStorage.setItem(TOKEN_KEY, result.token);
  return result.admin;
}

export const currentAdmin = () => request<Admin>('GET', '/api/v1/auth/me');

export interface NodeSummary {
  id: string;
  name: string;
  address: string;
  tags: string[];
  multiplier: number;
  enabled: boolean;
  online: boolean;
  error: string | null;
  agent: { agentVersion: string; plugins: { id: string; state: string; healthy: boolean }[] } | null;
}

export const listNodes = () => request<{ nodes: NodeSummary[] }>('GET', '/api/v1/nodes').then((r) => r.nodes);

export const enrollNode = (enrollment: string, tags: string[]) => request<NodeSummary>('POST', '/api/v1/nodes', { enrollment, tags });
