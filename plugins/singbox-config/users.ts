// Managed users: checking a snapshot, batching bursts of users.sync, and the limits this node
// enforces by itself (architecture §5.5).
import { InvalidArgumentError } from '../../agent-core/sdk.js';
import type { LocalRemoval, SyncUser } from './contract.js';
import type { Context } from './state.js';
import type { UsersState } from './store.js';

/** Names, UUIDs and secrets must each be unique: a duplicate UUID silently shadows a user (pitfall 5). */
export function assertDistinct(users: readonly SyncUser[]): void {
  for (const field of ['name', 'uuid', 'password', 'ss_key'] as const) {
    const seen = new Map<string, number>();
    users.forEach((user, i) => {
      const value = field === 'uuid' ? user.uuid.toLowerCase() : user[field];
      const first = seen.get(value);
      if (first !== undefined) {
        const shown = field === 'name' ? ` (${JSON.stringify(value)})` : '';
        throw new InvalidArgumentError(`input.users.${i}.${field}: the same as input.users.${first}.${field}${shown}; each user needs its own`);
      }
      seen.set(value, i);
    });
  }
}

/** The users this node serves: the snapshot minus those removed locally. */
export function servedUsers(state: UsersState | undefined): SyncUser[] {
  if (!state) return [];
  const removed = new Set(state.removed.map((r) => r.name));
  return state.users.filter((u) => !removed.has(u.name));
}

/** clash-stats.traffic.totals (contract). */
export interface LedgerTotals {
  last_seq: number;
  users: Record<string, { upload_bytes: number; download_bytes: number }>;
}

/** Upload + download bytes per user. */
export function bytesByUser(totals: LedgerTotals): Record<string, number> {
  return Object.fromEntries(Object.entries(totals.users ?? {}).map(([name, t]) => [name, (t.upload_bytes ?? 0) + (t.download_bytes ?? 0)]));
}

/**
 * Served users past their limits: expired, or (when usage is known) having used their remaining
 * bytes since the snapshot arrived. `now` is ms since the epoch.
 */
export function pastLimits(state: UsersState, totals: Record<string, number> | undefined, now: number): LocalRemoval[] {
  const at = new Date(now).toISOString();
  const out: LocalRemoval[] = [];
  for (const user of servedUsers(state)) {
    if (user.expires_at !== null && Date.parse(user.expires_at) <= now) {
      out.push({ name: user.name, reason: `expired at ${user.expires_at}`, at });
      continue;
    }
    if (user.remaining_bytes === null || !totals || !state.baseline) continue;
    const used = (totals[user.name] ?? 0) - (state.baseline[user.name] ?? 0);
    if (used >= user.remaining_bytes) {
      out.push({
        name: user.name,
        reason: `used ${used} bytes since users.sync revision ${state.revision}, which left ${user.remaining_bytes}`,
        at,
      });
    }
  }
  return out;
}

/** When the first of `users` expires, in ms since the epoch (Infinity when none does). */
export function nextExpiry(users: readonly SyncUser[]): number {
  let first = Infinity;
  for (const user of users) if (user.expires_at !== null) first = Math.min(first, Date.parse(user.expires_at));
  return first;
}

/** Users just removed locally: a warning in the log and a users.removed-locally event. */
export function reportRemovals(ctx: Context, removals: LocalRemoval[], hubAway: boolean): void {
  ctx.logger.warn('users removed locally: past their remaining bytes or expiry', { users: removals, hub_away: hubAway });
  ctx.emit('users.removed-locally', { users: removals });
}

export function hasLimits(users: readonly SyncUser[]): boolean {
  return users.some((u) => u.remaining_bytes !== null || u.expires_at !== null);
}

/**
 * Collects calls for `windowMs` from the first one, then runs `work` once with the input `merge`
 * kept; every call resolves (or rejects) with that one result.
 */
export class Batcher<Input, Result> {
  private pending?: {
    input: Input;
    waiters: { resolve(result: Result): void; reject(error: unknown): void }[];
    timer: NodeJS.Timeout;
  };

  constructor(
    private readonly windowMs: number,
    private readonly merge: (kept: Input, next: Input) => Input,
    private readonly work: (input: Input) => Promise<Result>,
  ) {}

  get busy(): boolean {
    return this.pending !== undefined;
  }

  submit(input: Input): Promise<Result> {
    return new Promise((resolve, reject) => {
      if (this.pending) this.pending.input = this.merge(this.pending.input, input);
      else this.pending = { input, waiters: [], timer: setTimeout(() => this.flush(), this.windowMs) };
      this.pending.waiters.push({ resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.pending;
    if (!batch) return;
    this.pending = undefined;
    this.work(batch.input).then(
      (result) => batch.waiters.forEach((w) => w.resolve(result)),
      (error: unknown) => batch.waiters.forEach((w) => w.reject(error)),
    );
  }

  /** Rejects what is waiting (the plugin is stopping). */
  cancel(error: Error): void {
    const batch = this.pending;
    if (!batch) return;
    clearTimeout(batch.timer);
    this.pending = undefined;
    batch.waiters.forEach((w) => w.reject(error));
  }
}
