// Per-account back-off for sign-in. The per-IP rate limit does not stop a guesser who spreads
// attempts over many addresses; this counts failed sign-ins per username, whether or not that
// account exists (so the answer does not tell which usernames exist). After FAILURES failures
// within WINDOW_MS the username is refused for FIRST_DELAY_MS, doubling with each failure after
// that up to MAX_DELAY_MS; a successful sign-in clears it.
//
// Kept in memory, not in the database: no write per failed attempt and no table to clean up. The
// trade-off: each hub replica counts on its own, so N replicas behind a load balancer allow N times
// the attempts (still bounded and backing off), and a hub restart forgets the counts.
const FAILURES = 5;
const WINDOW_MS = 15 * 60_000;
const FIRST_DELAY_MS = 30_000;
const MAX_DELAY_MS = 15 * 60_000;
/**
 * Usernames tracked at once; past this the least recently failed are forgotten. Flooding it takes
 * more failed attempts than the per-IP limit lets a few addresses make within the window.
 */
const MAX_TRACKED = 10_000;

interface Failures {
  count: number;
  since: number;
  lockedUntil: number;
}

export class LoginThrottle {
  private readonly accounts = new Map<string, Failures>();

  constructor(private readonly now: () => number) {}

  /** How long this username must wait before the next attempt; 0: it may try now. */
  waitMs(username: string): number {
    const entry = this.accounts.get(key(username));
    return entry ? Math.max(entry.lockedUntil - this.now(), 0) : 0;
  }

  failed(username: string): void {
    const now = this.now();
    const name = key(username);
    let entry = this.accounts.get(name);
    if (!entry || (now - entry.since > WINDOW_MS && now >= entry.lockedUntil)) entry = { count: 0, since: now, lockedUntil: 0 };
    entry.count += 1;
    if (entry.count >= FAILURES) entry.lockedUntil = now + Math.min(FIRST_DELAY_MS * 2 ** (entry.count - FAILURES), MAX_DELAY_MS);
    // Re-inserted so the Map's order is by last failure, oldest first.
    this.accounts.delete(name);
    this.accounts.set(name, entry);
    if (this.accounts.size > MAX_TRACKED) this.accounts.delete(this.accounts.keys().next().value!);
  }

  succeeded(username: string): void {
    this.accounts.delete(key(username));
  }
}

// MySQL compares usernames without case: one count for every spelling of a name.
const key = (username: string) => username.toLowerCase();
