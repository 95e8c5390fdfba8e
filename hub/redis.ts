// The optional Redis that several hub replicas share (redis_url), as one Fastify plugin,
// `app.redis`: null when it is not set, and then every count below stays in this hub's memory, as
// on a single hub. With it, the rate limits (hub/rate-limit-store.ts) and the sign-in back-off
// (hub/login-throttle.ts) count in Redis, so a limit holds across the replicas, and the hubs tell
// each other of ended sessions (hub/sessions.ts) so every replica closes their WebSockets at once.
//
// A Redis that cannot be reached at start stops the hub with a message naming the setting: an
// operator who set it means to share the counts. A Redis lost later does not fail requests: each
// count falls back to this hub's memory until the connection is back (limits then hold per
// replica, as without Redis), with one warning per outage, boxfleet_hub_redis_up at 0 and
// boxfleet_hub_redis_fallbacks_total counting the requests counted locally.
import { randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import type { AppLogger } from '../agent-core/common/logger.js';
import { InvalidArgumentError } from '../agent-core/common/errors.js';
import { settingName, type HubConfig } from './config.js';

/** How long a command may take before the count falls back to memory: a hung Redis must not hold requests. */
const COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 5000;

/** The URL as logs and errors show it: without its password. */
export function redisAddress(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  parsed.username = '';
  return parsed.toString();
}

export class SharedRedis {
  private warned = false;
  /** The connection's last error, for the warning. */
  lastError?: Error;
  /** This hub among the publishers, so it can skip its own messages. */
  private readonly origin = randomBytes(8).toString('hex');
  private readonly listeners = new Map<string, (message: string) => void>();

  constructor(
    readonly client: Redis,
    /** A connection of its own: one that subscribes can send nothing else. */
    private readonly subscriber: Redis,
    private readonly logger: AppLogger,
    private readonly fallbacks: Counter<'what'>,
  ) {
    subscriber.on('message', (channel: string, text: string) => {
      const split = text.indexOf(' ');
      if (text.slice(0, split) !== this.origin) this.listeners.get(channel)?.(text.slice(split + 1));
    });
  }

  /** Tells the other hubs; best effort (a hub that misses it finds out by its own polling). */
  publish(channel: string, message: string): void {
    if (!this.ready) return;
    this.client.publish(channel, `${this.origin} ${message}`).catch((error: Error) => this.logger.warn('redis publish failed', { channel, error: error.message }));
  }

  /** Calls `listener` with what the other hubs publish on `channel` (one listener per channel). */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    this.listeners.set(channel, listener);
    await this.subscriber.subscribe(channel);
  }

  /** Whether a command sent now can be answered; when not, callers count locally without trying. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Records that `what` (rate-limit, login-throttle) was counted in this hub's memory because of `error`. */
  fellBack(what: string, error?: Error): void {
    this.fallbacks.inc({ what });
    this.lost(error);
  }

  /** Warns once per outage. */
  lost(error = this.lastError): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn('redis unreachable: rate limits and sign-in back-off count per hub until it is back', {
      error: error?.message ?? `connection ${this.client.status}`,
    });
  }

  /** The connection is back: the next outage warns again. */
  recovered(): void {
    if (this.warned) this.logger.info('redis reachable again: counts are shared across hubs once more');
    this.warned = false;
    this.lastError = undefined;
  }
}

/** Connects, or throws a message naming the setting and the address. */
async function connect(url: string, forCommands: boolean): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Fail at once while disconnected instead of queueing, and give up on a hung Redis: the caller
    // counts locally meanwhile. A subscriber keeps the defaults, which subscribe again on reconnect.
    ...(forCommands ? { commandTimeout: COMMAND_TIMEOUT_MS, enableOfflineQueue: false, maxRetriesPerRequest: 1 } : {}),
  });
  // Without a listener an 'error' event would end the process; the plugin reports it once connected.
  // The socket's own error says more than the "Connection is closed." that connect() rejects with.
  let cause: Error | undefined;
  client.on('error', (error: Error) => (cause ??= error));
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch (error) {
    client.disconnect();
    throw new InvalidArgumentError(`${settingName('redis_url')}: cannot reach ${redisAddress(url)}: ${(cause ?? (error as Error)).message}`);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The Redis the hub replicas share; null when redis_url is not set. */
    redis: SharedRedis | null;
  }
}

export const redisPlugin = fp<{ config: HubConfig; logger: AppLogger }>(
  async (app, { config, logger }) => {
    if (!config.redis_url) {
      app.decorate('redis', null);
      return;
    }
    const client = await connect(config.redis_url, true);
    const subscriber = await connect(config.redis_url, false).catch((error: Error) => {
      client.disconnect();
      throw error;
    });
    const registers = [app.prometheus];
    const fallbacks = new Counter({
      name: 'boxfleet_hub_redis_fallbacks_total',
      help: 'Requests counted in this hub alone (rate limits, sign-in back-off) because Redis could not be reached.',
      labelNames: ['what'],
      registers,
    });
    new Gauge({
      name: 'boxfleet_hub_redis_up',
      help: '1 while this hub is connected to the shared Redis (redis_url).',
      registers,
      collect() {
        this.set(client.status === 'ready' ? 1 : 0);
      },
    });
    const shared = new SharedRedis(client, subscriber, logger, fallbacks);
    let closing = false;
    client.on('error', (error: Error) => (shared.lastError = error));
    client.on('ready', () => shared.recovered());
    client.on('close', () => {
      if (!closing) shared.lost();
    });
    logger.info('redis connected: rate limits and sign-in back-off are shared with the other hubs', { redis: redisAddress(config.redis_url) });
    app.decorate('redis', shared);
    app.addHook('onClose', async () => {
      closing = true;
      await Promise.all([client, subscriber].map((c) => c.quit().catch(() => c.disconnect())));
    });
  },
  { name: 'redis', dependencies: ['prometheus'] },
);
