// Degraded mode: while the hub is away, users past their limits are cut off here (architecture §5.5),
// and served again by the next users.sync.
import { messageOf, type Context, type State } from './state.js';
import type { Peers } from './peers.js';
import type { Serving } from './serving.js';
import type { UsersState } from './store.js';
import type { UserSync } from './commands/users.js';
import { hasLimits, pastLimits, servedUsers } from './users.js';

export interface DegradedMode {
  /** The hub has not called for longer than degraded_after_s. */
  isDegraded(): boolean;
  stop(): void;
}

export function startDegradedMode(ctx: Context, state: State, serving: Serving, peers: Peers, sync: UserSync): DegradedMode {
  const { settings } = state;
  const { logger } = ctx;
  // "Since the agent started" when the hub has not called yet: the process start, not this plugin's.
  const agentStartedAt = performance.timeOrigin;
  const isDegraded = () => Date.now() - (ctx.lastRemoteCallAt() ?? agentStartedAt) > settings.degraded_after_s * 1000;

  async function enforceLimits(): Promise<void> {
    if (!state.users) return;
    const totals = await peers.ledgerTotals();
    if (totals && !state.users.baseline) {
      // clash-stats did not answer at users.sync: count from now on.
      state.users = { ...state.users, baseline: totals };
      await state.store.writeUsers(state.users);
    }
    const removals = pastLimits(state.users, totals, Date.now());
    if (removals.length === 0) return;
    const next: UsersState = { ...state.users, removed: [...state.users.removed, ...removals] };
    if (state.base) await serving.commit('degraded', state.base, next, { bad: 'failed-precondition', usersChanged: true });
    state.users = next;
    await state.store.writeUsers(next);
    logger.warn('users removed locally while the hub is away', { users: removals });
    ctx.emit('users.removed-locally', { users: removals });
  }

  let checking = false;
  const timer = setInterval(() => {
    if (checking || state.stopped || sync.busy || !state.users || !isDegraded() || !hasLimits(servedUsers(state.users))) return;
    checking = true;
    state
      .serialize(enforceLimits)
      .catch((error: unknown) => logger.error('degraded-mode limit check failed', { error: messageOf(error) }))
      .finally(() => {
        checking = false;
      });
  }, settings.degraded_check_s * 1000);
  timer.unref();

  return { isDegraded, stop: () => clearInterval(timer) };
}
