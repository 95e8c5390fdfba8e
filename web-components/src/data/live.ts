// Live updates over the hub's WebSocket (/api/v1/ws): sign in with the session's JWT as the first
// message, then either subscribe to one node's samples or watch a record feed (batches, rollouts),
// handing each message to the caller.
import type { BatchNodePublic, BatchPublic } from './batches.js';
import { session } from './http.js';
import type { MetricSample } from './metrics.js';
import type { RolloutDetail, RolloutPublic } from './rollouts.js';

/** Called when the hub refused or the connection failed. */
type OnError = (message: string) => void;

/**
 * Opens the socket, sends the token and `request`, hands every other JSON message to `handle`;
 * returns the function that stops.
 */
function connect(request: object, handle: (message: Record<string, unknown>) => void, error?: OnError): () => void {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
  let stopped = false;
  socket.addEventListener('open', () => {
    // Closing a socket still connecting makes the browser log an error: wait for it to open.
    if (stopped) return socket.close(1000);
    socket.send(JSON.stringify({ token: session() ?? '' }));
    socket.send(JSON.stringify(request));
  });
  socket.addEventListener('message', (event) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(String(event.data));
    } catch {
      return;
    }
    if (message.type === 'error') error?.(typeof message.message === 'string' ? message.message : 'error');
    else handle(message);
  });
  socket.addEventListener('close', (event) => {
    if (!stopped && event.code !== 1000) error?.(event.reason || `connection closed (${event.code})`);
  });
  return () => {
    stopped = true;
    if (socket.readyState === WebSocket.OPEN) socket.close(1000);
  };
}

export interface LiveHandlers {
  sample: (sample: MetricSample) => void;
  error?: OnError;
}

/** Starts watching a node's samples; returns the function that stops. */
export function watchNode(nodeId: string, handlers: LiveHandlers): () => void {
  return connect({ subscribe: [nodeId] }, (message) => {
    const m = message as Partial<MetricSample> & { type?: string; node?: string };
    if (m.type === 'sample' && m.node === nodeId && m.kind && m.time && m.values) handlers.sample({ kind: m.kind, time: m.time, values: m.values });
  }, handlers.error);
}

/** What the record feeds send: a batch or rollout whenever it changed, and a batch's node. */
export type FeedMessage =
  | { type: 'batch'; batch: BatchPublic }
  | { type: 'batch-node'; batch_id: number; node: BatchNodePublic }
  | { type: 'rollout'; rollout: RolloutPublic & Partial<Pick<RolloutDetail, 'stage_plan' | 'nodes'>> };

const FEED_TYPES = new Set(['batch', 'batch-node', 'rollout']);

/** Starts watching the batches or the rollouts as they change, on whichever hub runs them; returns the function that stops. */
export function watchFeed(feed: 'batches' | 'rollouts', handle: (message: FeedMessage) => void, error?: OnError): () => void {
  return connect({ watch: feed }, (message) => {
    if (FEED_TYPES.has(message.type as string)) handle(message as FeedMessage);
  }, error);
}
