// The core every data/ module calls the hub through: the session token, request() with the hub's
// errors as ApiError, and the end of a session the hub refused. Components never call fetch.
const TOKEN_KEY = 'boxfleet.token';

/** Sent on window when the hub no longer accepts the session (expired, or the admin was disabled). */
export const SESSION_ENDED = 'bf-session-ended';

/** A failed API call, with the hub's error code and message, and its whole answer (an import's row errors). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly answer?: unknown,
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

/** fetch with the session's token; a refusal becomes an ApiError, and a 401 ends the session. */
async function call(method: string, url: string, body?: { type: string; content: BodyInit }): Promise<Response> {
  const headers: Record<string, string> = {};
  const token = session();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) headers['content-type'] = body.type;
  const res = await fetch(url, { method, headers, body: body?.content });
  if (!res.ok) {
    const data = await res.json().catch(() => undefined);
    const error = (data ?? {}) as { code?: string; message?: string };
    if (res.status === 401) {
      endSession();
      window.dispatchEvent(new Event(SESSION_ENDED));
    }
    throw new ApiError(res.status, error.code ?? 'HUB_ERR_INTERNAL', error.message ?? res.statusText, data);
  }
  return res;
}

/** A JSON call; `body` is sent as JSON, or as it is when its Content-Type is given. */
export async function request<T>(method: string, url: string, body?: unknown, type?: string): Promise<T> {
  const sent = body === undefined ? undefined : type ? { type, content: body as BodyInit } : { type: 'application/json', content: JSON.stringify(body) };
  const res = await call(method, url, sent);
  return (res.status === 204 ? undefined : await res.json().catch(() => undefined)) as T;
}

/** A file the hub answers with, named as its Content-Disposition says (else `fallback`). */
export async function download(url: string, fallback: string): Promise<File> {
  const res = await call('GET', url);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? fallback;
  return new File([await res.blob()], name, { type: res.headers.get('content-type') ?? '' });
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
