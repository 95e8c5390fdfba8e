// POST /api/v1/nodes/:id/commands/:command: any plugin command on a node, JSON in, JSON out, for
// the role the command declares in the agent's Describe.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isRole, may, type Role } from '../../../agent-core/common/roles.js';
import { adminOf } from '../../auth.js';
import { HubError } from '../../errors.js';
import { findNode, NodeId } from './node.js';

const CommandParams = Type.Object({
  id: NodeId,
  command: Type.String({ maxLength: 128, pattern: '^[a-z][a-z0-9-]*\\.[a-z][a-z0-9.-]*$' }),
});

/**
 * Commands that change state the hub owns. The hub keeps a node's config versions (what it should
 * serve, its history, the config.apply audit record); a raw config.apply or config.rollback sent
 * to the agent would make the node serve a config the hub never saw, so these go through the
 * versioned routes instead, for every role.
 */
const HUB_OWNED_COMMANDS: ReadonlyMap<string, string> = new Map([
  ['singbox-config.config.apply', 'save the config with POST /api/v1/configs, then POST /api/v1/configs/:id/apply'],
  ['singbox-config.config.rollback', 'use POST /api/v1/nodes/:id/config/rollback'],
]);

/** The role a command needs; a role name this hub does not know (a newer or third-party plugin's) needs the highest. */
function commandRole(declared: string): Role {
  return isRole(declared) ? declared : 'owner';
}

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
      const hubOwned = HUB_OWNED_COMMANDS.get(request.params.command);
      if (hubOwned) throw new HubError('HUB_ERR_CONFLICT', `${request.params.command} is not run directly: ${hubOwned}`);
      const admin = adminOf(request);
      const needed = commandRole((await app.agents.command(node, request.params.command)).role);
      if (!may(admin.role, needed)) {
        throw new HubError('HUB_ERR_FORBIDDEN', `${request.params.command} needs the ${needed} role; ${admin.username} is ${admin.role}`);
      }
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
