// /api/v1/rollouts: staged rollouts of a config version (hub/rollouts). Admins start, pause, resume
// and abort them; anyone signed in reads them. The `rollouts` job does the work, so each answer
// says what was asked; GET /:id, or the WebSocket's "rollouts" feed ({"type":"rollout","rollout":…}
// with its nodes), shows how it goes.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth.js';
import { BatchTargetSchema } from '../batches/target.js';
import { abortRollout, createRollout, findRollout, listRollouts, pauseRollout, resumeRollout, rolloutChanges, rolloutDetail, type RolloutStatus } from '../rollouts/index.js';
import { bodyMayBeEmpty, IdParams, IsoTime, Nullable, PagedList, StringEnum } from './schemas.js';

const STATUSES: RolloutStatus[] = ['running', 'paused', 'succeeded', 'failed', 'aborted', 'rolling_back'];
const NODE_STATUSES = ['pending', 'applying', 'applied', 'passed', 'failed', 'rolled_back', 'rollback_failed'] as const;
const Stage = Type.Union([Type.Integer({ minimum: 1, maximum: 100_000 }), Type.Unsafe<`${number}%`>(Type.String({ maxLength: 4, pattern: '^[0-9]{1,3}%$' }))], {
  description: 'How many of the target nodes have the version once the stage is done: a count, or a share of them ("10%", rounded up).',
});
const Stages = Type.Array(Stage, { minItems: 1, maxItems: 10, description: 'Growing; the last covers every node. Default [1, "100%"].' });
const GateIn = Type.Object(
  {
    soak_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'How long the gate must keep passing (default 30).' })),
    timeout_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, description: 'How long after its start a stage may take to apply and first pass the gate (default 120).' })),
    inbound_check: Type.Optional(Type.Boolean({ description: "Check the nodes' inbounds from the hub, as clients connect (default true)." })),
    max_traffic_drop_pct: Type.Optional(
      Type.Number({ minimum: 1, maximum: 100, description: "Fail when a node's traffic over the soak falls by more than this against the same time before its apply (which a stage then waits first)." }),
    ),
  },
  { additionalProperties: false },
);
const Gate = Type.Object({ soak_s: Type.Integer(), timeout_s: Type.Integer(), inbound_check: Type.Boolean(), max_traffic_drop_pct: Type.Optional(Type.Number()) });

const RolloutOut = Type.Object({
  id: Type.Integer(),
  version: Type.Integer(),
  target: BatchTargetSchema,
  stages: Stages,
  gate: Gate,
  status: StringEnum(STATUSES, { description: 'failed: a gate failed and every changed node was rolled back; aborted: rolled back on request.' }),
  current_stage: Type.Integer({ description: '1-based; 0 before the first stage started.' }),
  created_by: Type.String(),
  created_at: IsoTime,
  updated_at: IsoTime,
  finished_at: Nullable(IsoTime),
  error: Nullable(Type.String({ description: 'Which node failed which check, or who aborted.' })),
});
const RolloutDetailOut = Type.Intersect([
  RolloutOut,
  Type.Object({
    stage_plan: Type.Array(Type.Object({ stage: Type.Integer(), nodes: Type.Integer(), status: StringEnum(['pending', 'running', 'passed', 'failed', 'rolled_back']) })),
    nodes: Type.Array(
      Type.Object({
        node_id: Type.String(),
        node_name: Type.String(),
        stage: Type.Integer(),
        previous_version: Nullable(Type.Integer({ description: 'What the node served before; a rollback goes back to it.' })),
        status: StringEnum(NODE_STATUSES),
        checks: Nullable(Type.Object({}, { additionalProperties: true, description: 'What the gate saw last: at (an ISO time), applied_version, singbox, inbounds, traffic (samples with ISO times), failures.' })),
        error: Nullable(Type.String()),
        updated_at: IsoTime,
      }),
    ),
  }),
]);

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.liveRecords.registerRecordFeed('rollouts', (since) => rolloutChanges(app.db, since));

  app.post(
    '/',
    {
      config: { role: 'admin', audit: 'rollout.create' },
      schema: {
        body: Type.Object({ version: Type.Integer({ minimum: 1 }), target: BatchTargetSchema, stages: Type.Optional(Stages), gate: Type.Optional(GateIn) }, { additionalProperties: false }),
        response: { 201: RolloutOut },
      },
    },
    async (request, reply) => {
      const rollout = await createRollout(app.db, app.now(), request.body, actorOf(request));
      request.auditTarget = `rollout ${rollout.id} version ${rollout.version}`;
      reply.code(201);
      return rollout;
    },
  );

  app.get(
    '/',
    {
      config: { role: 'viewer' },
      schema: PagedList({ status: Type.Optional(StringEnum(STATUSES)) }, RolloutOut),
    },
    async (request) => listRollouts(app.db, request.query),
  );

  app.get('/:id', { config: { role: 'viewer' }, schema: { params: IdParams, response: { 200: RolloutDetailOut } } }, async (request) =>
    rolloutDetail(app.db, (await findRollout(app.db, request.params.id)).row),
  );

  const action = { config: { role: 'admin' as const }, preValidation: bodyMayBeEmpty, schema: { params: IdParams, response: { 200: RolloutOut } } };
  app.post('/:id/pause', { ...action, config: { ...action.config, audit: 'rollout.pause' } }, async (request) => pauseRollout(app.db, app.now(), request.params.id));
  app.post('/:id/resume', { ...action, config: { ...action.config, audit: 'rollout.resume' } }, async (request) => resumeRollout(app.db, app.now(), request.params.id));
  app.post('/:id/abort', { ...action, config: { ...action.config, audit: 'rollout.abort' } }, async (request) =>
    abortRollout(app.db, app.now(), request.params.id, actorOf(request)),
  );
};

export default routes;
