// /api/v1/nodes: enroll nodes, list them with what their agents describe, and run any plugin
// command on a node (JSON in, JSON out).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AgentDescription } from '../../agent-core/common/description.js';
import { adminOf } from '../auth.js';
import { isRole, may, type Role } from '../../agent-core/common/roles.js';
import { Node } from '../db/models.js';
import { enrollNode } from '../enroll.js';
import { HubError } from '../errors.js';

const NodeParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 63 }) });
const CommandParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 63 }),
  command: Type.String({ maxLength: 128, pattern: '^[a-z][a-z0-9-]*\\.[a-z][a-z0-9.-]*$' }),
});
const DESCRIBE_FOR_LIST_MS = 3000;
/** A node's tags and traffic multiplier, as nodes and install commands take them. */
export const Tags = Type.Array(Type.String({ maxLength: 32, pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' }), { maxItems: 32, uniqueItems: true });
export const Multiplier = Type.Number({ minimum: 0, maximum: 100 });
/** host:port, as the hub dials the agent; a bracketed IPv6 host is 255 characters at most. */
const Address = Type.String({ maxLength: 261, pattern: '^.+:[0-9]{1,5}$' });
const Host = Type.String({ format: 'host', maxLength: 253, description: 'A DNS name or an IP address (IPv6 without brackets); no scheme, port or path.' });
const PublicHost = Type.Union([Host, Type.Null()], {
  description: "The host end users' clients dial for this node; null: the host of `address` (the agent's gRPC address).",
  examples: ['hk1.example.com', '203.0.113.10', '2001:db8::10'],
});
const InboundOverrides = Type.Record(
  Type.String(),
  Type.Object({ host: Type.Optional(Host), port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })) }, { minProperties: 1 }),
  {
    propertyNames: { minLength: 1, maxLength: 64 },
    maxProperties: 64,
    description:
      "By inbound tag of the node's base config: the host and/or port clients use for that inbound instead of `public_host` and " +
      "the inbound's listen_port (a CDN in front of one inbound, a mapped port). The whole map is replaced; {} removes them all.",
    examples: [{ 'vless-ws': { host: 'cdn.example.com', port: 443 }, 'hy2-in': { port: 20443 } }],
  },
);

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

async function findNode(id: string): Promise<Node> {
  const node = await Node.query().modify('withAppliedHash').findById(id);
  if (!node) throw new HubError('HUB_ERR_NOT_FOUND', `no node ${id}`);
  return node;
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  /** A node as the API shows it: stored fields, and whether its agent answers and what it runs. */
  const withAgent = async (node: Node) => {
    let agent: AgentDescription | null = null;
    let error: string | null = null;
    try {
      agent = await app.agents.describe(node, DESCRIBE_FOR_LIST_MS);
    } catch (e) {
      error = (e as Error).message;
    }
    return { ...node.toPublic(), online: agent !== null, error, agent };
  };

  app.post(
    '/',
    {
      config: { role: 'admin', audit: 'node.enroll' },
      schema: {
        body: Type.Object({
          enrollment: Type.String({ minLength: 1, maxLength: 2000 }),
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          tags: Type.Optional(Tags),
          multiplier: Type.Optional(Multiplier),
          /** Overrides the address in the enrollment string (e.g. behind NAT). */
          address: Type.Optional(Address),
          public_host: Type.Optional(PublicHost),
          inbound_overrides: Type.Optional(InboundOverrides),
        }),
      },
    },
    async (request, reply) => {
      const { node, agent } = await enrollNode(app.db, app.agents, request.body);
      request.auditTarget = node.id;
      reply.code(201);
      return { ...node.toPublic(), online: true, error: null, agent };
    },
  );

  app.get('/', { config: { role: 'viewer' } }, async () => {
    const nodes = await Node.query().modify('withAppliedHash').orderBy('nodes.id');
    return { nodes: await Promise.all(nodes.map(withAgent)) };
  });

  app.get('/:id', { config: { role: 'viewer' }, schema: { params: NodeParams } }, async (request) => withAgent(await findNode(request.params.id)));

  app.patch(
    '/:id',
    {
      config: { role: 'admin', audit: 'node.update' },
      schema: {
        params: NodeParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            tags: Type.Optional(Tags),
            multiplier: Type.Optional(Multiplier),
            enabled: Type.Optional(Type.Boolean()),
            address: Type.Optional(Address),
            public_host: Type.Optional(PublicHost),
            inbound_overrides: Type.Optional(InboundOverrides),
          },
          { minProperties: 1 },
        ),
      },
    },
    async (request) => {
      const node = await findNode(request.params.id);
      const tagsChanged = request.body.tags && JSON.stringify(request.body.tags) !== JSON.stringify(node.tags);
      // New tags change which users belong on the node: the reconciler must push them.
      const patch = tagsChanged ? { ...request.body, desired_revision: node.desired_revision + 1 } : request.body;
      await Node.query().findById(node.id).patch(patch);
      return (await findNode(node.id)).toPublic();
    },
  );

  app.delete('/:id', { config: { role: 'admin', audit: 'node.delete' }, schema: { params: NodeParams } }, async (request, reply) => {
    const node = await findNode(request.params.id);
    await Node.query().deleteById(node.id);
    app.agents.forget(node.id);
    reply.code(204);
  });

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
