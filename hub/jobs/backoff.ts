// How long a job leaves a node alone after a push it failed: 5 s, then 10 s, 20 s, ... at most
// 5 min, per key (a node and what is pushed to it), held in memory: the hub does not hammer a node
// that is offline or refuses. A node that did not answer is tried again as soon as another job has
// reached it since (its last_seen_at is later than the failure): it is back, and what it missed
// should not wait out a backoff that grew while it was away.
import { isUnreachable } from './common.js';

export const BACKOFF_FIRST_MS = 5_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

export class Backoff {
  private readonly state = new Map<string, { failures: number; until: number; at: number; unreachable: boolean }>();

  constructor(private readonly now: () => number) {}

  /**
   * When `key` may be tried again; undefined when it may now, when `force` says try anyway, or when
   * the node did not answer the last try and was seen at `seenAt`, after it.
   */
  waitingUntil(key: string, force = false, seenAt: number | null = null): number | undefined {
    const state = this.state.get(key);
    if (force || !state || state.until <= this.now()) return undefined;
    if (state.unreachable && seenAt !== null && Number(seenAt) > state.at) return undefined;
    return state.until;
  }

  /** `error`: why the push failed; a node that did not answer may be tried again once seen. */
  failed(key: string, error?: unknown): void {
    const failures = (this.state.get(key)?.failures ?? 0) + 1;
    const delay = Math.min(BACKOFF_FIRST_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
    const now = this.now();
    this.state.set(key, { failures, until: now + delay, at: now, unreachable: isUnreachable(error) });
  }

  succeeded(key: string): void {
    this.state.delete(key);
  }
}
