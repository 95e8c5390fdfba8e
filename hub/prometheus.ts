// The hub's Prometheus registry as one Fastify plugin, `app.prometheus`. prom-client writes the
// exposition format; each module registers its own figures here and GET /metrics serves them. A
// registry per app, not prom-client's global one: several apps in one process (the tests) would
// otherwise collide on metric names. No default Node process metrics: the figures are the hub's.
import fp from 'fastify-plugin';
import { Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    prometheus: Registry;
  }
}

export const prometheusPlugin = fp(
  async (app) => {
    app.decorate('prometheus', new Registry());
  },
  { name: 'prometheus' },
);

export default prometheusPlugin;
