// The `metrics` job: pulls each enabled node's sysmetrics.history since its last stored sample (so
// the stored series has no gaps when nobody watches), averages raw samples older than 24 h into
// hourly rows and deletes rows older than the retention. Samples a browser watches arrive through
// hub/metrics-watches.ts and are stored here too.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import { SampleKind, type HistoryOutput, type Sample } from '../../plugins/sysmetrics/contract.js';
import type { AgentPool } from '../agents.js';
import { Node } from '../db/models.js';
import { chunks, mapLimit } from './common.js';

const HOUR_MS = 3_600_000;
const KINDS = SampleKind.anyOf.map((k) => k.const);
const DAY_MS = 24 * HOUR_MS;

/** A sysmetrics sample and the node it came from. */
export type NodeSample = Sample & { node: string };

/** Stores samples; a sample stored before (Watch and history overlap) is ignored. */
export async function storeSamples(db: Knex, samples: readonly NodeSample[]): Promise<void> {
  const rows = samples
    .map((s) => ({ node_id: s.node, time: Date.parse(s.time), kind: s.kind, resolution: 'raw', values: JSON.stringify(s.values) }))
    .filter((r) => Number.isFinite(r.time));
  for (const chunk of chunks(rows, 100)) {
    await db('node_metrics').insert(chunk).onConflict(['node_id', 'resolution', 'kind', 'time']).ignore();
  }
}

export interface MetricsJobDeps {
  db: Knex;
  agents: AgentPool;
  now(): number;
  logger: AppLogger;
  retentionDays: number;
}

/** Averages raw samples older than 24 h into one row per node, kind and hour, then deletes them. */
export async function downsample(db: Knex, now: number): Promise<number> {
  const cutoff = Math.floor((now - DAY_MS) / HOUR_MS) * HOUR_MS;
  const rows: { node_id: string; time: number | string; kind: string; values: string }[] = await db('node_metrics')
    .where({ resolution: 'raw' })
    .andWhere('time', '<', cutoff)
    .select('node_id', 'time', 'kind', 'values');
  if (rows.length === 0) return 0;
  const groups = new Map<string, { node_id: string; kind: string; time: number; sums: Record<string, [number, number]> }>();
  for (const row of rows) {
    const hour = Math.floor(Number(row.time) / HOUR_MS) * HOUR_MS;
    const key = `${row.node_id}\u0000${row.kind}\u0000${hour}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { node_id: row.node_id, kind: row.kind, time: hour, sums: {} }));
    for (const [field, value] of Object.entries(JSON.parse(row.values) as Record<string, number | null>)) {
      const sum = (group.sums[field] ??= [0, 0]);
      if (typeof value === 'number') (sum[0] += value), (sum[1] += 1);
    }
  }
  const hourly = [...groups.values()].map((g) => ({
    node_id: g.node_id,
    kind: g.kind,
    time: g.time,
    resolution: 'hour',
    values: JSON.stringify(Object.fromEntries(Object.entries(g.sums).map(([f, [sum, n]]) => [f, n ? Math.round((sum / n) * 100) / 100 : null]))),
  }));
  await db.transaction(async (trx) => {
    for (const chunk of chunks(hourly, 100)) {
      await trx('node_metrics').insert(chunk).onConflict(['node_id', 'resolution', 'kind', 'time']).ignore();
    }
    await trx('node_metrics').where({ resolution: 'raw' }).andWhere('time', '<', cutoff).delete();
  });
  return rows.length;
}

/**
 * The time of the node's newest raw sample, null when it has none. One MAX per kind: each is a
 * lookup at the end of the primary key (node, resolution, kind, time), where a MAX over all kinds
 * would read every sample of the node's last day.
 */
async function lastSampleTime(db: Knex, nodeId: string): Promise<number | null> {
  const newest = (kind: string) => db('node_metrics').where({ node_id: nodeId, resolution: 'raw', kind }).max('time');
  const row: Record<string, number | string | null> = await db.first(Object.fromEntries(KINDS.map((kind, i) => [`k${i}`, newest(kind)])));
  const times = Object.values(row).filter((t) => t !== null).map(Number);
  return times.length > 0 ? Math.max(...times) : null;
}

/** One tick: pull every enabled node's recent samples, downsample, apply the retention. */
export async function runMetricsJob(deps: MetricsJobDeps) {
  const nodes = await Node.query(deps.db).where('enabled', true).orderBy('id');
  const pulled = await mapLimit(nodes, 8, async (node) => {
    const last = await lastSampleTime(deps.db, node.id);
    const from = new Date(last !== null ? last + 1 : deps.now() - DAY_MS).toISOString();
    try {
      const { result } = await deps.agents.execute(node, 'sysmetrics.history', { from });
      const samples = (result as HistoryOutput).samples.map((s) => ({ ...s, node: node.id }));
      await storeSamples(deps.db, samples);
      return samples.length;
    } catch (error) {
      deps.logger.debug('metrics not pulled', { node_id: node.id, error: (error as Error).message });
      return 0;
    }
  });
  const downsampled = await downsample(deps.db, deps.now());
  const expired = await deps.db('node_metrics').where('time', '<', deps.now() - deps.retentionDays * DAY_MS).delete();
  return { nodes: nodes.length, samples: pulled.reduce((a, b) => a + b, 0), downsampled, expired };
}
