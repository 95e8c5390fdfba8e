// The hub as a Fastify app: composes the infrastructure plugins and the routes. Building it does
// not listen, so tests drive it with app.inject().
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ErrorObject } from 'ajv';
import { compileSchema, describeError } from '../agent-core/common/schema.js';
import type { AppLogger } from '../agent-core/common/logger.js';
import { nameCurrentSpan } from '../agent-core/common/tracing.js';
import { AGENT_VERSION } from '../agent-core/common/version.js';
import { MAX_JSON_DEPTH, textNestsDeeper } from '../agent-core/common/json-depth.js';
import { agentsPlugin } from './agents.js';
import { authPlugin } from './auth.js';
import { trustedProxies, type HubConfig } from './config.js';
import { databasePlugin } from './db/database.js';
import { isDatabaseUnavailable } from './db/unavailable.js';
import { HubError } from './errors.js';
import authRoutes from './routes/auth.js';
import nodeRoutes from './routes/nodes/index.js';
import { jobsPlugin } from './jobs/scheduler.js';
import { liveRecordsPlugin } from './live-records.js';
import { prometheusPlugin } from './prometheus.js';
import { redisPlugin } from './redis.js';
import { objectStorePlugin } from './object-store.js';
import { redactPlugin } from './redact.js';
import { DOCS_CSP, securityHeadersPlugin } from './security-headers.js';
import { sessionsPlugin } from './sessions.js';
import { renderOptionsOf } from './subscriptions/format.js';
import { httpsOptions } from './tls.js';
import configRoutes from './routes/configs.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The hub's clock in epoch ms; tests move it to check expiry. */
    now(): number;
  }
  interface FastifyRequest {
    /** Where links to this hub point: the public_url setting, else how this request reached the hub. */
    readonly publicUrl: string;
  }
}

