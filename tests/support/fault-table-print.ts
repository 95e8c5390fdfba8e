import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The fault suite's one table. Each fault test records a row (in its own worker process); the
 * real set's global teardown prints them together after the run, so CI's log ends with what was
 * survived (this file's global setup). A row with traffic is recorded only if it was billed once.
 * Rows go through a file because tests and the teardown run in different processes.
 */
export interface FaultRow {
  /** What was done to the system, e.g. "partition hub ↔ agent, 120 s". */
  fault: string;
  /** The property the test checked, e.g. "sing-box served; users converged; billed once". */
  checked: string;
  /** Bytes a real client moved through sing-box during and around the fault, when traffic is involved. */
  movedBytes?: number;
  /** Bytes the hub billed for them. */
  billedBytes?: number;
  /** e.g. "recovered in 14.2 s"; the test asserts the property before recording it. */
  outcome: string;
}

export const TABLE_FILE = join(dirname(fileURLToPath(import.meta.url)), '../../test-output/faults.jsonl');

/** billed ÷ moved with two decimals, or "–" where no traffic is involved. */
function bytesRatio(row: Pick<FaultRow, 'movedBytes' | 'billedBytes'>): string {
  if (row.movedBytes === undefined || row.billedBytes === undefined) return '–';
  return row.movedBytes === 0 ? 'no bytes' : (row.billedBytes / row.movedBytes).toFixed(2);
}

function clearFaultTable(): void {
  rmSync(TABLE_FILE, { force: true });
}

function formatFaultTable(): string | undefined {
  if (!existsSync(TABLE_FILE)) return undefined;
  const rows = readFileSync(TABLE_FILE, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as FaultRow);
  const header = ['fault', 'checked', 'moved', 'billed', 'billed ÷ moved', 'outcome'];
  const cells = rows.map((r) => [r.fault, r.checked, r.movedBytes?.toString() ?? '–', r.billedBytes?.toString() ?? '–', bytesRatio(r), r.outcome]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return ['What boxfleet survived:', line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Vitest global setup of the real set: starts an empty fault table and prints it after the run. */
export default function setup(): () => void {
  clearFaultTable();
  return () => {
    const table = formatFaultTable();
    if (table) console.log(`\n${table}\n`);
  };
}
