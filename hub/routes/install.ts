// /install/:token: what an install command fetches on a new machine (hub/install-script.ts).
// Public: the token in the path is the credential, for one node, until it expires or is revoked.
// Rate-limited per client IP. Every step is audited (node.install.script, .download, .register),
// and so is every refusal (node.install.refused, with the reason), with the caller's IP; the token
// itself never reaches the audit log or a log line.
//
// A refused script answers 200 with a script that prints the reason and exits 1. The command is
// `curl -fsSL … | sh`: -f keeps whatever an error page (from a proxy, say) holds out of sh, but
// then a 4xx body is never shown and the operator reads only "curl: (22) … error: 410" while sh
// exits 0 on its empty input. Answered as a script, the reason lands on their terminal and the
// pipeline fails. The script's own calls (download, register) get 4xx JSON answers; it prints
// their message.
import { createReadStream } from 'node:fs';
import rateLimit from '../rate-limit-store.js';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import type { HubConfig } from '../config.js';
import { InstallToken } from '../db/models.js';
import { enrollNode } from '../enroll.js';
import { HubError, type HubErrorCode } from '../errors.js';
import { installScript, refusalScript } from '../install-script.js';
import { agentRelease, ARCHITECTURES } from '../releases.js';
import { StringEnum } from './schemas.js';

export interface InstallRoutesOptions {
  config: HubConfig;
  /** Requests per client IP per minute. Default 60: one install is three requests. */
  perIpPerMinute?: number;
}

const REFUSED = 'node.install.refused';
const Params = Type.Object({ token: Type.String({ maxLength: 200 }) });
const NEW_COMMAND = 'create a new one in the dashboard (Nodes → Add node)';

