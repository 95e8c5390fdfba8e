// /api/v1/nodes/install-tokens (admin): one-time install commands. An admin chooses the new node's
// tags, name and multiplier; the hub answers with one command to run on the new machine, which
// downloads the agent from this hub, installs it and adds the node (hub/routes/install.ts). The
// token is in that answer only: the hub keeps its SHA-256.
import { randomBytes } from 'node:crypto';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminOf } from '../../auth.js';
import type { HubConfig } from '../../config.js';
import { InstallToken, type InstallTokenStatus } from '../../db/models.js';
import { paged } from '../../db/queries.js';
import { HubError } from '../../errors.js';
import { installCommand } from '../../install-script.js';
import { agentRelease, ARCHITECTURES } from '../../releases.js';
import { Multiplier, Tags } from './node.js';
import { IdParams, IsoTime, Nullable, PagedList, StringEnum } from '../schemas.js';

const STATUSES: InstallTokenStatus[] = ['pending', 'used', 'expired', 'revoked'];

const TokenOut = Type.Object({
  id: Type.Integer(),
  status: StringEnum(STATUSES, { description: 'pending until it adds a node (used), is revoked, or expires.' }),
  name: Nullable(Type.String({ description: "The new node's name; null: its agent's node id." })),
  tags: Type.Array(Type.String()),
  multiplier: Nullable(Type.Number({ description: 'null: 1.' })),
  created_by: Type.String(),
  created_at: IsoTime,
  expires_at: IsoTime,
  revoked_at: Nullable(IsoTime),
  used_at: Nullable(IsoTime),
  used_by_node: Nullable(Type.String({ description: 'The node this command added.' })),
});

const Created = Type.Object({
  id: Type.Integer(),
  token: Type.String({ description: 'Shown only here; the hub keeps its SHA-256.' }),
  expires_at: IsoTime,
  command: Type.String({
    description:
      'Run as root on the new machine after replacing <host:port> with the address and port the hub will dial to reach ' +
      "the node's agent (its public address; the agent listens on port 7443 unless install.sh is given --listen).",
  }),
  architectures: Type.Array(StringEnum(ARCHITECTURES), { description: 'The Linux architectures the hub has an agent tarball for.' }),
  version: Type.String({ description: 'The agent version the command installs.' }),
});

const MAX_TTL_S = 7 * 86_400;

const routes: FastifyPluginAsyncTypebox<{ config: HubConfig }> = async (app, { config }) => {
  app.post(
    '/',
    {
      config: { role: 'admin', audit: 'node.install-token.create' },
      schema: {
        description:
          'Creates a one-time install command for a new node: `curl -fsSL <hub>/install/<token> | sudo sh -s -- --address <host:port>`. ' +
          'The operator replaces <host:port> with the public address the hub will dial to reach the node. The script downloads the ' +
          "newest agent tarball in the hub's release folder, checks its SHA-256, installs it and adds the node with these tags, " +
          'name and multiplier. 503 when the release folder has no agent tarball.',
        body: Type.Object({
          tags: Type.Optional(Tags),
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          multiplier: Type.Optional(Multiplier),
          ttl_s: Type.Optional(
            Type.Integer({ minimum: 60, maximum: MAX_TTL_S, description: 'How long the command works, in seconds; default: install_token_ttl_s.' }),
          ),
        }),
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      const release = await agentRelease(config.release_dir);
      const admin = adminOf(request);
      const token = randomBytes(32).toString('base64url');
      const now = app.now();
      const row = await InstallToken.query(app.db).insertAndFetch({
        token_hash: InstallToken.hash(token),
        name: request.body.name ?? null,
        tags: request.body.tags ?? [],
        multiplier: request.body.multiplier ?? null,
        created_by_id: admin.id,
        created_by: admin.username,
        created_at: now,
        expires_at: now + (request.body.ttl_s ?? config.install_token_ttl_s) * 1000,
      });
      request.auditTarget = `install-token:${row.id}`;
      reply.code(201);
      return {
        id: row.id,
        token,
        expires_at: new Date(Number(row.expires_at)).toISOString(),
        command: installCommand(request.publicUrl, token),
        architectures: ARCHITECTURES.filter((arch) => release.tarballs[arch]),
        version: release.version,
      };
    },
  );

  app.get(
    '/',
    {
      config: { role: 'admin' },
      schema: {
        description: 'Install commands, newest first, without their tokens.',
        ...PagedList({ status: Type.Optional(StringEnum(STATUSES)) }, TokenOut),
      },
    },
    async (request) => {
      const now = app.now();
      const query = InstallToken.query(app.db).orderBy('id', 'desc');
      const unused = () => query.whereNull('used_at');
      switch (request.query.status) {
        case 'used':
          query.whereNotNull('used_at');
          break;
        case 'revoked':
          unused().whereNotNull('revoked_at');
          break;
        case 'expired':
          unused().whereNull('revoked_at').where('expires_at', '<=', now);
          break;
        case 'pending':
          unused().whereNull('revoked_at').where('expires_at', '>', now);
          break;
      }
      return paged(query, request.query, (row) => row.toPublic(now));
    },
  );

  app.delete(
    '/:id',
    {
      config: { role: 'admin', audit: 'node.install-token.revoke' },
      schema: { description: 'Revokes an install command that has not added a node yet.', params: IdParams },
    },
    async (request, reply) => {
      request.auditTarget = `install-token:${request.params.id}`;
      const row = await InstallToken.query(app.db).findById(request.params.id);
      if (!row) throw new HubError('HUB_ERR_NOT_FOUND', `no install command ${request.params.id}`);
      // Only while unused: a registration spending the command at the same moment wins or loses as a whole.
      const revoked = await InstallToken.query(app.db).patch({ revoked_at: app.now() }).where({ id: row.id }).whereNull('used_at').whereNull('revoked_at');
      const current = revoked === 0 ? await InstallToken.query(app.db).findById(row.id) : undefined;
      if (current?.used_at != null) {
        throw new HubError('HUB_ERR_CONFLICT', `install command ${row.id} already added node ${current.used_by_node}; remove that node instead`);
      }
      reply.code(204);
    },
  );
};

export default routes;
