import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'vitest';
import { TABLE_FILE, type FaultRow } from './fault-table-print.js';

export type { FaultRow };

/** Records the row once its bytes (where traffic is involved) were billed once: billed ÷ moved is 1.00 ± 0.01. */
export function recordFault(row: FaultRow): void {
  if (row.movedBytes !== undefined && row.billedBytes !== undefined) {
    expect(Math.abs(row.billedBytes / row.movedBytes - 1), `${row.fault}: billed ${row.billedBytes} of ${row.movedBytes} bytes moved`).toBeLessThanOrEqual(0.01);
  }
  mkdirSync(dirname(TABLE_FILE), { recursive: true });
  appendFileSync(TABLE_FILE, `${JSON.stringify(row)}\n`);
}
