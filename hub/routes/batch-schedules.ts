// /api/v1/batch-schedules: cron schedules of batches (hub/batches/schedules.ts). Admins create,
// change, pause (enabled: false) and delete them; anyone signed in lists them and their last fires.
// The `batch-schedules` job (hub/batches/schedule-runner.ts) fires them.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { adminOf } from '../auth.js';
import type { BatchCreator } from '../batches/index.js';
import { BatchSchedule } from '../db/models.js';
import { paged } from '../db/queries.js';
import { createSchedule, deleteSchedule, findSchedule, recentFires, RECENT_FIRES, schedulePublic, updateSchedule } from '../batches/schedules.js';
import { BatchSpecBody } from './batches.js';
import { IdParams, IsoTime, Nullable, PagedList, StringEnum } from './schemas.js';

const Fields = {
  name: Type.String({ minLength: 1, maxLength: 64 }),
  cron: Type.String({
    minLength: 1,
    maxLength: 100,
    description: 'node-cron: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, e.g. "0 4 * * *" or "*/30 * * * * *"',
  }),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone the cron is read in, e.g. Asia/Shanghai or UTC' }),
  batch: BatchSpecBody,
  enabled: Type.Boolean({ description: 'false pauses it: its fire times pass without a batch and are not reported missed' }),
};

const CreateBody = Type.Object({ ...Fields, enabled: Type.Optional(Fields.enabled) }, { additionalProperties: false });
const PatchBody = Type.Partial(Type.Object(Fields), {
  additionalProperties: false,
  minProperties: 1,
  description: 'The fields to change. A new batch makes the caller the admin the schedule runs as.',
});

const ScheduleOut = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  cron: Type.String(),
  timezone: Type.String(),
  batch: BatchSpecBody,
  enabled: Type.Boolean(),
  created_by: Type.String({ description: 'The admin its batches run as (who created it or last set its batch), with the role they have at each fire.' }),
  created_at: IsoTime,
  updated_at: IsoTime,
  last_fire_at: Nullable(IsoTime),
  next_fire_at: Type.Union([IsoTime, Type.Null()], { description: 'null while paused' }),
});

const FireOut = Type.Object({
  fire_at: IsoTime,
  status: StringEnum(['ran', 'failed', 'missed'] as const, { description: 'ran: its batch was created; failed: it could not be (error says why); missed: no hub was running then, so it was not run' }),
  batch_id: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  recorded_at: IsoTime,
});

/** The caller as the admin a schedule's batches run as. */
const creatorOf = (request: FastifyRequest): BatchCreator => {
  const admin = adminOf(request);
  return { id: admin.id, name: admin.username, role: admin.role };
};

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    { config: { role: 'viewer' }, schema: PagedList({}, ScheduleOut) },
    async (request) => paged(BatchSchedule.query(app.db).orderBy('id'), request.query, schedulePublic),
  );

  app.get(
    '/:id',
    {
      config: { role: 'viewer' },
      schema: { params: IdParams, response: { 200: Type.Object({ ...ScheduleOut.properties, fires: Type.Array(FireOut, { description: `The last ${RECENT_FIRES}, newest first.` }) }) } },
    },
    async (request) => {
      const schedule = await findSchedule(app.db, request.params.id);
      return { ...schedulePublic(schedule), fires: (await recentFires(app.db, schedule.id)).map((f) => f.toPublic()) };
    },
  );

  app.post(
    '/',
    { config: { role: 'admin', audit: 'batch-schedule.create' }, schema: { body: CreateBody, response: { 201: ScheduleOut } } },
    async (request, reply) => {
      const schedule = await createSchedule(app.db, { ...request.body, enabled: request.body.enabled ?? true }, creatorOf(request), app.now());
      request.auditTarget = `batch-schedule:${schedule.id}`;
      reply.code(201);
      return schedulePublic(schedule);
    },
  );

  app.patch(
    '/:id',
    { config: { role: 'admin', audit: 'batch-schedule.update' }, schema: { params: IdParams, body: PatchBody, response: { 200: ScheduleOut } } },
    async (request) => {
      request.auditTarget = `batch-schedule:${request.params.id}`;
      return schedulePublic(await updateSchedule(app.db, request.params.id, request.body, creatorOf(request), app.now()));
    },
  );

  app.delete('/:id', { config: { role: 'admin', audit: 'batch-schedule.delete' }, schema: { params: IdParams } }, async (request, reply) => {
    request.auditTarget = `batch-schedule:${request.params.id}`;
    await deleteSchedule(app.db, request.params.id);
    return reply.code(204).send();
  });
};

export default routes;
