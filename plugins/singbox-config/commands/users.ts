// users.sync and users.list: the hub's snapshot of the users this node serves. Syncs arriving
// within coalesce_ms share one apply (users.ts's Batcher); the newest revision wins.
import { configHash, FailedPreconditionError, InvalidArgumentError, UnavailableError } from '../../../agent-core/sdk.js';
import type { LocalRemoval, UsersSyncInput, UsersSyncOutput } from '../contract.js';
import type { Peers } from '../peers.js';
import type { Serving } from '../serving.js';
import type { Context, Handlers, State } from '../state.js';
import type { UsersState } from '../store.js';
import { assertDistinct, Batcher, pastLimits, reportRemovals } from '../users.js';

/** A users.sync waiting for its batch, with the ledger totals at its ledger_seq taken when it arrived. */
type PendingSync = { input: UsersSyncInput; baseline: Record<string, number> | undefined };

export interface UserSync {
  handlers: Pick<Handlers, 'users.sync' | 'users.list'>;
  /** A users.sync is waiting for its batch. */
  readonly busy: boolean;
  /** Fails the waiting syncs: the plugin is stopping. */
  cancel(): void;
}

export function createUserSync(ctx: Context, state: State, serving: Serving, peers: Peers): UserSync {
  async function applyUsers({ input, baseline }: PendingSync): Promise<UsersSyncOutput> {
    return state.serialize(async () => {
      const { users } = state;
      // Checked again here: another batch may have applied a newer revision while this one waited.
      if (users && input.revision < users.revision) {
        throw new FailedPreconditionError(`input.revision: ${input.revision} is older than the applied revision ${users.revision}`);
      }
      const previous = users?.removed ?? [];
      const sameRevision = users?.revision === input.revision;
      // Usage now, for the limits below (and the baseline when there is none at ledger_seq).
      const totals = input.users.some((u) => u.remaining_bytes !== null) ? await peers.ledgerTotals() : undefined;
      const next: UsersState = {
        revision: input.revision,
        synced_at: new Date().toISOString(),
        users: input.users,
        // Usage counts against remaining_bytes from the snapshot that set them; the same revision sent again keeps its start.
        baseline: (sameRevision ? users!.baseline : null) ?? baseline ?? totals ?? null,
        removed: [],
      };
      // The snapshot's limits apply in this same apply: a user whose limit the hub raised is served
      // again, one still past it is not served for a moment in between (and keeps their record).
      const earlier = new Map(previous.map((r) => [r.name, r]));
      const past = pastLimits(next, totals, Date.now());
      next.removed = past.map((r) => earlier.get(r.name) ?? r);
      const names = (removals: LocalRemoval[]) => removals.map((r) => r.name);
      const changed = !users || configHash(users.users) !== configHash(input.users) || configHash(names(previous)) !== configHash(names(next.removed));
      let reloaded = false;
      if (state.base) reloaded = (await serving.commit('users.sync', state.base, next, { bad: 'failed-precondition', usersChanged: changed })).reloaded;
      await state.store.writeUsers(next);
      state.users = next;
      const stillRemoved = new Set(names(next.removed));
      const lifted = previous.filter((r) => !stillRemoved.has(r.name));
      if (lifted.length > 0) {
        ctx.logger.info('users removed locally are no longer: the users.sync raised their limits or dropped them', { users: names(lifted) });
      }
      const fresh = past.filter((r) => !earlier.has(r.name));
      if (fresh.length > 0) reportRemovals(ctx, fresh, false);
      return { revision: input.revision, changed, reloaded, locally_removed: previous };
    });
  }

  const batcher = new Batcher<PendingSync, UsersSyncOutput>(
    state.settings.coalesce_ms,
    // The newest revision, with the baseline taken for its ledger_seq: they go with the remaining_bytes read with it.
    (kept, next) => (next.input.revision >= kept.input.revision ? next : kept),
    applyUsers,
  );

  return {
    get busy() {
      return batcher.busy;
    },
    cancel: () => batcher.cancel(new UnavailableError('singbox-config is stopping; send users.sync again')),
    handlers: {
      async 'users.sync'(input) {
        const { users } = state;
        assertDistinct(input.users);
        if (users && input.revision < users.revision) {
          throw new FailedPreconditionError(`input.revision: ${input.revision} is older than the applied revision ${users.revision}`);
        }
        if (users && input.revision === users.revision && !batcher.busy) {
          if (configHash(users.users) !== configHash(input.users)) {
            throw new InvalidArgumentError(`input.revision: revision ${input.revision} was applied with other users; send a new revision`);
          }
          if (users.removed.length === 0) return { revision: input.revision, changed: false, reloaded: false, locally_removed: [] };
        }
        // The totals at the hub's position are taken now, not after the coalescing wait and the
        // reload: by then the hub may have acknowledged past it, and the ledger dropped those entries.
        const baseline = input.ledger_seq === undefined ? undefined : await peers.totalsAt(input.ledger_seq);
        return batcher.submit({ input, baseline });
      },

      'users.list': async () => {
        const { users } = state;
        const removed = new Map<string, LocalRemoval>((users?.removed ?? []).map((r) => [r.name, r]));
        return {
          revision: users?.revision ?? null,
          synced_at: users?.synced_at ?? null,
          users: (users?.users ?? []).map((u) => ({
            name: u.name,
            remaining_bytes: u.remaining_bytes,
            expires_at: u.expires_at,
            removed_locally: removed.has(u.name),
            removed_reason: removed.get(u.name)?.reason ?? null,
            removed_at: removed.get(u.name)?.at ?? null,
          })),
        };
      },
    },
  };
}
