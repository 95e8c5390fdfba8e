// GET /api/v1/nodes/:id/metrics: a node's stored samples (the metrics job's, hub/jobs/metrics.ts).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NodeMetric } from '../../db/models.js';
import { HubError } from '../../errors.js';
import { findNode, NodeParams } from './node.js';
import { SampleKind } from '../../../plugins/sysmetrics/contract.js';

const DAY_MS = 24 * 3_600_000;
const MAX_ROWS = 20_000;

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/:id/metrics',
    {
      config: { role: 'viewer' },
      schema: {
        params: NodeParams,
        querystring: Type.Object({
          from: Type.Optional(Type.String({ format: 'date-time', maxLength: 64, description: 'Default: 24 h before `to`.' })),
          to: Type.Optional(Type.String({ format: 'date-time', maxLength: 64, description: 'Default: now.' })),
          kind: Type.Optional(SampleKind),
        }),
      },
    },
    async (request) => {
      const { id } = request.params;
      await findNode(id);
      const to = request.query.to ? Date.parse(request.query.to) : app.now();
      const from = request.query.from ? Date.parse(request.query.from) : to - DAY_MS;
      if (from > to) throw new HubError('HUB_ERR_BAD_REQUEST', 'querystring.from: must not be after to');
      const query = NodeMetric.query().where({ node_id: id }).whereBetween('time', [from, to]);
      if (request.query.kind) query.where({ kind: request.query.kind });
      const rows = await query.orderBy('time').limit(MAX_ROWS + 1);
      return {
        node: id,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        truncated: rows.length > MAX_ROWS,
        samples: rows.slice(0, MAX_ROWS).map((r) => r.toPublic()),
      };
    },
  );

};

export default routes;
