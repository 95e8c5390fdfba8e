// What each node's health-probe last reported, kept in node_probes by the `probes` job (the node
// page reads it from here, never from the agent), and the unlock marks that subscription entry
// names can show ("HK-1 | NF GPT"), kept on the node row.
import type { Knex } from 'knex';
import type { Inventory, ProbeHistory, ResultsOutput, UnlockReport } from '../plugins/health-probe/contract.js';
import { iso } from './db/models.js';

/** The marks of the services a report found available, in its order, e.g. "NF YT GPT"; null when none. */
export function unlockMarks(report: UnlockReport | null): string | null {
  const marks = (report?.results ?? []).filter((r) => r.result === 'available').map((r) => r.mark);
  return marks.length > 0 ? marks.join(' ').slice(0, 255) : null;
}

const upsert = async (db: Knex, nodeId: string, row: Record<string, unknown>, at: number) => {
  const values = { ...row, checked_at: at };
  await db('node_probes').insert({ node_id: nodeId, ...values }).onConflict('node_id').merge(values);
};

/** Stores a `results` answer, and the unlock marks when they changed (which is what makes /sub render again). */
export async function storeResults(db: Knex, nodeId: string, results: ResultsOutput, at: number): Promise<void> {
  await upsert(db, nodeId, { probes: JSON.stringify(results.probes), unlock: results.unlock && JSON.stringify(results.unlock), probes_at: at, error: null }, at);
  const marks = unlockMarks(results.unlock);
  // Unchanged marks are not written: the row's columns are what /sub's revision compares.
  await db('nodes')
    .where({ id: nodeId })
    .andWhere((q) => (marks === null ? q.whereNotNull('unlock_marks') : q.whereNull('unlock_marks').orWhereNot('unlock_marks', marks)))
    .update({ unlock_marks: marks });
}

export async function storeInventory(db: Knex, nodeId: string, inventory: Inventory, at: number): Promise<void> {
  await upsert(db, nodeId, { inventory: JSON.stringify(inventory), inventory_at: at, error: null }, at);
}

/** The node did not answer, or runs no health-probe: what it reported before stays. */
export async function storeProbeFailure(db: Knex, nodeId: string, error: unknown, at: number): Promise<void> {
  await upsert(db, nodeId, { error: (error as Error).message.slice(0, 1000) }, at);
}

export interface NodeProbes {
  probes: ProbeHistory[];
  unlock: UnlockReport | null;
  unlock_marks: string | null;
  inventory: Inventory | null;
  probes_at: string | null;
  inventory_at: string | null;
  error: string | null;
  checked_at: string | null;
}

const parsed = <T>(text: unknown): T | null => (typeof text === 'string' ? (JSON.parse(text) as T) : null);

/** A node's stored reports as the API shows them; empty until the job first reached the node. */
export async function readProbes(db: Knex, nodeId: string): Promise<NodeProbes> {
  const [row, node] = await Promise.all([db('node_probes').where({ node_id: nodeId }).first(), db('nodes').where({ id: nodeId }).first('unlock_marks')]);
  return {
    probes: parsed<ProbeHistory[]>(row?.probes) ?? [],
    unlock: parsed<UnlockReport>(row?.unlock),
    unlock_marks: node?.unlock_marks ?? null,
    inventory: parsed<Inventory>(row?.inventory),
    probes_at: iso(row?.probes_at),
    inventory_at: iso(row?.inventory_at),
    error: row?.error ?? null,
    checked_at: iso(row?.checked_at),
  };
}

/** When a node's inventory is read again: it changes with a reinstall or an upgrade, not by the minute. */
export const INVENTORY_MAX_AGE_MS = 24 * 3_600_000;

/** The nodes whose inventory is missing or older than INVENTORY_MAX_AGE_MS at `now`. */
export async function inventoryDue(db: Knex, nodeIds: readonly string[], now: number): Promise<Set<string>> {
  const fresh = await db('node_probes').whereIn('node_id', nodeIds).where('inventory_at', '>', now - INVENTORY_MAX_AGE_MS).pluck('node_id');
  const skip = new Set<string>(fresh);
  return new Set(nodeIds.filter((id) => !skip.has(id)));
}
