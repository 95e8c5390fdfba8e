// Ending an admin's sessions. Every JWT carries its admin's token_version, checked on every request
// and by every open WebSocket; raising it ends all the sessions signed before, on every hub replica.
// Sockets on this hub are told at once; those on another replica notice at their next check.
import { EventEmitter } from 'node:events';
import fp from 'fastify-plugin';
import type { Knex } from 'knex';

export const SESSION_ENDED_MESSAGE = 'this session has ended (signed out, or the account was changed, disabled or removed); sign in again';

export class Sessions {
  private readonly events = new EventEmitter().setMaxListeners(0);

  /** Raises the admin's token version; give the transaction that changes the admin, then `announce` after it commits. */
  async end(db: Knex, adminId: number): Promise<void> {
    await db('admins').where({ id: adminId }).increment('token_version', 1);
  }

  /** Tells this hub's open sockets of the admin that their session has ended. */
  announce(adminId: number): void {
    this.events.emit('ended', adminId);
  }

  /** Calls `listener` when the admin's sessions end on this hub; returns the unsubscribe. */
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
    app.decorate('sessions', new Sessions());
  },
  { name: 'sessions' },
);
