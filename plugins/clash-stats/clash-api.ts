// sing-box's Clash API (singbox.md §5): one GET /connections gives node totals and open connections.
import { FailedPreconditionError, httpRequest, UnavailableError, type HttpAnswer } from '../../agent-core/sdk.js';
import type { Connection } from './contract.js';

// The Clash API is local to the node; a slow answer means sing-box is stuck, not far away.
export const REQUEST_TIMEOUT_MS = 3000;

export interface ClashApi {
  url: string;
  secret: string;
}

export interface ClashConnection {
  id?: unknown;
  metadata?: {
    network?: unknown;
    type?: unknown;
    sourceIP?: unknown;
    sourcePort?: unknown;
    destinationIP?: unknown;
    destinationPort?: unknown;
    host?: unknown;
  } | null;
  upload?: unknown;
  download?: unknown;
  start?: unknown;
  chains?: unknown;
  rule?: unknown;
}

/** The part of sing-box's `GET /connections` body we rely on; `connections` is null when there are none. */
export interface ClashConnections {
  uploadTotal: number;
  downloadTotal: number;
  connections: (ClashConnection | null)[] | null;
}

function isClashConnections(body: unknown): body is ClashConnections {
  const b = body as Partial<ClashConnections> | null;
  return (
    typeof b === 'object' && b !== null &&
    typeof b.uploadTotal === 'number' && typeof b.downloadTotal === 'number' &&
    (b.connections === null || Array.isArray(b.connections))
  );
}

/** A list of every open connection with its metadata; a busy node's runs to megabytes. */
const MAX_CONNECTIONS_BODY = 64 * 1024 * 1024;

/** A socket error's code (ECONNREFUSED), else its message (`timed out after 3000 ms`). */
export function reasonOf(error: unknown): string {
  return (error as { code?: string }).code ?? (error instanceof Error ? error.message : String(error));
}

export async function fetchConnections(api: ClashApi | undefined, signal: AbortSignal): Promise<ClashConnections> {
  if (!api) throw new FailedPreconditionError('Clash API not configured: set plugins.clash-stats.clash_api.url');
  const url = new URL('connections', api.url.endsWith('/') ? api.url : `${api.url}/`);
  const headers: Record<string, string> = api.secret ? { authorization: `Bearer ${api.secret}` } : {};
  let response: HttpAnswer;
  try {
    response = await httpRequest(url.href, { headers, signal, timeoutMs: REQUEST_TIMEOUT_MS, maxBody: MAX_CONNECTIONS_BODY });
  } catch (error) {
    throw new UnavailableError(`Clash API at ${url} unreachable: ${reasonOf(error)}`, { cause: error });
  }
  if (response.status !== 200) throw new UnavailableError(`Clash API at ${url} answered ${response.status}`);
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch (error) {
    throw new UnavailableError(`Clash API at ${url} sent an unreadable body: ${reasonOf(error)}`, { cause: error });
  }
  if (!isClashConnections(body)) throw new UnavailableError(`Clash API at ${url} answered with an unexpected body`);
  return body;
}

/** `host:port`, with IPv6 literals in brackets. */
export function hostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : 0);

/** One Clash connection as the `connections` command shows it. */
export function connectionView(c: ClashConnection): Connection {
  const m = c.metadata ?? {};
  // `type` is "<inbound type>/<inbound tag>"; the tag is what an operator named.
  const type = str(m.type);
  const slash = type.indexOf('/');
  const host = str(m.host) || str(m.destinationIP);
  return {
    id: str(c.id),
    inbound: slash >= 0 ? type.slice(slash + 1) : type,
    network: str(m.network),
    source: hostPort(str(m.sourceIP), str(m.sourcePort)),
    destination: hostPort(host, str(m.destinationPort)),
    upload: count(c.upload),
    download: count(c.download),
    start: str(c.start),
    chains: Array.isArray(c.chains) ? c.chains.filter((x): x is string => typeof x === 'string') : [],
    rule: str(c.rule),
  };
}

/** `host:port` of the Clash API url, for sing-box's `experimental.clash_api.external_controller`. */
export function externalController(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  return `${parsed.hostname}:${port}`;
}
