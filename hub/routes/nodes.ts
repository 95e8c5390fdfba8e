// /api/v1/nodes: enroll nodes, list them with what their agents describe, and run any plugin
// command on a node (JSON in, JSON out).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { fetchAgentCertificate, type AgentDescription } from '../agent-client.js';
import { parseEnrollment } from '../../agent-core/enrollment.js';
import { AgentError } from '../../agent-core/errors.js';
import { Node } from '../db/models.js';
import { fromAgent, HubError } from '../errors.js';

const NodeParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 63 }) });
const CommandParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 63 }),
  command: Type.String({ pattern: '^[a-z][a-z0-9-]*\\.[a-z][a-z0-9.-]*$' }),
});
const DESCRIBE_FOR_LIST_MS = 3000;

async function findNode(id: string): Promise<Node> {
  const node = await Node.query().findById(id);
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
      schema: {
        body: Type.Object({
          enrollment: Type.String({ minLength: 1, maxLength: 2000 }),
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          /** Overrides the address in the enrollment string (e.g. behind NAT). */
          address: Type.Optional(Type.String({ pattern: '^.+:[0-9]{1,5}$' })),
        }),
      },
    },
    async (request, reply) => {
      let enrollment;
      try {
        enrollment = parseEnrollment(request.body.enrollment);
      } catch (error) {
        throw new HubError('HUB_ERR_BAD_REQUEST', (error as AgentError).message);
      }
      const address = request.body.address ?? enrollment.address;
      if (await Node.query().findById(enrollment.nodeId)) {
        throw new HubError('HUB_ERR_CONFLICT', `node ${enrollment.nodeId} is already enrolled; delete it first to re-enroll`);
      }
      let certificate: string | null = null;
      if (!enrollment.insecure) {
        try {
          certificate = await fetchAgentCertificate(address, enrollment.fingerprint!);
        } catch (error) {
          throw fromAgent(enrollment.nodeId, error);
        }
      }
      const node = Node.fromJson({
        id: enrollment.nodeId,
        name: request.body.name ?? enrollment.nodeId,
        address,
        insecure: enrollment.insecure,
        fingerprint: enrollment.fingerprint ?? null,
        certificate,
        token: enrollment.token,
      });
      // Enrolling proves the address, the certificate and the token all work.
      const agent = await app.agents.describe(node);
      if (agent.nodeId !== enrollment.nodeId) {
        app.agents.forget(node.id);
        throw new HubError('HUB_ERR_CONFLICT', `the agent at ${address} is node ${agent.nodeId}, not ${enrollment.nodeId}`);
      }
      const saved = await Node.query().insertAndFetch(node);
      reply.code(201);
      return { ...saved.toPublic(), online: true, error: null, agent };
    },
  );

  app.get('/', async () => {
    const nodes = await Node.query().orderBy('id');
    return { nodes: await Promise.all(nodes.map(withAgent)) };
  });

  app.get('/:id', { schema: { params: NodeParams } }, async (request) => withAgent(await findNode(request.params.id)));

  app.delete('/:id', { schema: { params: NodeParams } }, async (request, reply) => {
    const node = await findNode(request.params.id);
    await Node.query().deleteById(node.id);
    app.agents.forget(node.id);
    reply.code(204);
  });

  app.post(
    '/:id/commands/:command',
    { schema: { params: CommandParams, body: Type.Optional(Type.Unknown()) } },
    async (request, reply) => {
      const node = await findNode(request.params.id);
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
