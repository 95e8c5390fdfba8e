// @fastify/rate-limit, counting where the hub's replicas all see it: in the shared Redis when there
// is one (hub/redis.ts), else in this hub's memory as a single hub always has. Routes register this
// in place of @fastify/rate-limit, with the same options.
//
// With Redis, a count Redis cannot take (connection lost, a command timed out) is taken by the
// plugin's own in-memory store instead, so a Redis outage neither fails requests nor lifts the
// limits: each hub then limits on its own until Redis is back. @fastify/rate-limit's skipOnError
// would let every request through, sign-in guesses included.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import rateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { SharedRedis } from './redis.js';

type Counted = { current: number; ttl: number };
type Done = (error: Error | null, result?: Counted) => void;

/** The store contract @fastify/rate-limit calls (its RedisStore and LocalStore implement it). */
interface Store {
  incr(key: string, done: Done, timeWindow: number, max: number): void;
  child(routeOptions: object): Store;
}
type StoreFlags = { continueExceeding?: boolean; exponentialBackoff?: boolean };

// The plugin's two stores are not in its typed API; they are its own files, loaded as it loads them.
const load = createRequire(import.meta.url);
const RedisStore = load('@fastify/rate-limit/store/RedisStore.js') as new (
  continueExceeding: boolean,
  exponentialBackoff: boolean,
  redis: SharedRedis['client'],
  key: string,
) => Store;
const LocalStore = load('@fastify/rate-limit/store/LocalStore.js') as new (continueExceeding: boolean, exponentialBackoff: boolean) => Store;

/** Redis keys of the rate limits; one namespace for every replica, so they count together. */
const NAMESPACE = 'boxfleet:rate-limit:';

class SharedStore implements Store {
  private readonly redis: Store;

  /** `scope`: the route whose own limit this counts, in the Redis keys ('' for the plugin-wide store and its limiters). */
  constructor(
    private readonly shared: SharedRedis,
    flags: StoreFlags,
    scope: string,
    private readonly local: Store,
  ) {
    this.redis = new RedisStore(Boolean(flags.continueExceeding), Boolean(flags.exponentialBackoff), shared.client, `${NAMESPACE}${scope}`);
  }

  incr(key: string, done: Done, timeWindow: number, max: number): void {
    if (!this.shared.ready) {
      this.shared.fellBack('rate-limit');
      return this.local.incr(key, done, timeWindow, max);
    }
    // Keys may hold a secret (a subscription token): Redis, readable by whoever runs it, sees a digest.
    this.redis.incr(
      createHash('sha256').update(key).digest('base64url'),
      (error, result) => {
        if (!error) return done(null, result);
        this.shared.fellBack('rate-limit', error);
        this.local.incr(key, done, timeWindow, max);
      },
      timeWindow,
      max,
    );
  }

  /** A route's limit (`config.rateLimit`), or a limiter of createRateLimit, which has no route. */
  child(routeOptions: object): Store {
    // What the plugin passes at run time: its merged limit options (its typings say route options).
    const options = routeOptions as StoreFlags & { routeInfo?: { method?: string; url?: string } };
    const { method, url } = options.routeInfo ?? {};
    return new SharedStore(this.shared, options, method && url ? `${method}:${url}:` : '', this.local.child(options));
  }
}

/** @fastify/rate-limit's `store` option: a class over `shared` (the plugin calls `new Store(options)`). */
function sharedStore(shared: SharedRedis) {
  return class extends SharedStore {
    constructor(options: StoreFlags) {
      super(shared, options, '', new LocalStore(Boolean(options.continueExceeding), Boolean(options.exponentialBackoff)));
    }
  };
}

export default fp<RateLimitPluginOptions>(
  async (app, options) => {
    await app.register(rateLimit, app.redis ? { ...options, store: sharedStore(app.redis) } : options);
  },
  { dependencies: ['redis'] },
);