/** The request body limit of every route that does not set its own `bodyLimit`. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface AppOptions {
  config: HubConfig;
  logger: AppLogger;
  clock?: () => number;
}

export async function buildApp({ config, logger, clock = Date.now }: AppOptions): Promise<FastifyInstance> {
  const proxies = trustedProxies(config);
  // Typed as the http server's instance whether or not it serves HTTPS: routes never see the difference.
  const app = (Fastify as (options: object) => FastifyInstance)({
    logger: false,
    // Small by default; the routes that take big documents (config versions, node commands) say so.
    bodyLimit: DEFAULT_BODY_LIMIT,
    // request.ip (rate limits, audit log) comes from X-Forwarded-For only when the peer is one of these.
    trustProxy: proxies.length > 0 ? proxies : false,
    https: await httpsOptions(config),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.decorate('now', clock);
  app.decorateRequest('publicUrl', {
    getter(this: FastifyRequest) {
      return config.public_url || `${this.protocol}://${this.host}`;
    },
  });

  // JSON bodies are measured for nesting before they are parsed: the validator, the audit record and
  // the agent call would otherwise recurse through them and overflow the stack.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (textNestsDeeper(body as string)) {
      done(new HubError('HUB_ERR_BAD_REQUEST', `body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    parseJson(request, body as string, done);
  });

  app.setValidatorCompiler(({ schema, httpPart }) => compileSchema(schema, { coerce: httpPart !== 'body' }));
  app.setErrorHandler((error: FastifyError | HubError, request, reply) => {
    if (error instanceof HubError) {
      return reply.code(error.statusCode).send({ statusCode: error.statusCode, code: error.code, message: error.message });
    }
    if ('validation' in error && error.validation) {
      const message = describeError(error.validation[0] as ErrorObject, error.validationContext ?? 'request');
      request.auditError = message;
      return reply.code(400).send({ statusCode: 400, code: 'HUB_ERR_BAD_REQUEST', message });
    }
    if (error.statusCode && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ statusCode: error.statusCode, code: 'HUB_ERR_BAD_REQUEST', message: error.message });
    }
    if (isDatabaseUnavailable(error)) {
      logger.warn('request failed: database unavailable', { method: request.method, url: request.routeOptions.url, error: error.message });
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ statusCode: 503, code: 'HUB_ERR_DATABASE_UNAVAILABLE', message: 'the database is unavailable; try again shortly' });
    }
    logger.error('request failed', { method: request.method, url: request.routeOptions.url, error: error.message, stack: error.stack });
    return reply.code(500).send({ statusCode: 500, code: 'HUB_ERR_INTERNAL', message: 'internal error; see the hub log' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ statusCode: 404, code: 'HUB_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  // Traces name a request by its route (`GET:/api/v1/users/:id`), not by its URL.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url) nameCurrentSpan(`${request.method}:${request.routeOptions.url}`);
  });
  app.addHook('onResponse', async (request, reply) => {
    logger.info('request', {
      method: request.method,
      route: request.routeOptions.url ?? request.url.split('?')[0],
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime),
      admin: request.admin?.username,
    });
  });

  await app.register(securityHeadersPlugin);
  await app.register(swagger, {
    openapi: {
      info: { title: 'boxfleet hub API', version: AGENT_VERSION },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });
  await app.register(databasePlugin, { config });
  await app.register(prometheusPlugin);
  await app.register(redisPlugin, { config, logger });
  await app.register(agentsPlugin);
  await app.register(sessionsPlugin);
  await app.register(authPlugin, { config, logger });
  await app.register(redactPlugin);

  app.get('/health', { config: { role: 'public' } }, async () => ({ status: 'ok' }));
  await app.register(import('./routes/info.js'), { prefix: '/api/v1/info' });
  await app.register(import('./routes/web.js'));
  await app.register(authRoutes, { prefix: '/api/v1/auth', attemptsPerMinute: config.login_attempts_per_minute, ttlSeconds: config.jwt_ttl_s });
  await app.register(import('./routes/admins.js'), { prefix: '/api/v1/admins' });
  await app.register(import('./routes/users.js'), { prefix: '/api/v1/users' });
  await app.register(import('./routes/users-bulk.js'), { prefix: '/api/v1/users', logger });
  await app.register(import('./routes/user-usage.js'), { prefix: '/api/v1/users', timeZone: config.reset_timezone });
  await app.register(import('./routes/plans.js'), { prefix: '/api/v1/plans' });
  await app.register(import('./routes/subscriptions.js'), { prefix: '/api/v1/subscriptions' });
  await app.register(import('./routes/usage.js'), { prefix: '/api/v1/usage' });
  await app.register(import('./routes/audit.js'), { prefix: '/api/v1/audit' });
  // The log level at run time (SIGUSR2 on the hub's process does it too: hub/server.ts).
  await app.register(import('./routes/log-level.js'), { prefix: '/api/v1/log-level', logger });

  // Config versions (object store + routes) and the scheduled jobs: traffic, quota, reconcile.
  // Everything under /api/v1/nodes is hub/routes/nodes/ (a node's config routes use the reconciler).
  await app.register(objectStorePlugin, { config });
  await app.register(jobsPlugin, { config, logger });
  await app.register(configRoutes, { prefix: '/api/v1/configs' });
  await app.register(nodeRoutes, { prefix: '/api/v1/nodes', config });
  // Firewall rule sets and each node's confirmed revision; the `firewall` job pushes them (hub/jobs/firewall.ts).
  await app.register(import('./routes/firewall.js'), { prefix: '/api/v1/firewall' });
  // Changes to job-written records (batches, rollouts) for GET /api/v1/ws watchers (hub/live-records.ts).
  await app.register(liveRecordsPlugin, { logger });
  // Batch commands: the `batches` job runs them (hub/batches/runner.ts).
  await app.register(import('./routes/batches.js'), { prefix: '/api/v1/batches' });
  // Cron schedules of batches; the `batch-schedules` job fires them (hub/batches/schedule-runner.ts).
  await app.register(import('./routes/batch-schedules.js'), { prefix: '/api/v1/batch-schedules' });
  // Staged config rollouts; the `rollouts` job runs them (hub/rollouts/runner.ts).
  await app.register(import('./routes/rollouts.js'), { prefix: '/api/v1/rollouts' });

  // The operator's shape of the sing-box and Clash profiles /sub serves (hub/subscriptions/templates.ts).
  await app.register(import('./routes/profile-templates.js'), { prefix: '/api/v1/profile-templates', config });

  // End-user subscriptions (public, token in the path): hub/routes/sub.ts.
  await app.register(import('./routes/sub.js'), {
    prefix: '/sub',
    cacheBytes: config.sub_cache_mb * 2 ** 20,
    render: renderOptionsOf(config),
    excludeUnhealthy: config.inbound_check_interval_s > 0,
    entryNameTemplate: config.sub_entry_name_template,
    timeZone: config.reset_timezone,
    logger,
  });

  // What a new machine fetches with an install command (created under /api/v1/nodes/install-tokens).
  await app.register(import('./routes/install.js'), { prefix: '/install', config });

  // Node metrics: samples over WebSocket and the hub's own Prometheus /metrics (the `metrics` job is hub/jobs/metrics.ts).
  await app.register(import('@fastify/websocket'), { options: { maxPayload: 64 * 1024 } });
  await app.register(import('./metrics.js'), { logger });
  await app.register(import('./routes/ws.js'), { prefix: '/api/v1' });
  await app.register(import('./routes/metrics.js'), { metricsToken: config.metrics_token });

  // Alerts: the `alerts` job (hub/jobs/alerts.ts) raises them, GET /api/v1/alerts lists them.
  await app.register(import('./routes/alerts.js'), { prefix: '/api/v1/alerts' });
  // User events: the quota job and the renew route record them (hub/user-events), the `user-events` job sends them.
  await app.register(import('./routes/user-events.js'), { prefix: '/api/v1/user-events' });

  // Live node figures: the `live` job gathers Clash API summaries and ledger positions (hub/jobs/live.ts)
  // for GET /api/v1/nodes/:id/live; GET /api/v1/overview is the fleet at a glance.
  await app.register(import('./jobs/live.js'), { logger, intervalMs: config.live_interval_s * 1000 });
  await app.register(import('./routes/overview.js'), { prefix: '/api/v1/overview' });
  return app;
}
