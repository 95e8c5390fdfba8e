// Per-account back-off for sign-in. The per-IP rate limit does not stop a guesser who spreads
// attempts over many addresses; this counts failed sign-ins per username, whether or not that
// account exists (so the answer does not tell which usernames exist). After FAILURES failures
// within WINDOW_MS the username is refused for FIRST_DELAY_MS, doubling with each failure after
// that up to MAX_DELAY_MS; a successful sign-in clears it.
//
// Kept in memory, not in the database: no write per failed attempt and no table to clean up. With
// the shared Redis (redis_url, hub/redis.ts) the counts are kept there, so every hub replica behind
// a load balancer sees the same ones; without it each replica counts on its own (N replicas allow N
// times the attempts, still bounded and backing off), and a hub restart forgets the counts. While
// Redis cannot be reached, each hub counts in its own memory meanwhile.
import { createHash } from 'node:crypto';
import type { SharedRedis } from './redis.js';

const FAILURES = 5;
const WINDOW_MS = 15 * 60_000;
const FIRST_DELAY_MS = 30_000;
const MAX_DELAY_MS = 15 * 60_000;
/**
 * Usernames tracked at once; past this the least recently failed are forgotten. Flooding it takes
 * more failed attempts than the per-IP limit lets a few addresses make within the window.
 */
const MAX_TRACKED = 10_000;

/** How long the name is refused after its `count`th failure in the window; 0: not yet. */
const delayAfter = (count: number) => (count < FAILURES ? 0 : Math.min(FIRST_DELAY_MS * 2 ** (count - FAILURES), MAX_DELAY_MS));

export interface LoginThrottle {
  /** How long this username must wait before the next attempt; 0: it may try now. */
  waitMs(username: string): Promise<number>;
  failed(username: string): Promise<void>;
  succeeded(username: string): Promise<void>;
}

interface Failures {
  count: number;
  since: number;
  lockedUntil: number;
}

class MemoryThrottle implements LoginThrottle {
  private readonly accounts = new Map<string, Failures>();

  constructor(private readonly now: () => number) {}

  async waitMs(username: string): Promise<number> {
    const entry = this.accounts.get(key(username));
    return entry ? Math.max(entry.lockedUntil - this.now(), 0) : 0;
  }

  async failed(username: string): Promise<void> {
    const now = this.now();
    const name = key(username);
    let entry = this.accounts.get(name);
    if (!entry || (now - entry.since > WINDOW_MS && now >= entry.lockedUntil)) entry = { count: 0, since: now, lockedUntil: 0 };
    entry.count += 1;
    if (entry.count >= FAILURES) entry.lockedUntil = now + delayAfter(entry.count);
    // Re-inserted so the Map's order is by last failure, oldest first.
    this.accounts.delete(name);
    this.accounts.set(name, entry);
    if (this.accounts.size > MAX_TRACKED) this.accounts.delete(this.accounts.keys().next().value!);
  }

  async succeeded(username: string): Promise<void> {
    this.accounts.delete(key(username));
  }
}

/**
 * The same policy in Redis, for every replica at once: a failure counter that lives WINDOW_MS from
 * the first failure, and a lock key that lives as long as the name is refused. Redis keeps time,
 * so the hub's clock (which tests move) plays no part here.
 */
class RedisThrottle implements LoginThrottle {
  constructor(
    private readonly shared: SharedRedis,
    private readonly local: MemoryThrottle,
  ) {
    shared.client.defineCommand('boxfleetCountFailure', {
      numberOfKeys: 1,
      // INCR and, on the first failure, the window's expiry: one step, so a counter never outlives it.
      lua: "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
    });
  }

  /** `shared` when Redis answers, else this hub's memory (and the fallback is reported). */
  private async either<T>(redis: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    if (!this.shared.ready) {
      this.shared.fellBack('login-throttle');
      return local();
    }
    try {
      return await redis();
    } catch (error) {
      this.shared.fellBack('login-throttle', error as Error);
      return local();
    }
  }

  waitMs(username: string): Promise<number> {
    return this.either(
      async () => Math.max(await this.shared.client.pttl(redisKey('lock', username)), 0),
      () => this.local.waitMs(username),
    );
  }

  failed(username: string): Promise<void> {
    return this.either(
      async () => {
        const client = this.shared.client as SharedRedis['client'] & { boxfleetCountFailure(key: string, windowMs: number): Promise<number> };
        const delay = delayAfter(await client.boxfleetCountFailure(redisKey('failures', username), WINDOW_MS));
        if (delay > 0) await client.set(redisKey('lock', username), '1', 'PX', delay);
      },
      () => this.local.failed(username),
    );
  }

  succeeded(username: string): Promise<void> {
    return this.either(
      async () => void (await this.shared.client.del(redisKey('failures', username), redisKey('lock', username))),
      () => this.local.succeeded(username),
    );
  }
}

/** The sign-in back-off: shared through Redis when the hub has it, else in this hub's memory. */
export function loginThrottle(now: () => number, shared: SharedRedis | null): LoginThrottle {
  const local = new MemoryThrottle(now);
  return shared ? new RedisThrottle(shared, local) : local;
}

// MySQL compares usernames without case: one count for every spelling of a name.
const key = (username: string) => username.toLowerCase();
// Hashed: a username field sometimes holds a mistyped password, and Redis is readable by whoever runs it.
const redisKey = (kind: 'failures' | 'lock', username: string) =>
  `boxfleet:login:${kind}:${createHash('sha256').update(key(username)).digest('base64url')}`;
