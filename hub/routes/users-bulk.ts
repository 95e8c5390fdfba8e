// POST /api/v1/users/bulk: one action on the users selected in the table or on all matching its
// filter (hub/users-bulk.ts). Audited once for the request and once per user touched; the nodes
// the changes reach get their revisions raised once, after the last user.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppLogger } from '../../agent-core/common/logger.js';
import { actorOf } from '../auth.js';
import { recordAudit } from '../audit.js';
import { HubError } from '../errors.js';
import { touchNodes } from '../fleet.js';
import { Plan } from '../db/models.js';
import { BULK_ACTIONS, bulkTargets, MAX_BULK_USERS, runBulk, type BulkAction } from '../users-bulk.js';
import { TABLE_STATUSES } from '../users-table.js';
import { StringEnum } from './schemas.js';

const Filter = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 200 })),
    status: Type.Optional(StringEnum(TABLE_STATUSES)),
    plan_id: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false, description: 'the filters of GET /api/v1/users; {} is every user' },
);
const Target = Type.Union([
  Type.Object({ ids: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: MAX_BULK_USERS }) }, { additionalProperties: false }),
  Type.Object({ filter: Filter }, { additionalProperties: false }),
]);
const RowResult = Type.Object({ id: Type.Integer(), name: Type.String({ description: 'empty for an id of no user' }), ok: Type.Boolean(), error: Type.Optional(Type.String()) });

/** What each action needs besides its target. */
function refuseBadOptions(action: BulkAction, days: number | undefined, planId: number | undefined): void {
  if ((action === 'extend') !== (days !== undefined)) throw new HubError('HUB_ERR_BAD_REQUEST', action === 'extend' ? 'extend needs days' : 'days belongs to extend only');
  if ((action === 'change_plan') !== (planId !== undefined)) {
    throw new HubError('HUB_ERR_BAD_REQUEST', action === 'change_plan' ? 'change_plan needs plan_id' : 'plan_id belongs to change_plan only');
  }
}

const routes: FastifyPluginAsyncTypebox<{ logger: AppLogger }> = async (app, { logger }) => {
  app.post(
    '/bulk',
    {
      config: { role: 'operator', audit: 'user.bulk' },
      schema: {
        description:
          'Runs one action on each user of the target, each in a transaction of its own, and answers per user whether it worked (a refusal names why, as the single-user route would). preview=true only counts the users it would touch. README, "Users in bulk".',
        querystring: Type.Object({ preview: Type.Optional(Type.Boolean({ default: false })) }),
        body: Type.Object(
          {
            action: StringEnum(BULK_ACTIONS),
            target: Target,
            days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'extend only' })),
            plan_id: Type.Optional(Type.Integer({ minimum: 1, description: 'change_plan only' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            preview: Type.Boolean(),
            count: Type.Integer({ description: 'users the action touches (or would): ids of no user are not counted' }),
            ok: Type.Integer(),
            failed: Type.Integer(),
            results: Type.Array(RowResult, { description: 'in id order; empty in a preview' }),
          }),
        },
      },
    },
    async (request) => {
      const { action, target, days, plan_id } = request.body;
      const preview = request.query.preview ?? false;
      const summary = { action, preview, days, plan_id, target: 'ids' in target ? { ids: target.ids.length } : target };
      request.auditTarget = 'users';
      request.auditInput = summary;
      refuseBadOptions(action, days, plan_id);
      if (plan_id !== undefined) {
        const plan = await Plan.query(app.db).findById(plan_id);
        if (!plan) throw new HubError('HUB_ERR_NOT_FOUND', `no plan ${plan_id}`);
        if (!plan.is_enabled) throw new HubError('HUB_ERR_CONFLICT', `plan ${plan.name} is disabled; enable it or choose another`);
      }
      const { users, missing } = await bulkTargets(app.db, target);
      if (preview) return { preview, count: users.length, ok: 0, failed: 0, results: [] };

      const actor = actorOf(request);
      const now = app.now();
      const { results, nodeTags } = await runBulk(app.db, users, action, { now, days, plan_id }, (row, started, error) =>
        recordAudit(app.db, logger, { actor, action: `user.bulk.${action}`, target: `user:${row.name}`, input: { days, plan_id }, started, error }),
      );
      await touchNodes(app.db, nodeTags);
      const all = [...results, ...missing.map((id) => ({ id, name: '', ok: false, error: `no user ${id}` }))].sort((a, b) => a.id - b.id);
      const failed = all.filter((r) => !r.ok).length;
      request.auditInput = { ...summary, ok: all.length - failed, failed };
      return { preview, count: users.length, ok: all.length - failed, failed, results: all };
    },
  );
};

export default routes;
