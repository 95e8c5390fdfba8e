// Sockets before and after a reload: can sing-box bind what the new config wants (sing-box check
// does not look, and a reload that fails to bind kills the process; pitfall 11), and is it
// listening there afterwards.
import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { FailedPreconditionError } from '../../agent-core/sdk.js';
import type { Listener, Proto } from './render.js';

const WILDCARDS = new Set(['::', '0.0.0.0']);

function where(l: Listener): string {
  return `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}/${l.proto}`;
}

function describeBindError(code: string): string {
  if (code === 'EADDRINUSE') return 'address already in use';
  if (code === 'EACCES') return 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)';
  if (code === 'EADDRNOTAVAIL') return 'address not available on this host';
  return code;
}

function overlaps(a: Listener, b: Listener): boolean {
  return a.proto === b.proto && a.port === b.port && (a.host === b.host || WILDCARDS.has(a.host) || WILDCARDS.has(b.host));
}

/** Binds and closes at once; resolves with the error code, or undefined when the bind worked. */
function tryBind(host: string, port: number, proto: Proto): Promise<string | undefined> {
  return new Promise((resolve) => {
    if (proto === 'tcp') {
      const server = net.createServer();
      server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
      return;
    }
    const socket = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error.code ?? error.message);
    });
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(undefined)));
  });
}

/**
 * Refuses (FAILED_PRECONDITION, naming owner, address and "address already in use") when the new
 * config listens twice on one port, or on a port that the running sing-box does not hold (`held`)
 * and that cannot be bound now.
 */
export async function assertBindable(wanted: readonly Listener[], held: readonly Listener[]): Promise<void> {
  const problems: string[] = [];
  wanted.forEach((l, i) => {
    const other = wanted.slice(0, i).find((o) => overlaps(o, l));
    if (other) problems.push(`${l.owner} ${where(l)}: also used by ${other.owner} (address already in use)`);
  });
  for (const l of wanted) {
    if (held.some((h) => h.proto === l.proto && h.port === l.port)) continue;
    const code = await tryBind(l.host, l.port, l.proto);
    if (code) problems.push(`${l.owner} ${where(l)}: ${describeBindError(code)}`);
  }
  if (problems.length > 0) throw new FailedPreconditionError(`config not applied: ${problems.join('; ')}`);
}

export interface Socket {
  proto: Proto;
  port: number;
  inode: string;
}

/** Listening TCP sockets and bound UDP sockets of this network namespace (/proc/net/{tcp,udp}{,6}). */
export async function sockets(): Promise<Socket[]> {
  const out: Socket[] = [];
  for (const [file, proto] of [['tcp', 'tcp'], ['tcp6', 'tcp'], ['udp', 'udp'], ['udp6', 'udp']] as const) {
    const text = await readFile(`/proc/net/${file}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      if (proto === 'tcp' && cols[3] !== '0A') continue; // 0A = LISTEN
      out.push({ proto, port: parseInt(cols[1]!.split(':')[1]!, 16), inode: cols[9]! });
    }
  }
  return out;
}

/**
 * The listeners that have no socket opened after `before` was taken. A reload closes every listener
 * and opens new ones, so a socket that was there before the reload does not count: it may still be
 * the old instance's.
 */
export function notFreshlyListening(wanted: readonly Listener[], before: readonly Socket[], now: readonly Socket[]): Listener[] {
  const old = new Set(before.map((s) => s.inode));
  return wanted.filter((l) => !now.some((s) => s.proto === l.proto && s.port === l.port && !old.has(s.inode)));
}

/** Opens and closes a TCP connection; a wildcard listener is reached on loopback. */
export function tcpConnects(l: Listener, timeoutMs = 1000): Promise<boolean> {
  const hosts = l.host === '::' ? ['::1', '127.0.0.1'] : l.host === '0.0.0.0' ? ['127.0.0.1'] : [l.host];
  const attempt = (host: string) =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port: l.port });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(timeoutMs, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
  return hosts.reduce<Promise<boolean>>(async (ok, host) => (await ok) || attempt(host), Promise.resolve(false));
}

export function describeListener(l: Listener): string {
  return `${l.owner} ${where(l)}`;
}

/** Where to reach an HTTP listener: a wildcard one on IPv4 loopback (dual-stack takes it too). */
export function reachableHost(host: string): string {
  if (WILDCARDS.has(host)) return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
