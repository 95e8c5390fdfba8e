// /api/v1/batches: batch commands, one plugin command on the nodes of a tag, a list or the whole
// fleet (hub/batches). Any signed-in role may start one; the command's own role (from the nodes'
// Describe) decides, as for a single node's command route. The `batches` job runs them; progress
// is also pushed over GET /api/v1/ws ({"watch": "batches"}).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { adminOf } from '../auth.js';
import {
  BATCH_STATUSES,
  batchChanges,
  batchDetail,
  cancelBatch,
  COMMAND_PATTERN,
  createBatch,
  DEFAULT_CONCURRENCY,
  listBatches,
  MAX_CONCURRENCY,
  NODE_STATUSES,
  retryBatch,
  type BatchCreator,
} from '../batches/index.js';
import { BatchTargetSchema } from '../batches/target.js';
import { bodyMayBeEmpty, IdParams, IsoTime, Nullable, PagedList, StringEnum } from './schemas.js';

/** A BatchSpec as a request body (batch schedules take one too). */
export const BatchSpecBody = Type.Object(
  {
    target: BatchTargetSchema,
    command: Type.String({ maxLength: 128, pattern: COMMAND_PATTERN, description: 'a plugin command, <plugin>.<command>' }),
    input: Type.Optional(Type.Unknown({ description: "the command's input, as its schema in the node's Describe says" })),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CONCURRENCY, default: DEFAULT_CONCURRENCY, description: 'nodes running the command at once' })),
    stop_after_failures: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, default: 0, description: 'skip the nodes not started yet once this many failed (0: never)' })),
  },
  { additionalProperties: false },
);

const Counts = Type.Object({ pending: Type.Integer(), running: Type.Integer(), succeeded: Type.Integer(), failed: Type.Integer(), skipped: Type.Integer() });

const BatchOut = Type.Object({
  id: Type.Integer(),
  command: Type.String(),
  input: Type.Unknown({ description: 'redacted' }),
  target: BatchTargetSchema,
  concurrency: Type.Integer(),
  stop_after_failures: Type.Integer(),
  status: StringEnum(BATCH_STATUSES),
  created_by: Type.String(),
  created_at: IsoTime,
  started_at: Nullable(IsoTime),
  finished_at: Nullable(IsoTime),
  schedule_id: Nullable(Type.Integer()),
  retry_of: Nullable(Type.Integer()),
  counts: Counts,
});

const BatchNodeOut = Type.Object({
  node_id: Type.String(),
  node_name: Nullable(Type.String()),
  status: StringEnum(NODE_STATUSES),
  started_at: Nullable(IsoTime),
  finished_at: Nullable(IsoTime),
  duration_ms: Nullable(Type.Integer()),
  output: Type.Unknown({ description: 'the command\'s answer ("[redacted]" below the role the command needs; cut past 64 KiB: {_truncated, bytes, head})' }),
  error: Nullable(Type.String({ description: 'why it failed, or why it was skipped' })),
});

// users.sync-sized inputs, as the single node command route takes.
const BODY_LIMIT = 8 * 1024 * 1024;

const creatorOf = (request: FastifyRequest): BatchCreator => {
  const admin = adminOf(request);
  return { id: admin.id, name: admin.username, role: admin.role };
};

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const deps = { db: app.db, now: () => app.now() };
  app.liveRecords.registerRecordFeed('batches', (since) => batchChanges(app.db, since));

  app.post(
    '/',
    {
      // Viewers pass this gate; the command's own role is checked by createBatch.
      config: { role: 'viewer', audit: 'batch.create' },
      bodyLimit: BODY_LIMIT,
      schema: { body: BatchSpecBody, response: { 201: BatchOut } },
    },
    async (request, reply) => {
      request.auditTarget = request.body.command;
      const batch = await createBatch(deps, request.body, creatorOf(request));
      request.auditTarget = `${batch.id} ${batch.command}`;
      return reply.code(201).send(batch);
    },
  );

  app.get(
    '/',
    {
      config: { role: 'viewer' },
      schema: PagedList({ status: Type.Optional(StringEnum(BATCH_STATUSES)) }, BatchOut),
    },
    async (request) => listBatches(app.db, request.query),
  );

  app.get(
    '/:id',
    {
      config: { role: 'viewer' },
      schema: { params: IdParams, response: { 200: Type.Intersect([BatchOut, Type.Object({ nodes: Type.Array(BatchNodeOut) })]) } },
    },
    async (request) => batchDetail(app.db, request.params.id, adminOf(request).role),
  );

  app.post(
    '/:id/cancel',
    // Operators and up, and only with the command's role (checked by cancelBatch).
    { config: { role: 'operator', audit: 'batch.cancel' }, schema: { params: IdParams, response: { 200: BatchOut } } },
    async (request) => cancelBatch(deps, request.params.id, creatorOf(request)),
  );

  app.post(
    '/:id/retry',
    {
      config: { role: 'viewer', audit: 'batch.retry' },
      preValidation: bodyMayBeEmpty,
      schema: {
        params: IdParams,
        body: Type.Object({ nodes: Type.Optional(StringEnum(['failed', 'all'] as const, { default: 'failed', description: 'the nodes of the batch to run again' })) }, { additionalProperties: false }),
        response: { 201: BatchOut },
      },
    },
    async (request, reply) => {
      const batch = await retryBatch(deps, request.params.id, request.body.nodes ?? 'failed', creatorOf(request));
      request.auditTarget = `${batch.id} ${batch.command}`;
      return reply.code(201).send(batch);
    },
  );
};

export default routes;
