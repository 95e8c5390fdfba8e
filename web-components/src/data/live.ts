// Live node samples over the hub's WebSocket (/api/v1/ws): sign in with the session's JWT as the
// first message, subscribe to one node, hand every sample to the caller.
import { session } from './http.js';
import type { MetricSample } from './metrics.js';

export interface LiveHandlers {
  sample: (sample: MetricSample) => void;
  /** The hub refused or the connection failed. */
  error?: (message: string) => void;
}

/** Starts watching a node; returns the function that stops. */
export function watchNode(nodeId: string, handlers: LiveHandlers): () => void {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
  let stopped = false;
  socket.addEventListener('open', () => {
    // Closing a socket still connecting makes the browser log an error: wait for it to open.
    if (stopped) return socket.close(1000);
    socket.send(JSON.stringify({ token: session() ?? '' }));
    socket.send(JSON.stringify({ subscribe: [nodeId] }));
  });
  socket.addEventListener('message', (event) => {
    let message: Partial<MetricSample> & { type?: string; node?: string; message?: string };
    try {
      message = JSON.parse(String(event.data));
    } catch {
      return;
    }
    if (message.type === 'sample' && message.node === nodeId && message.kind && message.time && message.values) {
      handlers.sample({ kind: message.kind, time: message.time, values: message.values });
    } else if (message.type === 'error') {
      handlers.error?.(message.message ?? 'error');
    }
  });
  socket.addEventListener('close', (event) => {
    if (!stopped && event.code !== 1000) handlers.error?.(event.reason || `connection closed (${event.code})`);
  });
  return () => {
    stopped = true;
    if (socket.readyState === WebSocket.OPEN) socket.close(1000);
  };
}
