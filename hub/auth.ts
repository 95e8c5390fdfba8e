// Who is calling and may they: JWT bearer tokens for admins, a required role declared by every
// route (checked at registration), and the audit log of everything that changes something.
import { randomBytes } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Knex } from 'knex';
import type { AppLogger } from '../agent-core/common/logger.js';
import { amendAuditError, writeAudit, type Actor, type AuditRecord } from './audit.js';
import type { HubConfig } from './config.js';
import { may, type Role } from '../agent-core/common/roles.js';
import { passwordChangeRequired } from './admins.js';
import { Admin } from './db/models.js';
import { HubError } from './errors.js';
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
    /** Set by a route whose body the log should not keep (an import: its counts instead). */
    auditInput?: unknown;
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    /** ver: the admin's token_version when it signed in; the session ends when that changes. */
    payload: { sub: number; username: string; role: Role; ver: number };
  }
}


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

/** Refusals of callers who are not signed in: rows per client address and action in this window. */
const REFUSAL_WINDOW_MS = 60_000;
const REFUSAL_ROWS_PER_WINDOW = 10;
const MAX_REFUSAL_SOURCES = 10_000;

/**
 * Requests refused before anyone signed in cost the caller nothing, so a flood of them would grow
 * the audit log without bound: per client address and action, the first few refusals in a minute
 * get rows and the later ones raise a count on the last of them.
 */
class RefusalCounter {
  private readonly sources = new Map<string, RefusalSource>();

  /**
   * The source to count this refusal on, or undefined when it gets a row of its own: then `opened`
   * must follow before anything is awaited, so that refusals arriving meanwhile count on that row.
   */
  repeat(key: string, now: number): RefusalSource | undefined {
    const source = this.sources.get(key);
    if (!source || now - source.since >= REFUSAL_WINDOW_MS || source.rows < REFUSAL_ROWS_PER_WINDOW) return undefined;
    source.count += 1;
    return source;
  }

  /**
   * Writes the refusal's own row (`write`) and makes it the one later refusals count on. A source's
   * rows are written one after another: on a pool of connections a flood's inserts would otherwise
   * take ids out of order, and the row that carries the count would not be the newest one.
   */
  opened(key: string, now: number, write: () => Promise<number | undefined>, error: string): Promise<number | undefined> {
    const source = this.sources.get(key);
    if (source && now - source.since < REFUSAL_WINDOW_MS) {
      const row = source.row.then(write);
      Object.assign(source, { rows: source.rows + 1, count: 1, row, error, updates: Promise.resolve(), queued: false });
      return row;
    }
    const row = write();
    this.sources.delete(key);
    this.sources.set(key, { since: now, rows: 1, count: 1, row, error, updates: Promise.resolve(), queued: false });
    // Oldest first (a Map keeps insertion order): forget the longest-known sources past the cap.
    for (const old of this.sources.keys()) {
      if (this.sources.size <= MAX_REFUSAL_SOURCES) break;
      this.sources.delete(old);
    }
    return row;
  }
}

interface RefusalSource {
  since: number;
  /** Rows written in this window. */
  rows: number;
  /** Refusals on the last row. */
  count: number;
  row: Promise<number | undefined>;
  error: string;
  /** The count updates of the last row, in order. */
  updates: Promise<void>;
  /** An update is queued and has not started: it will write the count as it stands then. */
  queued: boolean;
}

/** `body[field]` when it is a string (the username of a sign-in), else ''. */
function stringField(body: unknown, field: string): string {
  const value = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[field] : undefined;
  return typeof value === 'string' ? value : '';
}

export const authPlugin = fp<{ config: HubConfig; logger: AppLogger }>(
  async (app, { config, logger }) => {
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
      if (admin.must_change_password) throw passwordChangeRequired(admin.username);
      if (!may(admin.role, role)) {
        throw new HubError('HUB_ERR_FORBIDDEN', `this needs the ${role} role; ${admin.username} is ${admin.role}`);
      }
    });

    app.addHook('onError', async (request, _reply, error) => {
      request.auditError = error.message;
    });

    const refusals = new RefusalCounter();
    app.addHook('onResponse', async (request, reply) => {
      const { audit } = request.routeOptions.config ?? {};
      const mutating = !['GET', 'HEAD', 'OPTIONS'].includes(request.method);
      if (audit === false || (!audit && !mutating) || !request.routeOptions.url) return;
      const params = request.params as Record<string, string>;
      const failed = reply.statusCode >= 400 || request.auditError !== undefined;
      const now = Date.now();
      const action = request.auditAction ?? (audit || `${request.method} ${request.routeOptions.url}`);
      const error = failed && request.auditError !== undefined ? request.auditError : null;
      const anonymousRefusal = failed && !request.admin;
      const source = `${request.ip} ${action}`;
      const repeated = anonymousRefusal ? refusals.repeat(source, now) : undefined;
      if (repeated) {
        // One update at a time per row, each writing the count as it stands when it runs: updates
        // on a pool of connections could land out of order and leave a lower count last. A flood
        // queues at most one update behind the running one, so it costs a few writes, not one each.
        if (!repeated.queued) {
          repeated.queued = true;
          repeated.updates = repeated.updates.then(async () => {
            repeated.queued = false;
            const id = await repeated.row;
            if (id === undefined) return;
            const counted = `${repeated.count} requests like this from this address within a minute; the first: ${repeated.error || `status ${reply.statusCode}`}`;
            await amendAuditError(app.db, logger, id, action, counted);
          });
        }
        await repeated.updates;
        return;
      }
      // Taken now: a refusal's row may be written after the ones before it (RefusalCounter.opened).
      const record: AuditRecord = {
        time: now,
        admin_id: request.admin?.id ?? null,
        admin: request.admin?.username ?? stringField(request.body, 'username'),
        action,
        target: request.auditTarget ?? Object.values(params ?? {}).join('/'),
        input: request.auditInput !== undefined ? request.auditInput : request.body,
        result: failed ? 'error' : 'ok',
        status_code: reply.statusCode,
        error,
        duration_ms: Math.round(reply.elapsedTime),
        ip: request.ip,
      };
      const write = () => writeAudit(app.db, logger, record);
      await (anonymousRefusal ? refusals.opened(source, now, write, error ?? '') : write());
    });
  },
  { name: 'auth', dependencies: ['database', 'sessions'] },
);

/** The admin behind an authenticated request (routes with a role always have one). */
export function adminOf(request: FastifyRequest): Admin {
  if (!request.admin) throw new HubError('HUB_ERR_UNAUTHORIZED', 'sign in first');
  return request.admin;
}

/** The admin behind an authenticated request as the audit log and config history name them. */
export function actorOf(request: FastifyRequest): Actor {
  const admin = adminOf(request);
  return { id: admin.id, name: admin.username };
}
