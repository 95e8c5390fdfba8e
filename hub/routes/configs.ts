// Base config versions (/api/v1/configs) and a node's config rollback. Every saved config is an
// immutable version: its canonical JSON goes to the object store under its sha256, its metadata
// into config_versions. Applying sets desired_config_version and pushes at once through the
// reconciler, so the admin sees what the node said: for one node, a config the node refuses
// (sing-box check) is answered with the node's message and desired goes back to what it was
// (changes nothing); an unreachable node keeps the new desired version and gets it when it returns
// (202). For a tag, every node's result is listed.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { adminOf } from '../auth.js';
import { ConfigVersion, Node, type ConfigEventAction } from '../db/models.js';
import { HubError } from '../errors.js';
import type { Actor } from '../jobs/common.js';
import { readConfigVersion } from '../jobs/reconcile.js';
import { baseConfigProblem } from '../../plugins/singbox-config/contract.js';
import { canonicalJson } from '../../agent-core/common/canonical-json.js';
import { configHash } from '../../agent-core/common/config-hash.js';

const VersionParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const NodeParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 63 }) });
const Tag = Type.String({ maxLength: 32, pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' });

export interface ApplyResult {
  node_id: string;
  /** applied: the node runs it; pending: the node is offline or disabled and gets it later; refused: the node said no. */
  status: 'applied' | 'pending' | 'refused';
  version: number;
  applied_config_version: number | null;
  error: string | null;
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const findNode = async (id: string) => {
    const node = await Node.query(app.db).findById(id);
    if (!node) throw new HubError('HUB_ERR_NOT_FOUND', `no node ${id}`);
    return node;
  };
  const findVersion = async (id: number) => {
    const version = await ConfigVersion.query(app.db).findById(id);
    if (!version) throw new HubError('HUB_ERR_NOT_FOUND', `no config version ${id}`);
    return version;
  };

  /** desired := version, then push now; a refused config puts desired back as it was. */
  const applyToNode = async (node: Node, version: number, actor: Actor, action: ConfigEventAction = 'apply'): Promise<ApplyResult & { code?: string }> => {
    const before = node.desired_config_version;
    await app.db('nodes').where({ id: node.id }).update({ desired_config_version: version });
    if (!node.enabled) {
      return { node_id: node.id, status: 'pending', version, applied_config_version: node.applied_config_version, error: 'the node is disabled; it gets this version once enabled' };
    }
    const pushed = await app.jobs.reconciler.reconcileNode(node, { force: true, actor, action });
    const applied = (await Node.query(app.db).findById(node.id))?.applied_config_version ?? null;
    const part = pushed.config;
    if (!part || part.status === 'applied') return { node_id: node.id, status: 'applied', version, applied_config_version: applied, error: null };
    if (part.unreachable) return { node_id: node.id, status: 'pending', version, applied_config_version: applied, error: part.error ?? null };
    await app.db('nodes').where({ id: node.id, desired_config_version: version }).update({ desired_config_version: before });
    return { node_id: node.id, status: 'refused', version, applied_config_version: applied, error: part.error ?? null, code: part.code };
  };

  /** One node's answer: 200 applied, 202 pending, or the node's refusal as an error. */
  const answerForNode = (result: ApplyResult & { code?: string }, reply: { code(n: number): unknown }) => {
    if (result.status === 'refused') {
      const code = result.code && result.code !== 'HUB_ERR_INTERNAL' ? (result.code as ConstructorParameters<typeof HubError>[0]) : 'HUB_ERR_AGENT_FAILED';
      throw new HubError(code, `node ${result.node_id} refused config version ${result.version}: ${result.error}`);
    }
    if (result.status === 'pending') reply.code(202);
    const { code: _code, ...body } = result;
    return body;
  };

  app.post(
    '/configs',
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
      const admin = adminOf(request);
      // The agent's own rule for what a base config may carry (singbox-config's contract), at save time.
      const problem = baseConfigProblem(request.body.config);
      if (problem !== undefined) throw new HubError('HUB_ERR_BAD_REQUEST', `body.${problem}`);
      const body = Buffer.from(canonicalJson(request.body.config));
      const hash = configHash(request.body.config);
      const key = `configs/${hash}.json`;
      // Content-addressed: saving the same config again adds a version, not another object.
      if (!(await app.objects.exists(key))) await app.objects.put(key, body, 'application/json');
      const version = await ConfigVersion.query(app.db).insertAndFetch({
        hash,
        object_key: key,
        size: body.length,
        comment: request.body.comment ?? '',
        author_id: admin.id,
        author: admin.username,
        created_at: Date.now(),
      });
      request.auditTarget = String(version.id);
      reply.code(201);
      return version.toPublic();
    },
  );

  app.get(
    '/configs',
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

  app.get('/configs/:id', { config: { role: 'viewer' }, schema: { params: VersionParams } }, async (request) => {
    const { version, config } = await readConfigVersion(app.db, app.objects, request.params.id);
    return { ...version.toPublic(), config };
  });

  app.post(
    '/configs/:id/apply',
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
      const version = await findVersion(request.params.id);
      const admin = adminOf(request);
      const actor = { id: admin.id, name: admin.username };
      request.auditTarget = `${version.id} ${nodeId ?? `tag:${tag}`}`;
      if (nodeId !== undefined) return answerForNode(await applyToNode(await findNode(nodeId), version.id, actor), reply);

      const nodes = (await Node.query(app.db).orderBy('id')).filter((n) => n.tags.includes(tag!));
      if (nodes.length === 0) throw new HubError('HUB_ERR_NOT_FOUND', `no node has the tag ${tag}`);
      const results: ApplyResult[] = [];
      // A few nodes at a time: each apply checks and reloads sing-box on its node.
      for (let i = 0; i < nodes.length; i += 8) {
        const batch = await Promise.all(nodes.slice(i, i + 8).map((n) => applyToNode(n, version.id, actor)));
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

  app.get(
    '/nodes/:id/config/history',
    {
      config: { role: 'viewer' },
      schema: { params: NodeParams, querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) }) },
    },
    async (request) => {
      const node = await findNode(request.params.id);
      const history = await app.jobs.reconciler.configHistory(node.id, { limit: request.query.limit });
      return {
        node_id: node.id,
        applied_config_version: node.applied_config_version,
        desired_config_version: node.desired_config_version,
        pushes: history.map((e) => e.toPublic()),
      };
    },
  );

  app.post(
    '/nodes/:id/config/rollback',
    { config: { role: 'admin', audit: 'node.config.rollback' }, schema: { params: NodeParams } },
    async (request, reply) => {
      const node = await findNode(request.params.id);
      const current = node.applied_config_version;
      if (current === null) throw new HubError('HUB_ERR_CONFLICT', `node ${node.id} has no applied config version to roll back from`);
      const previous = (await app.jobs.reconciler.configHistory(node.id, { applied: true })).find((e) => e.version_id !== current)?.version_id ?? undefined;
      if (previous === undefined) throw new HubError('HUB_ERR_CONFLICT', `node ${node.id} applied no other config version before version ${current}`);
      await findVersion(previous);
      const admin = adminOf(request);
      return answerForNode(await applyToNode(node, previous, { id: admin.id, name: admin.username }, 'rollback'), reply);
    },
  );
};

export default routes;
