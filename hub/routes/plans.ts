// /api/v1/plans: what a subscription gives (traffic, duration, price) and which nodes it reaches
// (by tag), and when their used traffic resets (hub/reset-policies.ts). Existing subscriptions keep
// the traffic and end time they were given; only a change of node tags changes something for them
// on the nodes, so only that raises node revisions. A new reset policy applies from its latest
// boundary: a subscription last reset before it is reset at the next quota job run.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Knex } from 'knex';
import { Plan } from '../db/models.js';
import { isUniqueViolation, locked, whereNameIs } from '../db/queries.js';
import { HubError } from '../errors.js';
import { touchNodes } from '../fleet.js';
import { MAX_RESET_DAY, RESET_POLICIES, type ResetPolicy } from '../reset-policies.js';
import { IdParams, IsoTime, Nullable, StringEnum } from './schemas.js';

export const NodeTags = Type.Array(Type.String({ maxLength: 32, pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' }), { maxItems: 32, uniqueItems: true });

const fields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  traffic_limit_bytes: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  duration_days: Type.Integer({ minimum: 1, maximum: 3650 }),
  // DECIMAL(12,2) in the database.
  price: Type.Number({ minimum: 0, maximum: 9_999_999_999.99 }),
  is_enabled: Type.Boolean(),
  node_tags: NodeTags,
  reset_policy: StringEnum(RESET_POLICIES, {
    description:
      "when subscriptions' used traffic goes back to 0: never (none); at 00:00 in the hub's reset_timezone every day (daily), every Monday (weekly), " +
      'on reset_day of every month (monthly) or every 1 January (yearly); or every 30 days from the last reset (rolling_30d)',
  }),
  reset_day: Type.Integer({ minimum: 1, maximum: MAX_RESET_DAY, description: 'the day of the month a monthly plan resets on (default 1); only for reset_policy monthly' }),
};

const PlanOut = Type.Object({ id: Type.Integer(), ...fields, reset_day: Nullable(fields.reset_day), created_at: IsoTime });
const cents = (price: number) => Math.round(price * 100) / 100;

async function findPlan(db: Knex, id: number, lock = false): Promise<Plan> {
  const query = Plan.query(db).findById(id);
  const plan = await (lock ? locked(db, query) : query);
  if (!plan) throw new HubError('HUB_ERR_NOT_FOUND', `no plan ${id}`);
  return plan;
}

async function refuseTakenName(db: Knex, name: string, exceptId?: number): Promise<void> {
  const query = Plan.query(db).first();
  whereNameIs(query, 'name', name);
  if (exceptId !== undefined) query.whereNot('id', exceptId);
  if (await query) throw new HubError('HUB_ERR_CONFLICT', `a plan named ${name} already exists (names are compared without case)`);
}

/** reset_day as stored: the given or kept day (default 1) for monthly, null for the others; a day given with another policy is refused. */
function resetDay(policy: ResetPolicy, given: number | undefined, kept: number | null = null): number | null {
  if (policy === 'monthly') return given ?? kept ?? 1;
  if (given !== undefined) throw new HubError('HUB_ERR_BAD_REQUEST', `body.reset_day: applies only to reset_policy monthly, and this plan's is ${policy}`);
  return null;
}

const saving = async <T>(name: string | undefined, write: () => PromiseLike<T>): Promise<T> => {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error)) throw new HubError('HUB_ERR_CONFLICT', `a plan named ${name} already exists`);
    throw error;
  }
};

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { role: 'viewer' }, schema: { response: { 200: Type.Object({ items: Type.Array(PlanOut) }) } } }, async () => ({
    items: (await Plan.query().orderBy('id')).map((p) => p.toPublic()),
  }));

  app.get('/:id', { config: { role: 'viewer' }, schema: { params: IdParams, response: { 200: PlanOut } } }, async (request) =>
    (await findPlan(app.db, request.params.id)).toPublic(),
  );

  app.post(
    '/',
    {
      config: { role: 'admin', audit: 'plan.create' },
      schema: {
        body: Type.Object({
          name: fields.name,
          traffic_limit_bytes: fields.traffic_limit_bytes,
          duration_days: fields.duration_days,
          price: Type.Optional(fields.price),
          is_enabled: Type.Optional(fields.is_enabled),
          node_tags: Type.Optional(fields.node_tags),
          reset_policy: Type.Optional(fields.reset_policy),
          reset_day: Type.Optional(fields.reset_day),
        }),
        response: { 201: PlanOut },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const reset_policy = body.reset_policy ?? 'none';
      const reset_day = resetDay(reset_policy, body.reset_day);
      const plan = await saving(body.name, () =>
        app.db.transaction(async (trx) => {
          await refuseTakenName(trx, body.name);
          return Plan.query(trx).insertAndFetch({
            name: body.name,
            traffic_limit_bytes: body.traffic_limit_bytes,
            duration_days: body.duration_days,
            price: cents(body.price ?? 0),
            is_enabled: body.is_enabled ?? true,
            node_tags: body.node_tags ?? [],
            reset_policy,
            reset_day,
          });
        }),
      );
      // No subscription uses a new plan yet, so no node needs to hear of it.
      request.auditTarget = `plan:${plan.id}`;
      reply.code(201);
      return plan.toPublic();
    },
  );

  app.patch(
    '/:id',
    {
      config: { role: 'admin', audit: 'plan.update' },
      schema: {
        params: IdParams,
        body: Type.Partial(Type.Object(fields), { minProperties: 1 }),
        response: { 200: PlanOut },
      },
    },
    async (request) => {
      const { body } = request;
      request.auditTarget = `plan:${request.params.id}`;
      return app.db.transaction(async (trx) => {
        const plan = await findPlan(trx, request.params.id, true);
        if (body.name !== undefined) await refuseTakenName(trx, body.name, plan.id);
        const reset_policy = body.reset_policy ?? plan.reset_policy;
        const patch = { ...body, ...(body.price === undefined ? {} : { price: cents(body.price) }), reset_day: resetDay(reset_policy, body.reset_day, plan.reset_day) };
        const updated = await saving(body.name, () => Plan.query(trx).patchAndFetchById(plan.id, patch));
        const before = [...plan.node_tags].sort().join(',');
        if (body.node_tags && [...body.node_tags].sort().join(',') !== before) {
          // Nodes that lost the plan must drop its users, nodes that gained it must add them.
          await touchNodes(trx, [...new Set([...plan.node_tags, ...body.node_tags])]);
        }
        return updated.toPublic();
      });
    },
  );

  app.delete('/:id', { config: { role: 'admin', audit: 'plan.delete' }, schema: { params: IdParams } }, async (request, reply) => {
    request.auditTarget = `plan:${request.params.id}`;
    await app.db.transaction(async (trx) => {
      const plan = await findPlan(trx, request.params.id, true);
      const [{ n }] = (await trx('subscriptions').where({ plan_id: plan.id }).count({ n: '*' })) as [{ n: number | string }];
      if (Number(n) > 0) {
        throw new HubError(
          'HUB_ERR_CONFLICT',
          `plan ${plan.name} has ${Number(n)} subscription(s), counting ended ones; disable it (is_enabled: false) instead of deleting it`,
        );
      }
      await Plan.query(trx).deleteById(plan.id);
    });
    return reply.code(204).send();
  });
};

export default routes;
