// /api/v1/configs: base config versions, saved and applied to a node or a tag; what a version is
// and how one is applied is hub/config-versions.ts. Applying pushes at once, so the admin sees what
// the node said: for one node, a config the node refuses (sing-box check) is answered with the
// node's message; an unreachable node gets it when it returns (202). For a tag, every node's result
// is listed. A REALITY key pair for an inbound comes from here too.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth.js';
import { applyToNode, findConfigVersion, readConfigVersion, saveConfigVersion, type ApplyResult } from '../config-versions.js';
import { ConfigVersion, Node } from '../db/models.js';
import { HubError, type HubErrorCode } from '../errors.js';
import { realityKeyPair } from '../reality.js';
import { baseConfigProblem } from '../../plugins/singbox-config/contract.js';
import { findNode } from './nodes/node.js';

const VersionParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const Tag = Type.String({ maxLength: 32, pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' });

/** One node's answer: 200 applied, 202 pending, or the node's refusal as an error. */
export function answerForNode(result: ApplyResult & { code?: HubErrorCode }, reply: { code(n: number): unknown }) {
  if (result.status === 'refused') {
    const code = result.code && result.code !== 'HUB_ERR_INTERNAL' ? result.code : 'HUB_ERR_AGENT_FAILED';
    throw new HubError(code, `node ${result.node_id} refused config version ${result.version}: ${result.error}`);
  }
  if (result.status === 'pending') reply.code(202);
  const { code: _code, ...body } = result;
  return body;
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/',
    {
      config: { role: 'admin', audit: 'config.create' },
      // A base config with inline rule sets can run to megabytes.
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        body: Type.Object({
          config: Type.Object({}, { additionalProperties: true, description: 'A sing-box base config (no users, no clash_api/v2ray_api, no ssm-api).' }),
          comment: Type.Optional(Type.String({ maxLength: 500 })),
        }),
      },
    },
    async (request, reply) => {
      // The agent's own rule for what a base config may carry (singbox-config's contract), at save time.
      const problem = baseConfigProblem(request.body.config);
      if (problem !== undefined) throw new HubError('HUB_ERR_BAD_REQUEST', `body.${problem}`);
      const version = await saveConfigVersion(app.db, app.objects, request.body.config, { comment: request.body.comment ?? '', author: actorOf(request) });
      request.auditTarget = String(version.id);
      reply.code(201);
      return version.toPublic();
    },
  );

  app.post(
    '/reality-keypair',
    {
      // A POST: every call makes a new secret. The audit row says who asked (its input is empty; the keys are the answer).
      config: { role: 'admin', audit: 'config.reality-keypair' },
      schema: {
        description: "A new REALITY key pair and short id for an inbound's tls.reality (private_key, short_id: [short_id]); clients get the public key through their subscription.",
        response: {
          200: Type.Object({
            private_key: Type.String({ description: 'X25519, base64url without padding, as `sing-box generate reality-keypair` prints it' }),
            public_key: Type.String({ description: 'The matching public key, in the same encoding' }),
            short_id: Type.String({ pattern: '^[0-9a-f]{16}$' }),
          }),
        },
      },
    },
    async () => realityKeyPair(),
  );

  app.get(
    '/',
    {
      config: { role: 'viewer' },
      schema: {
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          offset: Type.Integer({ minimum: 0, default: 0 }),
        }),
      },
    },
    async (request) => {
      const { limit, offset } = request.query;
      const [versions, total] = await Promise.all([
        ConfigVersion.query(app.db).orderBy('id', 'desc').limit(limit).offset(offset),
        ConfigVersion.query(app.db).resultSize(),
      ]);
      return { versions: versions.map((v) => v.toPublic()), total, limit, offset };
    },
  );

  app.get('/:id', { config: { role: 'viewer' }, schema: { params: VersionParams } }, async (request) => {
    const { version, config } = await readConfigVersion(app.db, app.objects, request.params.id);
    return { ...version.toPublic(), config };
  });

  app.post(
    '/:id/apply',
    {
      config: { role: 'admin', audit: 'config.apply' },
      schema: {
        params: VersionParams,
        body: Type.Object({
          node_id: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
          tag: Type.Optional(Tag),
        }),
      },
    },
    async (request, reply) => {
      const { node_id: nodeId, tag } = request.body;
      if ((nodeId === undefined) === (tag === undefined)) throw new HubError('HUB_ERR_BAD_REQUEST', 'body: give exactly one of node_id or tag');
      const version = await findConfigVersion(app.db, request.params.id);
      const actor = actorOf(request);
      const apply = (node: Node) => applyToNode(app.db, app.jobs.reconciler, node, version.id, actor);
      request.auditTarget = `${version.id} ${nodeId ?? `tag:${tag}`}`;
      if (nodeId !== undefined) return answerForNode(await apply(await findNode(nodeId)), reply);

      const nodes = (await Node.query(app.db).orderBy('id')).filter((n) => n.tags.includes(tag!));
      if (nodes.length === 0) throw new HubError('HUB_ERR_NOT_FOUND', `no node has the tag ${tag}`);
      const results: ApplyResult[] = [];
      // A few nodes at a time: each apply checks and reloads sing-box on its node.
      for (let i = 0; i < nodes.length; i += 8) {
        const batch = await Promise.all(nodes.slice(i, i + 8).map(apply));
        results.push(...batch.map(({ code: _code, ...r }) => r));
      }
      return {
        version: version.id,
        tag,
        applied: results.filter((r) => r.status === 'applied').length,
        pending: results.filter((r) => r.status === 'pending').length,
        refused: results.filter((r) => r.status === 'refused').length,
        results,
      };
    },
  );
};

export default routes;
