// Who is calling and may they: JWT bearer tokens for admins, a required role declared by every
// route (checked at registration), and the audit log of everything that changes something.
import { randomBytes } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Knex } from 'knex';
import { traceId } from '../agent-core/tracing.js';
import type { HubConfig } from './config.js';
import { Admin, AuditEntry, ROLES, type Role } from './db/models.js';
import { HubError } from './errors.js';
import { redact } from './redact.js';
import { SESSION_ENDED_MESSAGE } from './sessions.js';

export type RouteRole = Role | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role that may call the route; `public` needs no token. Every route must say. */
    role?: RouteRole;
    /** Audit action name; mutating methods are audited by default, `false` turns it off. */
    audit?: string | false;
  }
  interface FastifyRequest {
    admin?: Admin;
    /** Set by a route for the audit record when the target is not in the URL. */
    auditTarget?: string;
    /** Set by a route whose audit action depends on the outcome (an install command refused). */
    auditAction?: string;
    /** Why the request failed; set with a 2xx answer, it still records a failure. */
    auditError?: string;
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    /** ver: the admin's token_version when it signed in; the session ends when that changes. */
    payload: { sub: number; username: string; role: Role; ver: number };
  }
}

export const rank = (role: Role) => ROLES.indexOf(role);

/** Every hub replica signs with the same secret: from the config, else generated once into the DB. */
async function signingSecret(db: Knex, configured: string): Promise<string> {
  if (configured) return configured;
  const existing = await db('settings').where({ key: 'jwt_secret' }).first();
  if (existing) return existing.value as string;
  const secret = randomBytes(48).toString('base64url');
  // Two replicas starting at once: the second insert loses and both read the winner.
  await db('settings').insert({ key: 'jwt_secret', value: secret }).catch(() => undefined);
  return (await db('settings').where({ key: 'jwt_secret' }).first()).value as string;
}

export const authPlugin = fp<{ config: HubConfig }>(
  async (app, { config }) => {
    await app.register(fastifyJwt, {
      secret: await signingSecret(app.db, config.jwt_secret),
      sign: { expiresIn: config.jwt_ttl_s },
    });

    app.addHook('onRoute', (route) => {
      if (route.url.startsWith('/docs')) return;
      if (!route.config?.role) throw new Error(`route ${String(route.method)} ${route.url} declares no role`);
    });

    app.addHook('onRequest', async (request) => {
      const role = request.routeOptions.config?.role;
      if (!role || role === 'public') return;
      let payload: { sub: number; ver: number };
      try {
        payload = await request.jwtVerify();
      } catch (error) {
        throw new HubError('HUB_ERR_UNAUTHORIZED', `sign in first: ${(error as Error).message} (Authorization: Bearer <token from /api/v1/auth/login>)`);
      }
      const admin = await Admin.query().findById(payload.sub);
      if (!admin || admin.disabled) throw new HubError('HUB_ERR_UNAUTHORIZED', 'this account is disabled or was removed');
      if (payload.ver !== admin.token_version) throw new HubError('HUB_ERR_UNAUTHORIZED', SESSION_ENDED_MESSAGE);
      request.admin = admin;
      if (rank(admin.role) < rank(role)) {
        throw new HubError('HUB_ERR_FORBIDDEN', `this needs the ${role} role; ${admin.username} is ${admin.role}`);
      }
    });

    app.addHook('onError', async (request, _reply, error) => {
      request.auditError = error.message;
    });

    app.addHook('onResponse', async (request, reply) => {
      const { audit } = request.routeOptions.config ?? {};
      const mutating = !['GET', 'HEAD', 'OPTIONS'].includes(request.method);
      if (audit === false || (!audit && !mutating) || !request.routeOptions.url) return;
      const params = request.params as Record<string, string>;
      const failed = reply.statusCode >= 400 || request.auditError !== undefined;
      const entry = {
        time: Date.now(),
        admin_id: request.admin?.id ?? null,
        admin: request.admin?.username ?? (request.body as { username?: string } | undefined)?.username ?? '',
        action: request.auditAction ?? (audit || `${request.method} ${request.routeOptions.url}`),
        target: request.auditTarget ?? Object.values(params ?? {}).join('/'),
        input: request.body === undefined ? null : redact(request.body),
        result: failed ? ('error' as const) : ('ok' as const),
        status_code: reply.statusCode,
        error: failed ? (request.auditError ?? null)?.slice(0, 1000) ?? null : null,
        duration_ms: Math.round(reply.elapsedTime),
        ip: request.ip,
        trace_id: traceId() ?? null,
      };
      await AuditEntry.query().insert(entry).catch((error: Error) => {
        request.log.error({ error: error.message }, 'audit write failed');
      });
    });
  },
  { name: 'auth', dependencies: ['database', 'sessions'] },
);

/** The admin behind an authenticated request (routes with a role always have one). */
export function adminOf(request: FastifyRequest): Admin {
  if (!request.admin) throw new HubError('HUB_ERR_UNAUTHORIZED', 'sign in first');
  return request.admin;
}
