// GET /metrics: the hub's own figures for Prometheus (app.prometheus, written by prom-client; public
// by default, like any exporter: nothing secret, only counts and durations; the metrics_token
// setting puts it behind a bearer token). A node's stored samples are routes/nodes/metrics.ts.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { HubError } from '../errors.js';

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time (as digests, so lengths may differ). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(given), digest(token));
}

const routes: FastifyPluginAsync<{ metricsToken: string }> = async (app, { metricsToken }) => {
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
