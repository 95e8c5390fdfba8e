// How long a job leaves a node alone after a push it failed: 5 s, then 10 s, 20 s, ... at most
// 5 min, per key (a node and what is pushed to it), held in memory: a node that was offline catches
// up soon after it returns, and the hub does not hammer it meanwhile.
export const BACKOFF_FIRST_MS = 5_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

export class Backoff {
  private readonly state = new Map<string, { failures: number; until: number }>();

  constructor(private readonly now: () => number) {}

  /** When `key` may be tried again; undefined when it may now (or `force` says try anyway). */
  waitingUntil(key: string, force = false): number | undefined {
    const state = this.state.get(key);
    if (force || !state || state.until <= this.now()) return undefined;
    return state.until;
  }

  failed(key: string): void {
    const failures = (this.state.get(key)?.failures ?? 0) + 1;
    const delay = Math.min(BACKOFF_FIRST_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
    this.state.set(key, { failures, until: this.now() + delay });
  }

  succeeded(key: string): void {
    this.state.delete(key);
  }
}
