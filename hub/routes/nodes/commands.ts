// POST /api/v1/nodes/:id/commands/:command: any plugin command on a node, JSON in, JSON out, for
// the role the command declares in the agent's Describe.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { commandRole } from '../../../agent-core/common/roles.js';
import { adminOf } from '../../auth.js';
import { refuseHubOwned, roleRefusal } from '../../command-rules.js';
import { HubError } from '../../errors.js';
import { findNode, NodeId } from './node.js';

const CommandParams = Type.Object({
  id: NodeId,
  command: Type.String({ maxLength: 128, pattern: '^[a-z][a-z0-9-]*\\.[a-z][a-z0-9.-]*$' }),
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/:id/commands/:command',
    // Viewers pass this gate; the command's own role (from the agent's Describe) is checked below.
    {
      config: { role: 'viewer', audit: 'node.command' },
      // users.sync carries every user of the node with their credentials.
      bodyLimit: 8 * 1024 * 1024,
      schema: { params: CommandParams, body: Type.Optional(Type.Unknown()) },
    },
    async (request, reply) => {
      const node = await findNode(request.params.id);
      request.auditTarget = `${node.id} ${request.params.command}`;
      refuseHubOwned(request.params.command);
      const admin = adminOf(request);
      const needed = commandRole((await app.agents.command(node, request.params.command)).role);
      const refused = roleRefusal(request.params.command, needed, { name: admin.username, role: admin.role });
      if (refused) throw new HubError('HUB_ERR_FORBIDDEN', refused);
      const { result, durationMs, requestId } = await app.agents.execute(
        node,
        request.params.command,
        request.body ?? {},
        request.id,
      );
      reply.header('x-boxfleet-duration-ms', String(durationMs)).header('x-request-id', requestId);
      return result;
    },
  );
};

export default routes;
