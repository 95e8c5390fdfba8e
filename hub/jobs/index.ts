// The hub's jobs as a library for scripts that drive them without a running hub (the benchmarks
// in tests/bench): open a database with the hub's migrations, apply ledger batches (alone, or
// grouped as the traffic job does), roll their usage up, run the quota job. Built to dist/hub-jobs.js.
export { openDatabase } from '../db/database.js';
export { applyLedgerBatch, groupingApplier, hourOf, type LedgerBatch, type LedgerEntry } from './traffic.js';
export { runQuotaJob } from './quota.js';
export { RESET_PERIOD_MS } from '../reset-policies.js';
export { runUsageRollup } from './usage-rollup.js';
