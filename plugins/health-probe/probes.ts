// The three probes: can a TCP connection be opened, does an HTTP(S) URL answer with an expected
// status, does a name resolve; each with its latency. A failure is a result (`ok: false` with the
// error), never a thrown error, so a schedule records it like any other.
import dns from 'node:dns';
import net, { type LookupFunction } from 'node:net';
import type { ProbeKind, ProbeOutcome } from './contract.js';
import { httpRequest } from '../../agent-core/sdk.js';

const round = (ms: number) => Math.round(ms * 10) / 10;

/** `ECONNREFUSED 127.0.0.1:1`: the error code and where it happened (the host, when DNS failed). */
function describeError(error: NodeJS.ErrnoException & { address?: string; port?: number }, host: string, port: number): string {
  const ip = error.address;
  const where = ip ? `${ip.includes(':') ? `[${ip}]` : ip}:${error.port ?? port}` : `${host}:${port}`;
  return `${error.code ?? error.message} ${where}`;
}

export function probeTcp(host: string, port: number, timeoutMs: number, signal: AbortSignal, lookup?: LookupFunction): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve({ ok: false, error: 'aborted' });
    const started = performance.now();
    const socket = net.connect({ host, port, lookup });
    let done = false;
    // Every outcome closes the socket: a probe must never leave connections behind.
    const finish = (result: ProbeOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ ok: false, error: 'aborted' });
    const timer = setTimeout(() => finish({ ok: false, error: `timed out after ${timeoutMs} ms` }), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ ok: true, latency_ms: round(performance.now() - started), address: socket.remoteAddress ?? host }));
    socket.once('error', (error) => finish({ ok: false, error: describeError(error, host, port) }));
  });
}

/** Up when the status is one of `expect` (or, with none given, any 2xx or 3xx); redirects are not followed. */
export async function probeHttp(url: string, expect: readonly number[], timeoutMs: number, signal: AbortSignal, lookup?: LookupFunction): Promise<ProbeOutcome> {
  try {
    const answer = await httpRequest(url, { timeoutMs, signal, lookup, maxRedirects: 0, maxBody: 0 });
    const expected = expect.length > 0 ? expect.includes(answer.status) : answer.status >= 200 && answer.status < 400;
    const outcome = { latency_ms: answer.latencyMs, status: answer.status, address: answer.address };
    if (expected) return { ok: true, ...outcome };
    return { ok: false, error: `status ${answer.status}, expected ${expect.length > 0 ? expect.join(' or ') : '2xx or 3xx'}`, ...outcome };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { ok: false, error: e.code ? `${e.code} ${new URL(url).host}` : e.message };
  }
}

/** The IP of a DNS server given as `ip`, `ip:port` or `[ipv6]:port`. */
export const serverAddress = (server: string): string => server.replace(/^\[([^\]]+)\](:\d+)?$/, '$1').replace(/^([0-9.]+):\d+$/, '$1');

/** Asks the node's DNS servers (or `server`), not /etc/hosts, for the name's A or AAAA records. */
export async function probeDns(host: string, record: 'A' | 'AAAA', timeoutMs: number, server?: string): Promise<ProbeOutcome> {
  // c-ares retries each server; one try within the whole timeout keeps the deadline honest.
  const resolver = new dns.promises.Resolver({ timeout: timeoutMs, tries: 1 });
  if (server) resolver.setServers([server]);
  const started = performance.now();
  try {
    const addresses = record === 'A' ? await resolver.resolve4(host) : await resolver.resolve6(host);
    return { ok: true, latency_ms: round(performance.now() - started), addresses };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { ok: false, error: `${e.code ?? e.message} ${host}` };
  } finally {
    resolver.cancel();
  }
}

/** What a probe is aimed at, as shown beside its results. */
export interface ProbeSpec {
  name: string;
  kind: ProbeKind;
  host?: string;
  port?: number;
  url?: string;
  record: 'A' | 'AAAA';
  server?: string;
  expect_status: number[];
  interval_s: number;
  timeout_ms: number;
}

export const targetOf = (p: ProbeSpec): string => (p.kind === 'tcp' ? `${p.host}:${p.port}` : p.kind === 'http' ? p.url! : `${p.host} ${p.record}`);

/** Runs a probe from agent.yaml (trusted: the node's owner wrote it, so no target check). */
export function runProbe(p: ProbeSpec, signal: AbortSignal): Promise<ProbeOutcome> {
  if (p.kind === 'tcp') return probeTcp(p.host!, p.port!, p.timeout_ms, signal);
  if (p.kind === 'http') return probeHttp(p.url!, p.expect_status, p.timeout_ms, signal);
  return probeDns(p.host!, p.record, p.timeout_ms, p.server);
}
