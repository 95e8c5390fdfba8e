// Node metrics on the hub (issue 6), as one Fastify plugin:
// - `app.live`: Watch streams to agents, one per node and only while a browser is subscribed to it
//   (reference-counted; closed when the last subscriber leaves). Samples that arrive are stored.
// - the `metrics` job: pulls each node's sysmetrics.history since its last stored sample (so the
//   stored series has no gaps when nobody watches), averages raw samples older than 24 h into
//   hourly rows and deletes rows older than the retention.
// - the hub's own Prometheus figures (in app.prometheus; the jobs' own are the scheduler's): API
//   latency (a histogram over every request), traffic applied, nodes up, watch streams.
import fp from 'fastify-plugin';
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AppLogger } from '../agent-core/common/logger.js';
import type { HistoryOutput, Sample } from '../plugins/sysmetrics/contract.js';
import type { AgentPool } from './agents.js';
import { Node } from './db/models.js';
import { chunks, mapLimit } from './jobs/common.js';
import type { Scheduler } from './jobs/scheduler.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const SAMPLE_EVENT = 'sysmetrics.sample';
const RETRY_MS = 5000;

/** A sysmetrics sample and the node it came from. */
export type NodeSample = Sample & { node: string };

export type SampleListener = (sample: NodeSample) => void;
/** Told when the node's stream failed (it is retried while subscribers remain). */
export type ErrorListener = (node: string, message: string) => void;

/** Stores samples; a sample stored before (Watch and history overlap) is ignored. */
export async function storeSamples(db: Knex, samples: readonly NodeSample[]): Promise<void> {
  const rows = samples
    .map((s) => ({ node_id: s.node, time: Date.parse(s.time), kind: s.kind, resolution: 'raw', values: JSON.stringify(s.values) }))
    .filter((r) => Number.isFinite(r.time));
  for (const chunk of chunks(rows, 100)) {
    await db('node_metrics').insert(chunk).onConflict(['node_id', 'resolution', 'kind', 'time']).ignore();
  }
}

interface Watched {
  listeners: Set<{ sample: SampleListener; error: ErrorListener }>;
  stop?: () => void;
  retry?: NodeJS.Timeout;
}

