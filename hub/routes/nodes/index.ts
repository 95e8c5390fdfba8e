// /api/v1/nodes: enroll nodes, list them with what their agents last described (the node-status
// job's record), whether users can reach them (the inbound-check job's) and the node table's
// figures (hub/node-table.ts), sorted and filtered by tag; change and delete them.
// Everything under /api/v1/nodes/ is served from this folder, each file registered here: a node's
// plugin commands, its config history and rollback, its live figures, metrics and probe results,
// and the install commands that add nodes.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Knex } from 'knex';
import type { HubConfig } from '../../config.js';
import { Node, NodeStatus } from '../../db/models.js';
import { enrollNode } from '../../enroll.js';
import { StatusSummaries, statusOf, storeDescribeFailure, storeDescription } from '../../node-status.js';
import { arrange, NODE_SORTS, nodeFigures } from '../../node-table.js';
import { sortValues } from '../../sort.js';
import { IsoTime, Nullable, StringEnum } from '../schemas.js';
import commandRoutes from './commands.js';
import configRoutes from './config.js';
import installTokenRoutes from './install-tokens.js';
import liveRoutes from './live.js';
import metricsRoutes from './metrics.js';
import probesRoutes from './probes.js';
import { findNode, Multiplier, NodeParams, Tags } from './node.js';

/** How long the detail view waits for the agent's Describe. */
const DESCRIBE_NOW_MS = 3000;
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

const ListQuery = Type.Object({
  sort: Type.Optional(
    StringEnum(sortValues(NODE_SORTS), {
      description:
        'A column, descending with a leading "-" (then by name); without it, by node id. Nodes without the figure come last either way; health ascending is offline, degraded, unknown, online.',
    }),
  ),
  tag: Type.Optional(Type.String({ maxLength: 32, description: 'Only the nodes carrying this tag.' })),
});

/** A node list row: the table's figures (hub/node-table.ts) beside the node's fields and its agent's last description. */
const NodeRow = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    tags: Type.Array(Type.String()),
    last_seen_at: Nullable(IsoTime),
    condition: Type.Object(
      {
        state: StringEnum(['online', 'degraded', 'offline', 'unknown'] as const),
        since: Nullable(IsoTime),
        reasons: Type.Array(StringEnum(['singbox-stopped', 'inbounds-unreachable'] as const)),
      },
      {
        description:
          'offline/online as the jobs last found the node (unknown: never contacted), since when; an online node is degraded while sing-box ' +
          'does not run or users cannot reach its inbounds (since: when they became unreachable; null for a stopped sing-box alone).',
      },
    ),
    singbox: Nullable(
      Type.Object(
        { running: Type.Boolean(), version: Nullable(Type.String()), checked_at: IsoTime },
        { description: "What singbox-config status said at the live job's last answer from the node; null: never asked." },
      ),
    ),
    users: Type.Object(
      {
        served: Nullable(Type.Integer({ description: 'Users the node said it serves (synced, minus those it cut off); null: never asked.' })),
        expected: Type.Integer({ description: 'Active users with an active subscription to a plan that reaches the node.' }),
      },
    ),
    traffic_today_bytes: Type.Integer({ description: 'Upload + download bytes on this node since 00:00 UTC, as the overview counts them.' }),
    cpu_percent: Nullable(Type.Number({ description: 'From the latest cpu-memory sample.' })),
    memory_percent: Nullable(Type.Number({ description: 'Used / total memory of the latest cpu-memory sample.' })),
    metrics_at: Nullable(IsoTime),
    applied_config_version: Nullable(Type.Integer()),
    desired_config_version: Nullable(Type.Integer()),
    drift: Type.Boolean({ description: 'The node serves a config other than its applied version (config_drift has the hashes and since when).' }),
  },
  { additionalProperties: true, description: "Also the node's other fields (as enrolling answers) and its agent's last description without commands." },
);

/** The last check of each of the node's inbounds from the hub (hub/jobs/inbound-check.ts). */
async function inboundChecks(db: Knex, nodeId: string) {
  const rows = await db('node_inbound_checks').where({ node_id: nodeId }).orderBy('tag');
  return rows.map((r) => ({
    tag: String(r.tag),
    host: String(r.host),
    port: Number(r.port),
    probe: String(r.probe),
    ok: Boolean(r.ok),
    latency_ms: r.latency_ms === null ? null : Number(r.latency_ms),
    error: r.error as string | null,
    checked_at: new Date(Number(r.checked_at)).toISOString(),
  }));
}

/** A node as the API shows it: stored fields, and what its agent last said it runs. */
async function withStatus(node: Node) {
  return { ...node.toPublic(), ...statusOf(await NodeStatus.query().findById(node.id)) };
}

const routes: FastifyPluginAsyncTypebox<{ config: HubConfig }> = async (app, { config }) => {
  await app.register(commandRoutes);
  await app.register(configRoutes);
  await app.register(liveRoutes);
  await app.register(metricsRoutes);
  await app.register(probesRoutes);
  await app.register(installTokenRoutes, { prefix: '/install-tokens', config });

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
      const { node } = await enrollNode(app.db, app.agents, request.body);
      request.auditTarget = node.id;
      reply.code(201);
      return withStatus(node);
    },
  );

  // The node-status job keeps what every agent runs and the live job what sing-box does: the list
  // asks no agent, and shows each agent's plugins without their commands (the detail view has those).
  const summaries = new StatusSummaries();
  app.get('/', { config: { role: 'viewer' }, schema: { querystring: ListQuery, response: { 200: Type.Object({ nodes: Type.Array(NodeRow) }) } } }, async (request) => {
    const [nodes, statuses] = await Promise.all([Node.query().modify('withAppliedHash').orderBy('nodes.id'), summaries.read(app.db)]);
    const figures = await nodeFigures(app.db, nodes, app.now());
    const rows = arrange(
      nodes.map((node) => ({ node, figures: figures.get(node.id)! })),
      request.query,
    );
    return { nodes: rows.map(({ node, figures }) => ({ ...node.toPublic(), ...(statuses.get(node.id) ?? statusOf(undefined)), ...figures })) };
  });

  // The detail view asks the node now and stores the answer, so what it shows is current.
  app.get('/:id', { config: { role: 'viewer' }, schema: { params: NodeParams } }, async (request) => {
    const node = await findNode(request.params.id);
    try {
      await storeDescription(app.db, node.id, await app.agents.describe(node, DESCRIBE_NOW_MS), app.now());
    } catch (error) {
      await storeDescribeFailure(app.db, node.id, error, app.now());
    }
    return { ...(await withStatus(node)), inbound_checks: await inboundChecks(app.db, node.id) };
  });

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
};

export default routes;
