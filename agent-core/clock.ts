// The node's wall clock as plugins read it (ledger entry times). In production it is Date.now().
// A fault test cannot move the machine's clock, so BOXFLEET_AGENT_CLOCK_OFFSET_FILE may name a
// file holding milliseconds to add (re-read when the file changes): a test jumps a running
// agent's clock forward or back by writing it. Only the process environment sets it, never
// agent.yaml; README "What boxfleet survives" documents it as a test seam.
import { readFileSync, statSync } from 'node:fs';

const OFFSET_FILE = process.env.BOXFLEET_AGENT_CLOCK_OFFSET_FILE;
let offset = { mtimeMs: -1, ms: 0 };

function currentOffset(file: string): number {
  try {
    const { mtimeMs } = statSync(file);
    if (mtimeMs !== offset.mtimeMs) offset = { mtimeMs, ms: Number(readFileSync(file, 'utf8').trim()) || 0 };
  } catch {
    offset = { mtimeMs: -1, ms: 0 };
  }
  return offset.ms;
}

/** Milliseconds since the epoch on the node's clock. */
export const wallClock: () => number = OFFSET_FILE ? () => Date.now() + currentOffset(OFFSET_FILE) : () => Date.now();
