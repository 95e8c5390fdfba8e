// GET /api/v1/nodes/:id/probes: what the node's health-probe last reported (the `probes` job's
// record, hub/jobs/probes.ts): scheduled probes with their history, the last unlock run with the
// marks entry names show, and the inventory. Read from the database, never from the agent.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Inventory, ProbeHistory, UnlockReport } from '../../../plugins/health-probe/contract.js';
import { readProbes } from '../../probes.js';
import { findNode, NodeParams } from './node.js';

const Time = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });
const NodeProbes = Type.Object({
  probes: Type.Array(ProbeHistory, { description: 'The scheduled probes (agent.yaml), each with its latest result and history, oldest first.' }),
  unlock: Type.Union([UnlockReport, Type.Null()], { description: 'The last unlock run; null: none reported yet.' }),
  unlock_marks: Type.Union([Type.String(), Type.Null()], { description: 'Marks of the services found available, e.g. "NF GPT" ({unlock} in sub_entry_name_template).' }),
  inventory: Type.Union([Inventory, Type.Null()]),
  probes_at: Time('When probes and unlock were last read.'),
  inventory_at: Time('When the inventory was last read (once a day).'),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why the last read failed (what was read before stays).' }),
  checked_at: Time('The last attempt, answered or not.'),
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/:id/probes',
    { config: { role: 'viewer' }, schema: { params: NodeParams, response: { 200: NodeProbes } } },
    async (request) => {
      const node = await findNode(request.params.id);
      return readProbes(app.db, node.id);
    },
  );
};

export default routes;
