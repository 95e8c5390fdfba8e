// Changes to records that a job writes (batches, rollouts) pushed to the browsers watching them over
// GET /api/v1/ws ({"watch": "<feed>"}). The job may run on another hub replica, so changes are read
// from the database: each feed is polled for rows whose updated_at moved, by one poller per hub for
// every socket, and only while some socket watches.
import fp from 'fastify-plugin';
import type { AppLogger } from '../agent-core/common/logger.js';
import type { Role } from '../agent-core/common/roles.js';

/** A message for every watcher, or one that depends on the watcher's role (what it may read). */
export type LiveMessage = object | ((reader: Role) => object);
/** The messages for records changed at or after `sinceMs`. */
export type RecordPoll = (sinceMs: number) => Promise<LiveMessage[]>;

export const LIVE_POLL_MS = 1000;
/**
 * Each poll reads back this far before the previous one started: a row written just before a poll
 * may commit after it, and replicas' clocks differ a little. What was sent already is not sent twice.
 */
const OVERLAP_MS = 1500;

interface Watcher {
  role: Role;
  send(message: object): void;
}

interface Feed {
  poll: RecordPoll;
  watchers: Set<Watcher>;
  /** The previous poll's messages as JSON, to drop the overlap's repeats. */
  sent: Set<string>;
  since: number;
}

export class LiveRecords {
  private readonly feeds = new Map<string, Feed>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly now: () => number,
    private readonly logger: AppLogger,
    private readonly pollMs = LIVE_POLL_MS,
  ) {}

  registerRecordFeed(name: string, poll: RecordPoll): void {
    if (this.feeds.has(name)) throw new Error(`record feed ${name} is registered twice`);
    this.feeds.set(name, { poll, watchers: new Set(), sent: new Set(), since: 0 });
  }

  names(): string[] {
    return [...this.feeds.keys()];
  }

  /** Sends `send` the feed's changes from now on, as `role` may read them; the answer stops that. */
  watch(name: string, role: Role, send: (message: object) => void): () => void {
    const feed = this.feeds.get(name);
    if (!feed) throw new Error(`no feed ${name}; feeds: ${this.names().join(', ')}`);
    if (feed.watchers.size === 0) {
      feed.since = this.now();
      feed.sent.clear();
    }
    const watcher = { role, send };
    feed.watchers.add(watcher);
    this.schedule();
    return () => feed.watchers.delete(watcher);
  }

  private watched(): Feed[] {
    return [...this.feeds.values()].filter((f) => f.watchers.size > 0);
  }

  /** Polls again in pollMs while anyone watches; the next watch after a quiet spell starts it again. */
  private schedule(): void {
    if (this.timer || this.closed || this.watched().length === 0) return;
    this.timer = setTimeout(() => {
      void this.pollAll().finally(() => {
        this.timer = undefined;
        this.schedule();
      });
    }, this.pollMs);
    this.timer.unref();
  }

  private async pollAll(): Promise<void> {
    await Promise.all(
      this.watched().map(async (feed) => {
        const started = this.now();
        try {
          const messages = await feed.poll(feed.since - OVERLAP_MS);
          const sent = new Set<string>();
          for (const message of messages) {
            const render = typeof message === 'function' ? message : () => message;
            const key = JSON.stringify(render('owner'));
            sent.add(key);
            if (feed.sent.has(key)) continue;
            for (const watcher of feed.watchers) watcher.send(render(watcher.role));
          }
          feed.sent = sent;
          feed.since = started;
        } catch (error) {
          this.logger.warn('record feed poll failed', { error: (error as Error).message });
        }
      }),
    );
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    liveRecords: LiveRecords;
  }
}

export const liveRecordsPlugin = fp<{ logger: AppLogger }>(
  async (app, { logger }) => {
    const records = new LiveRecords(() => app.now(), logger);
    app.decorate('liveRecords', records);
    app.addHook('onClose', async () => records.close());
  },
  { name: 'live-records' },
);
