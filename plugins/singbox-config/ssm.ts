// Users of managed shadowsocks inbounds, through sing-box's SSM API (singbox.md §7): live changes
// without a reload. Without cache_path the users vanish on every start and reload, so the whole set
// is sent again after each one.
import { randomBytes } from 'node:crypto';
import { httpRequest, UnavailableError, type HttpAnswer } from '../../agent-core/sdk.js';
import type { SyncUser } from './contract.js';
import { managedInbounds, ssmService, type SingboxConfig, userKey } from './render.js';

const REQUEST_TIMEOUT_MS = 3000;
/** Requests in flight at once per inbound: thousands of users should not take thousands of round trips in a row. */
const PARALLEL = 8;

/** A new secret URL prefix: the SSM API has no authentication (pitfall 12). */
export function newPrefix(): string {
  return `/ssm-${randomBytes(16).toString('hex')}`;
}

export interface SsmEndpoint {
  inbound: string;
  method: string;
  /** http://127.0.0.1:<port>/<secret prefix> — a secret; never log it. */
  url: string;
}

/** The SSM API base URL of each managed inbound of a rendered config. */
export function ssmEndpoints(config: SingboxConfig): SsmEndpoint[] {
  const service = ssmService(config);
  if (!service) return [];
  const methods = new Map(managedInbounds(config).map((m) => [m.tag, m.method]));
  return Object.entries(service.servers).map(([prefix, inbound]) => ({
    inbound,
    method: methods.get(inbound) ?? '',
    url: `http://127.0.0.1:${service.port}${prefix}`,
  }));
}

/** SSM user names carry the inbound tag, so their bytes are told apart from V2Ray's (contract). */
export function ssmUsername(name: string, inbound: string): string {
  return `${name}@${inbound}`;
}

/**
 * A username as a path segment. `@` stays literal: sing-box's router matches the raw path, so
 * `alice%40ss-m` would not find `alice@ss-m`.
 */
function userPath(name: string): string {
  return `/server/v1/users/${encodeURIComponent(name).replace(/%40/g, '@').replace(/%3A/gi, ':')}`;
}

/** The user list of one inbound, about 100 bytes a user. */
const MAX_BODY = 32 * 1024 * 1024;

const ok = (response: HttpAnswer) => response.status >= 200 && response.status < 300;

async function request(endpoint: SsmEndpoint, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  const what = `SSM API of inbound "${endpoint.inbound}": ${method} ${path.replace(/\/users\/.*/, '/users/…')}`;
  try {
    // Kept-alive connections: a sync of thousands of users is thousands of requests to sing-box's loopback API.
    return await httpRequest(`${endpoint.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      timeoutMs: REQUEST_TIMEOUT_MS,
      maxBody: MAX_BODY,
      keepAlive: true,
    });
  } catch (error) {
    throw new UnavailableError(`${what} failed: ${(error as { code?: string }).code ?? (error as Error).message}`, { cause: error });
  }
}

function expectOk(endpoint: SsmEndpoint, response: HttpAnswer, what: string): void {
  if (ok(response)) return;
  const text = response.body.trim();
  throw new UnavailableError(`SSM API of inbound "${endpoint.inbound}": ${what}: HTTP ${response.status}${text ? ` ${text}` : ''}`);
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL) await Promise.all(items.slice(i, i + PARALLEL).map(work));
}

/** Makes each managed inbound's users exactly `users`: adds, re-keys and deletes what differs. */
export async function syncSsmUsers(config: SingboxConfig, users: readonly SyncUser[]): Promise<void> {
  for (const endpoint of ssmEndpoints(config)) {
    const response = await request(endpoint, 'GET', '/server/v1/users');
    expectOk(endpoint, response, 'list users');
    const current = new Map(
      (JSON.parse(response.body) as { users?: { username: string; uPSK: string }[] }).users?.map((u) => [u.username, u.uPSK]) ?? [],
    );
    const wanted = new Map(users.map((u) => [ssmUsername(u.name, endpoint.inbound), userKey(endpoint.method, u)]));
    const extra = [...current.keys()].filter((name) => !wanted.has(name));
    const changed = [...wanted].filter(([name, key]) => current.has(name) && current.get(name) !== key);
    const missing = [...wanted].filter(([name]) => !current.has(name));
    await inBatches(extra, async (name) => {
      expectOk(endpoint, await request(endpoint, 'DELETE', userPath(name)), `delete user ${name}`);
    });
    await inBatches(changed, async ([name, uPSK]) => {
      expectOk(endpoint, await request(endpoint, 'PUT', userPath(name), { uPSK }), `update user ${name}`);
    });
    await inBatches(missing, async ([username, uPSK]) => {
      const added = await request(endpoint, 'POST', '/server/v1/users', { username, uPSK });
      if (!ok(added)) {
        // A refused entry stays in sing-box's user table and fails every later change until deleted (singbox.md §7).
        await request(endpoint, 'DELETE', userPath(username)).catch(() => undefined);
      }
      expectOk(endpoint, added, `add user ${username}`);
    });
  }
}
