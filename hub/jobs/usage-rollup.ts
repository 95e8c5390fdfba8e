// The usage-rollup job: folds the traffic job's pending per-node usage (usage_pending,
// hub/billing/usage-pending.ts) into usage_hourly, a few nodes per transaction, so that each
// transaction stays short and the traffic job's ticks (which write usage_pending and update the
// same nodes' rows) are never held up for long. Each transaction folds and deletes its rows
// together: a roll-up that fails leaves them pending for the next one, and no row is added twice.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import { foldPending, PendingTakenError, type FoldOutcome } from '../billing/usage-pending.js';
import { chunks, withRetry } from './common.js';

export interface UsageRollupDeps {
  db: Knex;
  logger: AppLogger;
}

export interface UsageRollupOptions {
  /** Nodes folded per transaction. Default 8: at 10 ticks of 5,000 users, 400,000 cells read and 40,000 rows written. */
  nodesPerTransaction?: number;
}

export interface UsageRollupSummary {
  nodes: number;
  /** usage_pending rows folded and deleted. */
  pending_rows: number;
  /** usage_hourly cells added to. */
  usage_rows: number;
  /** Cells of users deleted since they were billed (their usage rows went with them). */
  dropped_cells: number;
  /** Transactions whose rows another hub rolled up first (nothing done twice). */
  conflicts: number;
}

/** One tick: every node with pending rows. A transaction that fails leaves its rows for the next tick, after the others ran. */
export async function runUsageRollup(deps: UsageRollupDeps, options: UsageRollupOptions = {}): Promise<UsageRollupSummary> {
  const { db, logger } = deps;
  const nodeIds = (await db('usage_pending').distinct('node_id').orderBy('node_id')).map((r: { node_id: string }) => r.node_id);
  const summary: UsageRollupSummary = { nodes: nodeIds.length, pending_rows: 0, usage_rows: 0, dropped_cells: 0, conflicts: 0 };
  const parts = chunks(nodeIds, options.nodesPerTransaction ?? 8);
  const failures: string[] = [];
  for (const part of parts) {
    let outcome: FoldOutcome;
    try {
      outcome = await withRetry(() => db.transaction((trx) => foldPending(trx, part)));
    } catch (error) {
      if (error instanceof PendingTakenError) {
        summary.conflicts += 1;
        continue;
      }
      logger.error('usage roll-up failed; the rows stay pending', { nodes: part, error: (error as Error).message });
      failures.push((error as Error).message);
      continue;
    }
    summary.pending_rows += outcome.pendingRows;
    summary.usage_rows += outcome.usageRows;
    summary.dropped_cells += outcome.droppedCells;
  }
  if (failures.length > 0) throw new Error(`usage roll-up: ${failures.length} of ${parts.length} transactions failed, their rows stay pending: ${failures[0]}`);
  return summary;
}