export class LiveWatches {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly db: Knex,
    private readonly agents: AgentPool,
    private readonly logger: AppLogger,
  ) {}

  /** Nodes with an open Watch stream. */
  open(): string[] {
    return [...this.watched].filter(([, w]) => w.stop).map(([id]) => id);
  }

  subscribe(node: Node, sample: SampleListener, error: ErrorListener): () => void {
    let watched = this.watched.get(node.id);
    if (!watched) {
      watched = { listeners: new Set() };
      this.watched.set(node.id, watched);
      this.start(node.id, watched);
    }
    const listener = { sample, error };
    watched.listeners.add(listener);
    return () => {
      watched.listeners.delete(listener);
      if (watched.listeners.size > 0 || this.watched.get(node.id) !== watched) return;
      this.watched.delete(node.id);
      this.end(node.id, watched);
    };
  }

  private end(nodeId: string, watched: Watched): void {
    clearTimeout(watched.retry);
    watched.stop?.();
    watched.stop = undefined;
    this.logger.info('watch stream closed', { node_id: nodeId });
  }

  private start(nodeId: string, watched: Watched): void {
    void (async () => {
      // Read afresh: the node may have changed address or token since the last attempt.
      const node = await Node.query(this.db).findById(nodeId);
      if (this.watched.get(nodeId) !== watched) return;
      if (!node) return this.fail(nodeId, watched, `no node ${nodeId}`, false);
      let stop: (() => void) | undefined;
      stop = this.agents.client(node).watch(
        [SAMPLE_EVENT],
        (event) => {
          if (event.name !== SAMPLE_EVENT) return;
          const payload = event.payload as Sample;
          const sample = { node: nodeId, kind: payload.kind, time: payload.time, values: payload.values };
          storeSamples(this.db, [sample]).catch((error: Error) => this.logger.warn('metrics sample not stored', { node_id: nodeId, error: error.message }));
          for (const l of watched.listeners) l.sample(sample);
        },
        (error) => {
          if (watched.stop !== stop) return;
          watched.stop = undefined;
          if (this.watched.get(nodeId) === watched) this.fail(nodeId, watched, error?.message ?? 'the agent ended the stream', true);
        },
      );
      watched.stop = stop;
      this.logger.info('watch stream opened', { node_id: nodeId });
    })().catch((error: Error) => this.fail(nodeId, watched, error.message, true));
  }

  private fail(nodeId: string, watched: Watched, message: string, retry: boolean): void {
    this.logger.warn('watch stream failed', { node_id: nodeId, error: message, retry_ms: retry ? RETRY_MS : undefined });
    for (const l of watched.listeners) l.error(nodeId, message);
    if (!retry) return;
    watched.retry = setTimeout(() => {
      if (this.watched.get(nodeId) === watched) this.start(nodeId, watched);
    }, RETRY_MS);
    watched.retry.unref();
  }

  close(): void {
    for (const [id, watched] of this.watched) this.end(id, watched);
    this.watched.clear();
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

/** One tick: pull every enabled node's recent samples, downsample, apply the retention. */
export async function runMetricsJob(deps: MetricsJobDeps) {
  const nodes = await Node.query(deps.db).where('enabled', true).orderBy('id');
  const pulled = await mapLimit(nodes, 8, async (node) => {
    const last = await deps.db('node_metrics').where({ node_id: node.id, resolution: 'raw' }).max({ time: 'time' }).first();
    const from = new Date(last?.time ? Number(last.time) + 1 : deps.now() - DAY_MS).toISOString();
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

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveWatches;
  }
}

/**
 * The hub's own figures read at scrape time: from the database, so they are the fleet's (every hub
 * replica) and survive restarts, or from what this hub's last traffic tick and live streams left.
 */
function registerScrapeFigures(registry: Registry, db: Knex, jobs: Scheduler, live: LiveWatches): void {
  const registers = [registry];
  const lastTraffic = () => jobs.stats().traffic?.last_result as { entries?: number; failed?: number } | null | undefined;
  new Gauge({
    name: 'boxfleet_hub_traffic_last_entries',
    help: 'Ledger entries applied by the last traffic tick.',
    registers,
    collect() {
      this.set(lastTraffic()?.entries ?? 0);
    },
  });
  new Gauge({
    name: 'boxfleet_hub_traffic_last_failed_nodes',
    help: 'Nodes the last traffic tick could not drain.',
    registers,
    collect() {
      this.set(lastTraffic()?.failed ?? 0);
    },
  });
  // Each node's running totals, kept by the traffic job with the usage it applies. A counter's
  // value cannot be set, only raised: reset and raise to the total, with no await in between.
  const nodeTotals = () =>
    db('nodes').sum({ up: 'upload_bytes_total', down: 'download_bytes_total', billed: 'billed_bytes_total' }).first();
  new Counter({
    name: 'boxfleet_hub_traffic_bytes_applied_total',
    help: 'Upload + download bytes applied from every node ledger.',
    registers,
    async collect() {
      const totals = await nodeTotals();
      this.reset();
      this.inc(Number(totals?.up ?? 0) + Number(totals?.down ?? 0));
    },
  });
  new Counter({
    name: 'boxfleet_hub_traffic_billed_bytes_total',
    help: 'Bytes billed to subscriptions (after node multipliers).',
    registers,
    async collect() {
      const totals = await nodeTotals();
      this.reset();
      this.inc(Number(totals?.billed ?? 0));
    },
  });

  /** Reads the nodes once; the answer counts the enabled nodes in a given health. */
  const enabledByHealth = async () => {
    const rows: { health: string; enabled: number | boolean; n: number | string }[] = await db('nodes')
      .select('health', 'enabled')
      .count({ n: '*' })
      .groupBy('health', 'enabled');
    return (health: string) => rows.filter((r) => Boolean(r.enabled) && r.health === health).reduce((n, r) => n + Number(r.n), 0);
  };
  new Gauge({
    name: 'boxfleet_hub_nodes',
    help: 'Enabled nodes by health as the hub last saw it.',
    labelNames: ['health'],
    registers,
    async collect() {
      const count = await enabledByHealth();
      for (const health of ['online', 'offline', 'unknown']) this.set({ health }, count(health));
    },
  });
  new Gauge({
    name: 'boxfleet_hub_nodes_up',
    help: 'Enabled nodes online.',
    registers,
    async collect() {
      this.set((await enabledByHealth())('online'));
    },
  });
  new Gauge({
    name: 'boxfleet_hub_watch_streams',
    help: 'Watch streams open to agents for live subscribers.',
    registers,
    collect() {
      this.set(live.open().length);
    },
  });
}

export interface MetricsPluginOptions {
  logger: AppLogger;
  /** How long hourly averages are kept. */
  retentionDays: number;
  /** How often the metrics job pulls, downsamples and expires. */
  jobIntervalMs: number;
}

export const metricsPlugin = fp<MetricsPluginOptions>(
  async (app, { logger, retentionDays, jobIntervalMs }) => {
    const live = new LiveWatches(app.db, app.agents, logger);
    app.decorate('live', live);
    app.addHook('onClose', async () => live.close());

    // prom-client's default buckets are Prometheus' own (5 ms to 10 s).
    const latency = new Histogram({
      name: 'boxfleet_hub_http_request_duration_seconds',
      help: 'Hub API request durations by route, method and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [app.prometheus],
    });
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, not the URL: ids would make one series per node or user.
      const route = request.routeOptions.url;
      if (!route || route === '/metrics') return;
      latency.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
    registerScrapeFigures(app.prometheus, app.db, app.jobs, live);

    app.jobs.add({
      name: 'metrics',
      intervalMs: jobIntervalMs,
      tick: () => runMetricsJob({ db: app.db, agents: app.agents, now: () => app.now(), logger, retentionDays }),
    });
  },
  { name: 'metrics', dependencies: ['database', 'agents', 'jobs', 'prometheus'] },
);

export default metricsPlugin;
