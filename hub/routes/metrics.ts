// GET /api/v1/nodes/:id/metrics (stored samples of a node) and GET /metrics (the hub's own figures
// for Prometheus; public by default, like any exporter: nothing secret, only counts and durations;
// the metrics_token setting puts it behind a bearer token).
import { createHash, timingSafeEqual } from 'node:crypto';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Node, NodeMetric } from '../db/models.js';
import { HubError } from '../errors.js';

const DAY_MS = 24 * 3_600_000;
const MAX_ROWS = 20_000;

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const line = (name: string, labels: Record<string, string>, value: number) => {
  const text = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
  return `${name}${text ? `{${text}}` : ''} ${value}\n`;
};
const head = (name: string, type: string, help: string) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time (as digests, so lengths may differ). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(given), digest(token));
}

const routes: FastifyPluginAsyncTypebox<{ metricsToken: string }> = async (app, { metricsToken }) => {
  app.get(
    '/api/v1/nodes/:id/metrics',
    {
      config: { role: 'viewer' },
      schema: {
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 63 }) }),
        querystring: Type.Object({
          from: Type.Optional(Type.String({ format: 'date-time', maxLength: 64, description: 'Default: 24 h before `to`.' })),
          to: Type.Optional(Type.String({ format: 'date-time', maxLength: 64, description: 'Default: now.' })),
          kind: Type.Optional(Type.Union([Type.Literal('cpu-memory'), Type.Literal('disk-network')])),
        }),
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await Node.query().findById(id))) throw new HubError('HUB_ERR_NOT_FOUND', `no node ${id}`);
      const to = request.query.to ? Date.parse(request.query.to) : app.now();
      const from = request.query.from ? Date.parse(request.query.from) : to - DAY_MS;
      if (from > to) throw new HubError('HUB_ERR_BAD_REQUEST', 'querystring.from: must not be after to');
      const query = NodeMetric.query().where({ node_id: id }).whereBetween('time', [from, to]);
      if (request.query.kind) query.where({ kind: request.query.kind });
      const rows = await query.orderBy('time').limit(MAX_ROWS + 1);
      return {
        node: id,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        truncated: rows.length > MAX_ROWS,
        samples: rows.slice(0, MAX_ROWS).map((r) => r.toPublic()),
      };
    },
  );

  // Public (role) so Prometheus needs no admin account; metrics_token, when set, is its own credential.
  app.get('/metrics', { config: { role: 'public' }, schema: { hide: true } }, async (request, reply) => {
    if (metricsToken && !bearerMatches(request.headers.authorization, metricsToken)) {
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new HubError('HUB_ERR_UNAUTHORIZED', '/metrics needs Authorization: Bearer <metrics_token>');
    }
    let out = app.apiLatency.format('boxfleet_hub_http_request_duration_seconds', 'Hub API request durations by route, method and status.');

    const jobs = Object.entries(app.jobs.stats());
    const each = (name: string, type: string, help: string, value: (s: (typeof jobs)[number][1]) => number) =>
      head(name, type, help) + jobs.map(([job, s]) => line(name, { name: job }, value(s))).join('');
    out += each('boxfleet_hub_job_runs_total', 'counter', 'Job ticks this hub ran to the end.', (s) => s.runs);
    out += each('boxfleet_hub_job_failures_total', 'counter', 'Job ticks that failed.', (s) => s.failures);
    out += each('boxfleet_hub_job_skipped_total', 'counter', 'Job ticks left to another hub holding the lease.', (s) => s.skipped);
    out += each('boxfleet_hub_job_duration_seconds_total', 'counter', 'Time spent in job ticks.', (s) => s.total_duration_ms / 1000);
    out += each('boxfleet_hub_job_last_duration_seconds', 'gauge', 'Duration of the last tick.', (s) => (s.last_duration_ms ?? 0) / 1000);
    out += each('boxfleet_hub_job_running', 'gauge', '1 while a tick runs.', (s) => Number(s.running));

    const traffic = app.jobs.stats().traffic?.last_result as { entries?: number; billed_bytes?: number; failed?: number } | null | undefined;
    out += head('boxfleet_hub_traffic_last_entries', 'gauge', 'Ledger entries applied by the last traffic tick.') +
      line('boxfleet_hub_traffic_last_entries', {}, traffic?.entries ?? 0);
    out += head('boxfleet_hub_traffic_last_failed_nodes', 'gauge', 'Nodes the last traffic tick could not drain.') +
      line('boxfleet_hub_traffic_last_failed_nodes', {}, traffic?.failed ?? 0);
    // From the database, so the figure is the fleet's (every hub replica) and survives restarts:
    // each node's running totals, kept by the traffic job with the usage it applies.
    const usage = await app.db('nodes')
      .sum({ up: 'upload_bytes_total', down: 'download_bytes_total', billed: 'billed_bytes_total' })
      .first();
    out += head('boxfleet_hub_traffic_bytes_applied_total', 'counter', 'Upload + download bytes applied from every node ledger.') +
      line('boxfleet_hub_traffic_bytes_applied_total', {}, Number(usage?.up ?? 0) + Number(usage?.down ?? 0));
    out += head('boxfleet_hub_traffic_billed_bytes_total', 'counter', 'Bytes billed to subscriptions (after node multipliers).') +
      line('boxfleet_hub_traffic_billed_bytes_total', {}, Number(usage?.billed ?? 0));

    const health: { health: string; enabled: number | boolean; n: number | string }[] = await app.db('nodes')
      .select('health', 'enabled')
      .count({ n: '*' })
      .groupBy('health', 'enabled');
    const enabled = health.filter((h) => Boolean(h.enabled));
    out += head('boxfleet_hub_nodes', 'gauge', 'Enabled nodes by health as the hub last saw it.');
    for (const state of ['online', 'offline', 'unknown']) {
      out += line('boxfleet_hub_nodes', { health: state }, enabled.filter((h) => h.health === state).reduce((n, h) => n + Number(h.n), 0));
    }
    out += head('boxfleet_hub_nodes_up', 'gauge', 'Enabled nodes online.') +
      line('boxfleet_hub_nodes_up', {}, enabled.filter((h) => h.health === 'online').reduce((n, h) => n + Number(h.n), 0));
    out += head('boxfleet_hub_watch_streams', 'gauge', 'Watch streams open to agents for live subscribers.') +
      line('boxfleet_hub_watch_streams', {}, app.live.open().length);
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(out);
  });
};

export default routes;
