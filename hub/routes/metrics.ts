// GET /api/v1/nodes/:id/metrics (stored samples of a node) and GET /metrics (the hub's own figures
// for Prometheus: app.prometheus, written by prom-client; public by default, like any exporter:
// nothing secret, only counts and durations; the metrics_token setting puts it behind a bearer token).
import { createHash, timingSafeEqual } from 'node:crypto';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SampleKind } from '../../plugins/sysmetrics/contract.js';
import { Node, NodeMetric } from '../db/models.js';
import { HubError } from '../errors.js';

const DAY_MS = 24 * 3_600_000;
const MAX_ROWS = 20_000;

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
          kind: Type.Optional(SampleKind),
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
    return reply.type(app.prometheus.contentType).send(await app.prometheus.metrics());
  });
};

export default routes;
