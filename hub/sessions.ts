// Ending an admin's sessions. Every JWT carries its admin's token_version, checked on every request
// and by every open WebSocket; raising it ends all the sessions signed before, on every hub replica.
// Sockets on this hub are told at once, and so are those on the other replicas when the hubs share
// a Redis (hub/redis.ts); without one they notice at their next check.
import { EventEmitter } from 'node:events';
import fp from 'fastify-plugin';
import type { Knex } from 'knex';
import type { SharedRedis } from './redis.js';

export const SESSION_ENDED_MESSAGE = 'this session has ended (signed out, or the account was changed, disabled or removed); sign in again';

const ENDED_CHANNEL = 'boxfleet:sessions-ended';

export class Sessions {
  private readonly events = new EventEmitter().setMaxListeners(0);

  constructor(private readonly redis: SharedRedis | null) {}

  /** Hears the other hubs' announcements. */
  async listen(): Promise<void> {
    await this.redis?.subscribe(ENDED_CHANNEL, (id) => this.events.emit('ended', Number(id)));
  }

  /** Raises the admin's token version; give the transaction that changes the admin, then `announce` after it commits. */
  async end(db: Knex, adminId: number): Promise<void> {
    await db('admins').where({ id: adminId }).increment('token_version', 1);
  }

  /** Tells the open sockets of the admin, on this hub and the others, that their session has ended. */
  announce(adminId: number): void {
    this.events.emit('ended', adminId);
    this.redis?.publish(ENDED_CHANNEL, String(adminId));
  }

  /** Calls `listener` when the admin's sessions end (announced here, or by another hub through Redis); returns the unsubscribe. */
  onEnded(adminId: number, listener: () => void): () => void {
    const handler = (id: number) => {
      if (id === adminId) listener();
    };
    this.events.on('ended', handler);
    return () => this.events.off('ended', handler);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    sessions: Sessions;
  }
}

export const sessionsPlugin = fp(
  async (app) => {
    const sessions = new Sessions(app.redis);
    await sessions.listen();
    app.decorate('sessions', sessions);
  },
  { name: 'sessions', dependencies: ['redis'] },
);
