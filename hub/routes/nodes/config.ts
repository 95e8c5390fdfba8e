// A node's config history (GET /api/v1/nodes/:id/config/history) and its rollback to the version
// it applied before (POST /api/v1/nodes/:id/config/rollback), answered like an apply (routes/configs.ts).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../../auth.js';
import { applyToNode, configHistory, rollbackTarget } from '../../config-versions.js';
import { answerForNode } from '../configs.js';
import { findNode, NodeParams } from './node.js';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/:id/config/history',
    {
      config: { role: 'viewer' },
      schema: { params: NodeParams, querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) }) },
    },
    async (request) => {
      const node = await findNode(request.params.id);
      const history = await configHistory(app.db, node.id, { limit: request.query.limit });
      return {
        node_id: node.id,
        applied_config_version: node.applied_config_version,
        desired_config_version: node.desired_config_version,
        pushes: history.map((e) => e.toPublic()),
      };
    },
  );

  app.post(
    '/:id/config/rollback',
    { config: { role: 'admin', audit: 'node.config.rollback' }, schema: { params: NodeParams } },
    async (request, reply) => {
      const node = await findNode(request.params.id);
      const previous = await rollbackTarget(app.db, node);
      return answerForNode(await applyToNode(app.db, app.jobs.reconciler, node, previous.id, actorOf(request), 'rollback'), reply);
    },
  );
};

export default routes;
