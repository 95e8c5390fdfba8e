// Statistics from sing-box. For now: node totals, connections and online clients from the Clash API.
import { definePlugin, FailedPreconditionError, Type, UnavailableError, type Static } from '../../agent-core/sdk.js';

// The Clash API is local to the node; a slow answer means sing-box is stuck, not far away.
const REQUEST_TIMEOUT_MS = 3000;

const Summary = Type.Object({
  upload_total: Type.Integer({ minimum: 0, description: 'Bytes sent by all connections since sing-box started.' }),
  download_total: Type.Integer({ minimum: 0, description: 'Bytes received since sing-box started.' }),
  connections: Type.Integer({ minimum: 0, description: 'Open connections.' }),
  online_clients: Type.Integer({ minimum: 0, description: 'Distinct client IPs with an open connection.' }),
  sampled_at: Type.String({ format: 'date-time' }),
  cached: Type.Boolean(),
});
type Summary = Static<typeof Summary>;

/** The part of sing-box's `GET /connections` body we use; `connections` is null when there are none. */
interface ClashConnections {
  uploadTotal: number;
  downloadTotal: number;
  connections: ({ metadata?: { sourceIP?: string } } | null)[] | null;
}

function isClashConnections(body: unknown): body is ClashConnections {
  const b = body as Partial<ClashConnections> | null;
  return (
    typeof b === 'object' && b !== null &&
    typeof b.uploadTotal === 'number' && typeof b.downloadTotal === 'number' &&
    (b.connections === null || Array.isArray(b.connections))
  );
}

function reasonOf(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS} ms`;
  // fetch wraps socket errors ("fetch failed"); the cause carries the useful code, e.g. ECONNREFUSED.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

export default definePlugin({
  id: 'clash-stats',
  version: '0.1.0',
  agent: '>=0.1.0 <1',
  description: 'Traffic and connection statistics from sing-box.',
  config: Type.Object({
    clash_api: Type.Optional(
      Type.Object({
        url: Type.String({ pattern: '^https?://', description: "sing-box's experimental.clash_api address, e.g. http://127.0.0.1:9090" }),
        secret: Type.String({ default: '' }),
      }),
    ),
    cache_ttl_s: Type.Integer({ minimum: 0, default: 300, description: 'How long a Clash API summary is reused.' }),
  }),
  commands: {
    summary: {
      description: 'Node traffic totals, open connections and online clients from the Clash API.',
      input: Type.Object({
        fresh: Type.Boolean({ default: false, description: 'Ask sing-box now instead of using the cached summary.' }),
      }),
      output: Summary,
    },
  },
  start(ctx) {
    const { clash_api, cache_ttl_s } = ctx.config;
    let last: { summary: Summary; at: number } | undefined;

    async function fetchSummary(signal: AbortSignal): Promise<Summary> {
      if (!clash_api) throw new FailedPreconditionError('Clash API not configured: set plugins.clash-stats.clash_api.url');
      const url = new URL('connections', clash_api.url.endsWith('/') ? clash_api.url : `${clash_api.url}/`);
      const headers: Record<string, string> = clash_api.secret ? { authorization: `Bearer ${clash_api.secret}` } : {};
      let response: Response;
      try {
        response = await fetch(url, {
          headers,
          signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
        });
      } catch (error) {
        throw new UnavailableError(`Clash API at ${url} unreachable: ${reasonOf(error)}`, { cause: error });
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new UnavailableError(`Clash API at ${url} answered ${response.status} ${response.statusText}`.trim());
      }
      const body: unknown = await response.json().catch((error: unknown) => {
        throw new UnavailableError(`Clash API at ${url} sent an unreadable body: ${reasonOf(error)}`, { cause: error });
      });
      if (!isClashConnections(body)) throw new UnavailableError(`Clash API at ${url} answered with an unexpected body`);
      const open = body.connections ?? [];
      const clients = new Set(open.map((c) => c?.metadata?.sourceIP).filter((ip) => typeof ip === 'string' && ip !== ''));
      return {
        upload_total: body.uploadTotal,
        download_total: body.downloadTotal,
        connections: open.length,
        online_clients: clients.size,
        sampled_at: new Date().toISOString(),
        cached: false,
      };
    }

    return {
      commands: {
        async summary({ fresh }, { signal }) {
          if (!fresh && last && Date.now() - last.at < cache_ttl_s * 1000) return { ...last.summary, cached: true };
          const summary = await fetchSummary(signal);
          last = { summary, at: Date.now() };
          return summary;
        },
      },
    };
  },
});