const routes: FastifyPluginAsyncTypebox<InstallRoutesOptions> = async (app, { config, perIpPerMinute = 60 }) => {
  /** Answers with `message` and audits it as a refusal. */
  const refuse = (request: FastifyRequest, code: HubErrorCode, message: string): never => {
    request.auditAction = REFUSED;
    throw new HubError(code, message);
  };

  await app.register(rateLimit, { global: false });
  const perIp = app.createRateLimit({ max: perIpPerMinute, timeWindow: 60_000, keyGenerator: (req) => `install-ip:${req.ip}` });
  app.addHook('onRequest', async (request, reply) => {
    // Until the token is known, the audit names no target (by default it would be the token).
    request.auditTarget = 'install-token';
    const result = await perIp(request);
    if (!result.isAllowed && result.isExceeded) {
      reply.header('retry-after', String(result.ttlInSeconds));
      refuse(request, 'HUB_ERR_RATE_LIMITED', `too many requests; try again in ${result.ttlInSeconds} s`);
    }
  });

  /** The token's row while it may still add a node at `now`; otherwise a refusal that says why. */
  const usable = async (request: FastifyRequest, token: string, db: Knex = app.db, now = app.now()): Promise<InstallToken> => {
    const row = /^[A-Za-z0-9_-]{20,200}$/.test(token) ? await InstallToken.query(db).findOne({ token_hash: InstallToken.hash(token) }) : undefined;
    if (!row) return refuse(request, 'HUB_ERR_NOT_FOUND', `this install command is not known to this hub; copy it again, or ${NEW_COMMAND}`);
    request.auditTarget = `install-token:${row.id}`;
    const at = (ms: number | null) => new Date(Number(ms)).toISOString();
    switch (row.status(now)) {
      case 'used':
        return refuse(request, 'HUB_ERR_GONE', `this install command already added node ${row.used_by_node} at ${at(row.used_at)}; each adds one node: ${NEW_COMMAND}`);
      case 'revoked':
        return refuse(request, 'HUB_ERR_GONE', `this install command was revoked at ${at(row.revoked_at)}; ${NEW_COMMAND}`);
      case 'expired':
        return refuse(request, 'HUB_ERR_GONE', `this install command expired at ${at(row.expires_at)}; ${NEW_COMMAND}`);
      case 'pending':
        return row;
    }
  };

  app.get(
    '/:token',
    {
      config: { role: 'public', audit: 'node.install.script' },
      schema: {
        security: [],
        description:
          'The install script an install command pipes into sh (text/x-shellscript). For a token that cannot be used it is a ' +
          'script that prints why on standard error and exits 1 (still 200, so that `curl -f` passes it to sh).',
        params: Params,
      },
    },
    async (request, reply) => {
      reply.header('content-type', 'text/x-shellscript; charset=utf-8').header('cache-control', 'no-store');
      try {
        const row = await usable(request, request.params.token);
        const release = await agentRelease(config.release_dir);
        return installScript({
          hub: request.publicUrl,
          token: request.params.token,
          expiresAt: new Date(Number(row.expires_at)),
          release,
        });
      } catch (error) {
        if (!(error instanceof HubError)) throw error;
        request.auditAction = REFUSED;
        request.auditError = error.message;
        return refusalScript(error.message);
      }
    },
  );

  app.get(
    '/:token/agent-linux-:arch.tar.gz',
    {
      config: { role: 'public', audit: 'node.install.download' },
      schema: {
        security: [],
        description: "The agent tarball for this architecture, from the hub's release folder, while the install command is unused.",
        params: Type.Object({ token: Type.String({ maxLength: 200 }), arch: StringEnum(ARCHITECTURES) }),
      },
    },
    async (request, reply) => {
      await usable(request, request.params.token);
      let release;
      try {
        release = await agentRelease(config.release_dir);
      } catch (error) {
        request.auditAction = REFUSED;
        throw error;
      }
      const tarball = release.tarballs[request.params.arch];
      if (!tarball) return refuse(request, 'HUB_ERR_NOT_FOUND', `the hub has no boxfleet-agent ${release.version} tarball for linux-${request.params.arch}`);
      // Chunked, without content-length: given the length, a client holds the whole body before the
      // file's end is read here and may hang up first; the response then never finishes, nor is audited.
      return reply
        .header('content-type', 'application/gzip')
        .header('content-disposition', `attachment; filename="${tarball.file}"`)
        .header('cache-control', 'no-store')
        .send(createReadStream(tarball.path));
    },
  );

  app.post(
    '/:token/register',
    {
      config: { role: 'public', audit: 'node.install.register' },
      bodyLimit: 4096,
      schema: {
        security: [],
        description:
          "Adds the node from the enrollment string its install.sh printed, as POST /api/v1/nodes does, with the install command's " +
          'tags, name and multiplier, and spends the command in the same transaction. A node the hub cannot reach leaves it unused.',
        params: Params,
        body: Type.Object({ enrollment: Type.String({ minLength: 1, maxLength: 2000 }) }),
        response: {
          201: Type.Object({ node: Type.Object({ id: Type.String(), name: Type.String(), address: Type.String() }) }),
        },
      },
    },
    async (request, reply) => {
      const row = await usable(request, request.params.token);
      const spend = async (trx: Knex.Transaction, nodeId: string) => {
        const now = app.now();
        const spent = await InstallToken.query(trx)
          .patch({ used_at: now, used_by_node: nodeId })
          .where({ id: row.id })
          .whereNull('used_at')
          .whereNull('revoked_at')
          .where('expires_at', '>', now);
        // Another registration (or a revocation) got there first: refused with the reason, as a new request would be.
        if (spent === 0) await usable(request, request.params.token, trx, now);
      };
      try {
        const enrolled = await enrollNode(
          app.db,
          app.agents,
          { enrollment: request.body.enrollment, name: row.name ?? undefined, tags: row.tags, multiplier: row.multiplier ?? undefined },
          spend,
        );
        request.auditTarget = `${enrolled.node.id} install-token:${row.id}`;
        reply.code(201);
        return { node: { id: enrolled.node.id, name: enrolled.node.name, address: enrolled.node.address } };
      } catch (error) {
        if (!(error instanceof HubError) || request.auditAction === REFUSED) throw error;
        throw new HubError(error.code, `${error.message}; the install command is still unused: fix this, then run it again`);
      }
    },
  );
};

export default routes;
