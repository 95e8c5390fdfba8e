// Small helpers the jobs share: chunking, bounded concurrency, retrying a transaction the
// database refused for a moment, recording what a job learned about a node's health (and since when), and how a push to a node went.
import type { Knex } from 'knex';
import { HubError, type HubErrorCode } from '../errors.js';

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** fn over every item, at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A deadlock, a lock wait timeout or a busy SQLite file: the same transaction may pass if retried. */
export function isTransient(error: unknown): boolean {
  const e = error as { errno?: number; code?: string } | null;
  return e?.errno === 1213 || e?.errno === 1205 || /^SQLITE_(BUSY|LOCKED)/.test(e?.code ?? '');
}

export async function withRetry<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isTransient(error) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt * (0.5 + Math.random())));
    }
  }
}

const UNREACHABLE = new Set(['HUB_ERR_AGENT_UNREACHABLE', 'HUB_ERR_AGENT_TIMEOUT', 'HUB_ERR_AGENT_UNTRUSTED']);

/** The agent did not answer (as opposed to answering with an error). */
export const isUnreachable = (error: unknown) => error instanceof HubError && UNREACHABLE.has(error.code);

/** How a push to one node went, as a job's result lists it. */
export interface PartResult {
  /** applied: the node took it; failed: it did not; waiting: backing off after earlier failures. */
  status: 'applied' | 'failed' | 'waiting';
  error?: string;
  code?: HubErrorCode;
  /** The node did not answer (offline), as opposed to answering with an error. */
  unreachable?: boolean;
  retry_at?: string;
}

export function failure(error: unknown): PartResult {
  return {
    status: 'failed',
    error: (error as Error).message,
    code: error instanceof HubError ? error.code : 'HUB_ERR_INTERNAL',
    unreachable: isUnreachable(error),
  };
}

/**
 * Stores `<prefix>: <message>` as the node's last_error (the prefix starts with the job's name); an unreachable node is marked offline, one
 * that answered with an error is online (`fromNode: false` for a failure before the node was
 * asked, which says nothing about its health). Never throws: the job goes on with the other nodes.
 */
export async function recordNodeError(db: Knex, nodeId: string, prefix: string, error: unknown, now: number, fromNode = true): Promise<void> {
  const message = `${prefix}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 1000);
  const patch = !fromNode
    ? { last_error: message }
    : isUnreachable(error)
      ? { health: 'offline', health_since: healthSince(db, 'offline', now), last_error: message }
      : { health: 'online', health_since: healthSince(db, 'online', now), last_seen_at: now, last_error: message };
  await db('nodes').where({ id: nodeId }).update(patch).catch(() => undefined);
}

/** health_since for an update that sets health to `health`: kept while it stays, `now` when it changes. */
export const healthSince = (db: Knex, health: 'online' | 'offline', now: number) =>
  db.raw('CASE WHEN health = ? AND health_since IS NOT NULL THEN health_since ELSE ? END', [health, now]);

/** The nodes answered: online, seen now, and an error this job (`<job>: …`) recorded earlier is cleared. */
export async function recordNodeSeen(db: Knex, nodeIds: string | readonly string[], job: string, now: number): Promise<void> {
  const ids = typeof nodeIds === 'string' ? [nodeIds] : nodeIds;
  if (ids.length === 0) return;
  await db('nodes')
    .whereIn('id', ids)
    .update({
      health: 'online',
      health_since: healthSince(db, 'online', now),
      last_seen_at: now,
      last_error: db.raw('CASE WHEN last_error LIKE ? THEN NULL ELSE last_error END', [`${job}:%`]),
    })
    .catch(() => undefined);
}
