// GET /api/v1/ws: live node samples for the browser. Browsers cannot set headers on a WebSocket,
// so the route itself is public and the JWT comes as `?token=` or as the first message
// `{"token": "..."}`; any signed-in role (viewer and up) may watch, until its session ends (sign-out,
// a changed, disabled or removed account): the socket is then closed with code 4401. Then:
//   → {"subscribe": ["hk", ...]}   {"unsubscribe": ["hk"]}
//   ← {"type":"subscribed","nodes":[...]}  {"type":"sample","node","kind","time","values"}
//     {"type":"error","node"?,"message"}
//   → {"watch": "batches"}   {"unwatch": "batches"}   (a record feed of hub/live-records.ts)
//   ← {"type":"watching","feeds":[...]}  then the feed's own messages ({"type":"batch",...}, ...)
// The hub holds one Watch stream per node while anyone is subscribed (app.metricsWatches); the browser never
// talks to a node. Any hub replica serves any browser: each dials the agents itself, so a socket
// streams the node whichever hub the load balancer gave it (the samples every replica stores are
// the same rows, kept once).
import type { FastifyPluginAsync } from 'fastify';
import type {} from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { Admin, Node } from '../db/models.js';
import { SESSION_ENDED_MESSAGE } from '../sessions.js';

const AUTH_TIMEOUT_MS = 10_000;
const MAX_SUBSCRIPTIONS = 100;
/**
 * How often an open socket checks its session again: for sessions ended on another hub replica when
 * the hubs share no Redis (or it was unreachable when the session ended), which would tell at once.
 */
const SESSION_CHECK_MS = 30_000;

