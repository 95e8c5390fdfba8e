// Connectivity and latency checks from the node. For now: can a TCP connection be opened, and how fast.
import net from 'node:net';
import { definePlugin } from '../../agent-core/sdk.js';
import { MAX_TIMEOUT_MS, TcpInput, TcpResult } from './contract.js';

/** `ECONNREFUSED 127.0.0.1:1`: the error code and where it happened (the host, when DNS failed). */
function describeError(error: NodeJS.ErrnoException & { address?: string; port?: number }, host: string, port: number): string {
  const ip = error.address;
  const where = ip ? `${ip.includes(':') ? `[${ip}]` : ip}:${error.port ?? port}` : `${host}:${port}`;
  return `${error.code ?? error.message} ${where}`;
}

function probeTcp(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<TcpResult> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve({ ok: false, error: 'aborted' });
    const started = performance.now();
    const socket = net.connect({ host, port });
    let done = false;
    // Every outcome closes the socket: a probe must never leave connections behind.
    const finish = (result: TcpResult) => {
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
    socket.once('connect', () => {
      const latency = Math.round((performance.now() - started) * 10) / 10;
      finish({ ok: true, latency_ms: latency, address: socket.remoteAddress ?? host });
    });
    socket.once('error', (error) => finish({ ok: false, error: describeError(error, host, port) }));
  });
}

export default definePlugin({
  id: 'health-probe',
  version: '0.1.0',
  agent: '>=0.1.0 <1',
  description: 'Connectivity and latency checks from the node.',
  commands: {
    tcp: {
      description: 'Opens a TCP connection to host:port and reports how long it took, then closes it.',
      input: TcpInput,
      output: TcpResult,
      // Room for the longest probe the input allows, so it ends with its own "timed out" result.
      timeoutMs: MAX_TIMEOUT_MS + 1000,
    },
  },
  start() {
    return {
      commands: {
        tcp: ({ host, port, timeout_ms }, { signal }) => probeTcp(host, port, timeout_ms, signal),
      },
    };
  },
});
