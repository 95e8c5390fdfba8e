// One HTTP(S) request with node:http(s), for plugins (the SDK's httpRequest). Not fetch: its client,
// undici, and the WebAssembly HTTP parser it compiles cost a process about 13 MB of memory that stays
// once loaded (measured: 7.9 → 21.1 MB anonymous after five fetches, 8.4 MB after five node:http GETs),
// more than the whole agent over a bare gRPC server. Follows redirects by hand so each Location can be
// shown and judged, and keeps at most `maxBody` bytes of the last answer's body.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export interface HttpRequestOptions {
  /** Default GET. */
  method?: string;
  headers?: Record<string, string>;
  /** Sent as it is (set its content-type in `headers`). */
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Default 0: the first answer is the last, whatever its status. */
  maxRedirects?: number;
  /** Bytes of the last answer's body to keep; 0 reads none. */
  maxBody: number;
  lookup?: LookupFunction;
  /** Reuse connections (many calls to one local API); default one connection per request. */
  keepAlive?: boolean;
}

export interface HttpAnswer {
  status: number;
  /** Every redirect's Location, in order. */
  locations: string[];
  finalUrl: string;
  body: string;
  /** The IP the last answer came from. */
  address: string;
  /** Time to the first answer's headers, in ms. */
  latencyMs: number;
}

const round = (ms: number) => Math.round(ms * 10) / 10;
let keptAlive: { http: http.Agent; https: https.Agent } | undefined;

/** One request; a redirect it will follow (`follow`) or a body nobody reads is not read. */
function once(url: URL, options: HttpRequestOptions & { signal: AbortSignal }, follow: boolean): Promise<{ response: http.IncomingMessage; body: string; address: string }> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const agents = options.keepAlive ? (keptAlive ??= { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) }) : undefined;
    const request = (secure ? https : http).request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, signal: options.signal, lookup: options.lookup, agent: agents ? agents[secure ? 'https' : 'http'] : false },
      (response) => {
        const address = response.socket?.remoteAddress ?? '';
        const status = response.statusCode ?? 0;
        const redirect = follow && status >= 300 && status < 400 && Boolean(response.headers.location);
        if (redirect || options.maxBody === 0) {
          // A kept-alive connection is read to the end so it can serve the next request; any other is dropped.
          if (options.keepAlive) response.resume();
          else response.destroy();
          return resolve({ response, body: '', address });
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= options.maxBody) response.destroy();
        });
        const done = () => resolve({ response, body: Buffer.concat(chunks).subarray(0, options.maxBody).toString('utf8'), address });
        response.once('end', done).once('close', done).once('error', reject);
      },
    );
    request.once('error', reject);
    request.end(options.body);
  });
}

/** Sends the request; rejects on a network error (its `code`, e.g. ECONNREFUSED), a timeout (`timed out after N ms`) or an abort. */
export async function httpRequest(url: string, options: HttpRequestOptions): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const opts = { ...options, signal };
  const maxRedirects = options.maxRedirects ?? 0;
  const started = performance.now();
  let latencyMs: number | undefined;
  const locations: string[] = [];
  let current = new URL(url);
  try {
    for (let hop = 0; ; hop++) {
      const last = hop >= maxRedirects;
      const { response, body, address } = await once(current, opts, !last);
      latencyMs ??= round(performance.now() - started);
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (!last && status >= 300 && status < 400 && location) {
        locations.push(location);
        current = new URL(location, current);
        continue;
      }
      return { status, locations, finalUrl: current.href, body, address, latencyMs };
    }
  } catch (error) {
    if (timeout.aborted) throw new Error(`timed out after ${options.timeoutMs} ms`);
    throw error;
  }
}
