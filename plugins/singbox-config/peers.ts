// The other plugins singbox-config asks: firewall and clash-stats for their config contributions,
// clash-stats for the traffic ledger. Either may be absent or not set up, which is allowed.
import { UnavailableError } from '../../agent-core/sdk.js';
import { messageOf, type Context } from './state.js';
import { bytesByUser, type LedgerTotals } from './users.js';

export interface Peers {
  /** Another plugin's command, or undefined when that plugin is absent or not set up. */
  call<T>(command: string, input: unknown): Promise<T | undefined>;
  /** Counters into the ledger before a reload zeroes them (architecture §5.2). */
  sample(): Promise<void>;
  /** Each user's ledger total now (a sample first), or undefined when clash-stats cannot say. */
  ledgerTotals(): Promise<Record<string, number> | undefined>;
  /**
   * Each user's ledger total as of `ledgerSeq`, the hub's committed position its remaining_bytes
   * were computed at, so that the bytes after it (not yet in remaining_bytes) count too; undefined
   * when the ledger cannot go back there (it was started afresh, or the hub has acknowledged past
   * that position since).
   */
  totalsAt(ledgerSeq: number): Promise<Record<string, number> | undefined>;
}

/** NOT_FOUND / FAILED_PRECONDITION from another plugin: it is not there or not set up, which is allowed. */
function isAbsent(error: unknown): boolean {
  const status = (error as { status?: unknown }).status;
  return status === 'NOT_FOUND' || status === 'FAILED_PRECONDITION';
}

export function createPeers(ctx: Context): Peers {
  const { logger } = ctx;
  // The totals change only with the ledger's head: on a node where nothing moved since the last
  // limit check, the sample alone answers, without asking for (and converting) every user's totals.
  let last: { seq: number; totals: Record<string, number> } | undefined;

  async function call<T>(command: string, input: unknown): Promise<T | undefined> {
    try {
      return await ctx.call<T>(command, input);
    } catch (error) {
      if (isAbsent(error)) {
        logger.debug(`${command} not available; going on without it`, { error: messageOf(error) });
        return undefined;
      }
      throw new UnavailableError(`${command} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  return {
    call,

    async sample() {
      try {
        await call('clash-stats.traffic.sample', {});
      } catch (error) {
        throw new UnavailableError(`${messageOf(error)}; not reloading, so that no counted traffic is lost`, { cause: error });
      }
    },

    async ledgerTotals() {
      try {
        const sampled = await call<{ last_seq: number }>('clash-stats.traffic.sample', {});
        if (sampled && last?.seq === sampled.last_seq) return last.totals;
        const totals = await call<LedgerTotals>('clash-stats.traffic.totals', {});
        if (!totals) return undefined;
        last = { seq: totals.last_seq, totals: bytesByUser(totals) };
        return last.totals;
      } catch (error) {
        logger.warn('could not read the traffic ledger totals', { error: messageOf(error) });
        return undefined;
      }
    },

    async totalsAt(ledgerSeq) {
      try {
        return bytesByUser(await ctx.call<LedgerTotals>('clash-stats.traffic.totals', { at_seq: ledgerSeq }));
      } catch (error) {
        logger.warn('no ledger totals at the hub\'s position; usage counts from the sync, so bytes since that position are not counted', {
          ledger_seq: ledgerSeq,
          error: messageOf(error),
        });
        return undefined;
      }
    },
  };
}