const routes: FastifyPluginAsync = async (app) => {
  /** Why the admin behind the token may not watch, or undefined when it may. */
  const refusal = (admin: Admin | undefined, ver: number): string | undefined => {
    if (!admin || admin.disabled) return 'this account is disabled or was removed';
    if (admin.token_version !== ver) return SESSION_ENDED_MESSAGE;
    return undefined;
  };
  const authenticate = async (token: string): Promise<{ admin: Admin; ver: number } | string> => {
    try {
      const { sub, ver } = app.jwt.verify<{ sub: number; ver: number }>(token);
      const admin = await Admin.query().findById(sub);
      return refusal(admin, ver) ?? { admin: admin!, ver };
    } catch (error) {
      return `sign in first: ${(error as Error).message}`;
    }
  };

  app.route({
    method: 'GET',
    url: '/ws',
    config: { role: 'public' },
    schema: { hide: true },
    handler: async (_request, reply) =>
      reply.code(400).send({ statusCode: 400, code: 'HUB_ERR_BAD_REQUEST', message: 'this is a WebSocket: connect with Upgrade: websocket' }),
    wsHandler: (socket: WebSocket, request) => {
      const send = (message: object): void => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
      };
      const subscriptions = new Map<string, () => void>();
      const watches = new Map<string, () => void>();
      let admin: Admin | undefined;
      let closed = false;
      let stopWatchingSession = () => {};
      const authTimer = setTimeout(() => socket.close(4401, 'no token within 10 s'), AUTH_TIMEOUT_MS);

      const endSession = (message: string) => {
        send({ type: 'error', message });
        socket.close(4401, 'session ended');
      };
      const watchSession = (signedIn: Admin, ver: number) => {
        const unsubscribe = app.sessions.onEnded(signedIn.id, () => endSession(SESSION_ENDED_MESSAGE));
        const timer = setInterval(() => {
          void Admin.query()
            .findById(signedIn.id)
            .then((current) => {
              const why = refusal(current, ver);
              if (why && !closed) endSession(why);
            })
            .catch(() => undefined);
        }, SESSION_CHECK_MS);
        stopWatchingSession = () => {
          unsubscribe();
          clearInterval(timer);
        };
      };

      const signIn = async (token: string) => {
        const result = await authenticate(token);
        if (typeof result === 'string') {
          send({ type: 'error', message: result });
          socket.close(4401, 'unauthorized');
          return;
        }
        clearTimeout(authTimer);
        if (closed) return;
        admin = result.admin;
        watchSession(result.admin, result.ver);
        send({ type: 'ready', admin: admin.username });
      };

      const subscribe = async (ids: string[]) => {
        for (const id of ids) {
          if (subscriptions.has(id)) continue;
          if (subscriptions.size >= MAX_SUBSCRIPTIONS) {
            send({ type: 'error', node: id, message: `at most ${MAX_SUBSCRIPTIONS} nodes per connection` });
            continue;
          }
          const node = await Node.query().findById(id);
          if (closed) return;
          if (!node) {
            send({ type: 'error', node: id, message: `no node ${id}` });
            continue;
          }
          if (subscriptions.has(id)) continue;
          subscriptions.set(
            id,
            app.metricsWatches.subscribe(
              node,
              (sample) => send({ type: 'sample', ...sample }),
              (nodeId, message) => send({ type: 'error', node: nodeId, message }),
            ),
          );
        }
        send({ type: 'subscribed', nodes: [...subscriptions.keys()] });
      };

      const unsubscribe = (ids: string[]) => {
        for (const id of ids) {
          subscriptions.get(id)?.();
          subscriptions.delete(id);
        }
        send({ type: 'subscribed', nodes: [...subscriptions.keys()] });
      };

      const watch = (feed: string) => {
        if (!app.liveRecords.names().includes(feed)) return void send({ type: 'error', message: `watch: no feed ${feed}; feeds: ${app.liveRecords.names().join(', ')}` });
        if (!watches.has(feed)) watches.set(feed, app.liveRecords.watch(feed, admin!.role, send));
        send({ type: 'watching', feeds: [...watches.keys()] });
      };

      const unwatch = (feed: string) => {
        watches.get(feed)?.();
        watches.delete(feed);
        send({ type: 'watching', feeds: [...watches.keys()] });
      };

      // Messages are handled one at a time, in order (a subscribe waits for the sign-in before it).
      let queue = Promise.resolve();
      socket.on('message', (data) => {
        queue = queue.then(async () => {
          let message: { token?: unknown; subscribe?: unknown; unsubscribe?: unknown; watch?: unknown; unwatch?: unknown };
          try {
            message = JSON.parse(String(data));
          } catch {
            return void send({ type: 'error', message: 'messages must be JSON' });
          }
          if (!admin) {
            if (typeof message.token !== 'string') return void socket.close(4401, 'send {"token": "<JWT>"} first');
            return signIn(message.token);
          }
          const ids = (value: unknown) => (Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined);
          if (message.subscribe !== undefined) {
            const list = ids(message.subscribe);
            if (!list) return void send({ type: 'error', message: 'subscribe: must be an array of node ids' });
            return subscribe(list);
          }
          if (message.unsubscribe !== undefined) {
            const list = ids(message.unsubscribe);
            if (!list) return void send({ type: 'error', message: 'unsubscribe: must be an array of node ids' });
            return unsubscribe(list);
          }
          if (message.watch !== undefined || message.unwatch !== undefined) {
            const feed = message.watch ?? message.unwatch;
            if (typeof feed !== 'string') return void send({ type: 'error', message: `${message.watch !== undefined ? 'watch' : 'unwatch'}: must be a feed name` });
            return message.watch !== undefined ? watch(feed) : unwatch(feed);
          }
          send({ type: 'error', message: 'expected {"subscribe": [...]}, {"unsubscribe": [...]}, {"watch": "<feed>"} or {"unwatch": "<feed>"}' });
        }).catch((error: Error) => send({ type: 'error', message: error.message }));
      });
      socket.on('close', () => {
        closed = true;
        clearTimeout(authTimer);
        stopWatchingSession();
        for (const stop of [...subscriptions.values(), ...watches.values()]) stop();
        subscriptions.clear();
        watches.clear();
      });

      const token = (request.query as { token?: string }).token;
      if (token) queue = queue.then(() => signIn(token));
    },
  });
};

export default routes;
