// One GET with node:http(s) (not fetch: its client, undici, costs the agent several MB the first time
// it loads), following redirects by hand so each Location can be shown and judged, and keeping at
// most `maxBody` bytes of the last answer's body.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export interface GetOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
  /** 0: the first answer is the last, whatever its status. */
  maxRedirects: number;
  /** Bytes of the last answer's body to keep; 0 reads none. */
  maxBody: number;
  lookup?: LookupFunction;
}

export interface GetAnswer {
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

/** One request; a redirect it will follow (`follow`) or a body nobody reads is not read. */
function once(url: URL, options: GetOptions, follow: boolean): Promise<{ response: http.IncomingMessage; body: string; address: string }> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const request = client.get(url, { headers: options.headers, signal: options.signal, lookup: options.lookup, agent: false }, (response) => {
      const address = response.socket?.remoteAddress ?? '';
      const status = response.statusCode ?? 0;
      const redirect = follow && status >= 300 && status < 400 && Boolean(response.headers.location);
      if (redirect || options.maxBody === 0) {
        response.destroy();
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
    });
    request.once('error', reject);
  });
}

/** GETs `url`; rejects on a network error, a timeout (`timed out after N ms`) or an abort. */
export async function get(url: string, options: GetOptions): Promise<GetAnswer> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout]);
  const opts = { ...options, signal };
  const started = performance.now();
  let latencyMs: number | undefined;
  const locations: string[] = [];
  let current = new URL(url);
  try {
    for (let hop = 0; ; hop++) {
      const last = hop >= options.maxRedirects;
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
