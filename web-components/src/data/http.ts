// The core every data/ module calls the hub through: the session token, request() with the hub's
// errors as ApiError, and the end of a session the hub refused. Components never call fetch.
const TOKEN_KEY = 'boxfleet.token';

/** Sent on window when the hub no longer accepts the session (expired, or the admin was disabled). */
export const SESSION_ENDED = 'bf-session-ended';

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

export function startSession(token: string): void {
  localStorage.setItem(TOKEN_KEY, token);
}

export function endSession(): void {
  localStorage.removeItem(TOKEN_KEY);
}

export async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const token = session();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  if (!res.ok) {
    const error = (data ?? {}) as { code?: string; message?: string };
    if (res.status === 401) {
      endSession();
      window.dispatchEvent(new Event(SESSION_ENDED));
    }
    throw new ApiError(res.status, error.code ?? 'HUB_ERR_INTERNAL', error.message ?? res.statusText);
  }
  return data as T;
}

/** One page of a paged list. */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}

/** `?a=1&b=x`, leaving out empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
