// Local limits, hub or no hub (architecture §5.5): every limit_check_s a served user past their
// remaining bytes or expiry is cut off here, within seconds, instead of after the hub's next drain,
// quota tick and users.sync. The hub stays the authority: its next users.sync replaces the snapshot
// and the limits with it, so a user whose limit it raised is served again.
import type { LimitsStatus } from './contract.js';
import type { UserSync } from './commands/users.js';
import type { Peers } from './peers.js';
import type { Serving } from './serving.js';
import { limitCheckS } from './settings.js';
import { messageOf, type Context, type State } from './state.js';
import type { UsersState } from './store.js';
import { hasLimits, nextExpiry, pastLimits, reportRemovals, servedUsers } from './users.js';

/** Longest wait between checks while removals keep failing (each failed apply is a rollback). */
const MAX_BACKOFF_S = 300;

export interface Limits {
  /** The hub has not called for longer than degraded_after_s. */
  isDegraded(): boolean;
  status(): LimitsStatus;
  stop(): void;
}

export function startLimits(ctx: Context, state: State, serving: Serving, peers: Peers, sync: UserSync): Limits {
  const { settings } = state;
  const { logger } = ctx;
  const checkS = limitCheckS(settings);
  if (settings.degraded_check_s !== undefined) {
    logger.warn('plugins.singbox-config.degraded_check_s is deprecated: rename it to limit_check_s (while it is set, it replaces limit_check_s)', {
      degraded_check_s: settings.degraded_check_s,
      limit_check_s: settings.limit_check_s,
    });
  }
  // "Since the agent started" when the hub has not called yet: the process start, not this plugin's.
  const agentStartedAt = performance.timeOrigin;
  const isDegraded = () => Date.now() - (ctx.lastRemoteCallAt() ?? agentStartedAt) > settings.degraded_after_s * 1000;
  const last: LimitsStatus = { check_s: checkS, checked_at: null, took_ms: null, error: null };
  /** What the last check found nobody past: the same users, totals and no expiry since give the same answer. */
  let cleared: { users: UsersState; totals: Record<string, number> | undefined; until: number } | undefined;

  async function enforce(): Promise<void> {
    if (!state.users) return;
    const started = performance.now();
    const totals = await peers.ledgerTotals();
    if (totals && !state.users.baseline) {
      // clash-stats did not answer at users.sync: count from now on.
      state.users = { ...state.users, baseline: totals };
      await state.store.writeUsers(state.users);
    }
    const now = Date.now();
    const unchanged = cleared?.users === state.users && cleared.totals === totals && now < cleared.until;
    const removals = unchanged ? [] : pastLimits(state.users, totals, now);
    Object.assign(last, { checked_at: new Date(now).toISOString(), took_ms: Math.round((performance.now() - started) * 10) / 10 });
    if (removals.length === 0) {
      if (!unchanged) cleared = { users: state.users, totals, until: nextExpiry(servedUsers(state.users)) };
      return;
    }
    const next: UsersState = { ...state.users, removed: [...state.users.removed, ...removals] };
    // The same path as every change: render, check, sample, replace, reload, verify, or roll back.
    if (state.base) await serving.commit('limits', state.base, next, { bad: 'failed-precondition', usersChanged: true });
    state.users = next;
    await state.store.writeUsers(next);
    reportRemovals(ctx, removals, isDegraded());
  }

  let checking = false;
  let failures = 0;
  let notBefore = 0;
  const timer = setInterval(() => {
    // A users.sync waiting for its batch brings new limits and applies them itself.
    if (checking || state.stopped || sync.busy || Date.now() < notBefore || !state.users || !hasLimits(servedUsers(state.users))) return;
    checking = true;
    state
      .serialize(enforce)
      .then(
        () => {
          failures = 0;
          last.error = null;
        },
        (error: unknown) => {
          failures += 1;
          const retryInS = Math.min(checkS * 2 ** failures, MAX_BACKOFF_S);
          notBefore = Date.now() + retryInS * 1000;
          last.error = messageOf(error);
          logger.error('local limit check failed', { error: last.error, retry_in_s: retryInS });
        },
      )
      .finally(() => {
        checking = false;
      });
  }, checkS * 1000);
  timer.unref();

  return { isDegraded, status: () => ({ ...last }), stop: () => clearInterval(timer) };
}
