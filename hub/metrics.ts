// Node metrics on the hub, as one Fastify plugin (the `metrics` job itself is hub/jobs/metrics.ts):
// - `app.metricsWatches`: Watch streams to agents while a browser follows a node (hub/metrics-watches.ts).
// - the hub's own Prometheus figures (in app.prometheus; the jobs' own are the scheduler's): API
//   latency (a histogram over every request), traffic applied, nodes up, watch streams, and per
//   node: up, traffic and billed bytes, certificate expiry.
import { X509Certificate } from 'node:crypto';
import fp from 'fastify-plugin';
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AppLogger } from '../agent-core/common/logger.js';
import type { Scheduler } from './jobs/scheduler.js';
import { MetricsWatches } from './metrics-watches.js';

declare module 'fastify' {
  interface FastifyInstance {
    metricsWatches: MetricsWatches;
  }
}

/**
 * The hub's own figures read at scrape time: from the database, so they are the fleet's (every hub
 * replica) and survive restarts, or from what this hub's last traffic tick and watch streams left.
 */
function registerScrapeFigures(registry: Registry, db: Knex, jobs: Scheduler, watches: MetricsWatches): void {
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
  registerNodeFigures(registers, db);
  new Gauge({
    name: 'boxfleet_hub_watch_streams',
    help: 'Watch streams open to agents for live subscribers.',
    registers,
    collect() {
      this.set(watches.open().length);
    },
  });
}

interface NodeRow {
  id: string;
  enabled: number | boolean;
  health: string;
  up: number | string;
  down: number | string;
  billed: number | string;
  fingerprint: string | null;
}

/**
 * Per-node figures, labelled `node` as the agent's own series are, so dashboards and alerts join
 * them: the hub's view of each node (online or not), the bytes it applied and billed from each
 * ledger, and when the node's pinned certificate expires. One read of the nodes serves every
 * collector of a scrape; a certificate is parsed once per fingerprint, and read only then.
 */
function registerNodeFigures(registers: Registry[], db: Knex): void {
  let read: { at: number; rows: Promise<NodeRow[]> } | undefined;
  const nodes = () => {
    if (!read || Date.now() - read.at > 1000) {
      read = {
        at: Date.now(),
        rows: db('nodes').select('id', 'enabled', 'health', 'fingerprint', {
          up: 'upload_bytes_total',
          down: 'download_bytes_total',
          billed: 'billed_bytes_total',
        }),
      };
    }
    return read.rows;
  };
  /** notAfter (Unix seconds) by certificate fingerprint; certificates not seen before are read in one query. */
  const expiries = new Map<string, number>();
  const learnExpiries = async (rows: NodeRow[]) => {
    const unseen = rows.filter((n) => n.fingerprint && !expiries.has(n.fingerprint)).map((n) => n.id);
    if (unseen.length === 0) return;
    const certs: { fingerprint: string; certificate: string | null }[] = await db('nodes').whereIn('id', unseen).select('fingerprint', 'certificate');
    for (const { fingerprint, certificate } of certs) {
      if (certificate) expiries.set(fingerprint, Date.parse(new X509Certificate(certificate).validTo) / 1000);
    }
  };
  new Gauge({
    name: 'boxfleet_hub_node_up',
    help: 'Per enabled node: 1 when the hub last saw it online, else 0.',
    labelNames: ['node'],
    registers,
    async collect() {
      const rows = await nodes();
      this.reset();
      for (const n of rows) if (n.enabled) this.set({ node: n.id }, n.health === 'online' ? 1 : 0);
    },
  });
  new Counter({
    name: 'boxfleet_hub_node_traffic_bytes_total',
    help: "Raw bytes applied from each node's ledger, by direction.",
    labelNames: ['node', 'direction'],
    registers,
    async collect() {
      const rows = await nodes();
      this.reset();
      for (const n of rows) {
        this.inc({ node: n.id, direction: 'upload' }, Number(n.up));
        this.inc({ node: n.id, direction: 'download' }, Number(n.down));
      }
    },
  });
  new Counter({
    name: 'boxfleet_hub_node_billed_bytes_total',
    help: "Bytes billed from each node's ledger (raw bytes times the node's multiplier).",
    labelNames: ['node'],
    registers,
    async collect() {
      const rows = await nodes();
      this.reset();
      for (const n of rows) this.inc({ node: n.id }, Number(n.billed));
    },
  });
  new Gauge({
    name: 'boxfleet_hub_node_certificate_expiry_timestamp_seconds',
    help: "When the node's pinned TLS certificate expires (Unix time); nodes enrolled insecure have none.",
    labelNames: ['node'],
    registers,
    async collect() {
      const rows = await nodes();
      await learnExpiries(rows);
      this.reset();
      for (const n of rows) {
        const expiry = n.fingerprint ? expiries.get(n.fingerprint) : undefined;
        if (expiry !== undefined) this.set({ node: n.id }, expiry);
      }
    },
  });
}

export const metricsPlugin = fp<{ logger: AppLogger }>(
  async (app, { logger }) => {
    const watches = new MetricsWatches(app.db, app.agents, logger);
    app.decorate('metricsWatches', watches);
    app.addHook('onClose', async () => watches.close());

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
    registerScrapeFigures(app.prometheus, app.db, app.jobs, watches);
  },
  { name: 'metrics', dependencies: ['database', 'agents', 'jobs', 'prometheus'] },
);

export default metricsPlugin;
