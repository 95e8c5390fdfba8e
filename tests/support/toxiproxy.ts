// A real Toxiproxy server (deploy/build-toxiproxy.sh builds it) with one TCP proxy, and its HTTP
// API to add and remove toxics: latency, bandwidth limits, stalled connections.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './agent-process.js';
import { toxiproxyBin } from './real-components.js';
import { until } from './until.js';

export interface Toxic {
  name: string;
  type: 'latency' | 'bandwidth' | 'timeout' | 'slow_close' | 'limit_data' | 'reset_peer';
  stream: 'upstream' | 'downstream';
  /** The share of connections it applies to, 0 to 1. */
  toxicity?: number;
  attributes: Record<string, number>;
}

export interface Toxiproxy {
  /** host:port the proxy listens on, forwarding to the upstream it was given. */
  listen: string;
  add(toxic: Toxic): Promise<void>;
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts Toxiproxy on loopback with one proxy to `upstream` (host:port). */
export async function startToxiproxy(upstream: string): Promise<Toxiproxy> {
  const [apiPort, proxyPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(toxiproxyBin(), ['-host', '127.0.0.1', '-port', String(apiPort)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const api = async (method: string, url: string, body?: object) => {
    const res = await fetch(`http://127.0.0.1:${apiPort}${url}`, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    if (!res.ok) throw new Error(`toxiproxy ${method} ${url} → ${res.status} ${await res.text()}`);
  };
  const close = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await until('the Toxiproxy API', () => api('GET', '/version').then(() => true, () => child.exitCode !== null && Promise.reject(new Error(`toxiproxy exited: ${stderr}`))), 10_000);
    const listen = `127.0.0.1:${proxyPort}`;
    await api('POST', '/proxies', { name: 'agent', listen, upstream, enabled: true });
    return {
      listen,
      add: (toxic) => api('POST', '/proxies/agent/toxics', { toxicity: 1, ...toxic }),
      remove: (name) => api('DELETE', `/proxies/agent/toxics/${name}`),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
