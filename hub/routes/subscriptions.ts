// /api/v1/subscriptions: assigning a plan to a user and moving the subscription through its life.
// Every change that can put a user on a node or take them off raises the revision of the nodes
// the plan reaches, so the reconciler pushes users.sync there.
//
// What each action does from each status (anything else answers 409 naming the current status):
//
//   action         active            suspended (admin)   suspended (quota)   expired                cancelled
//   renew          end += days       end += days         end += days         end = now + days,      409
//                                                                            active again *
//   suspend        suspended(admin)  409                 409                 409                    409
//   resume         409               active              409 (reset instead) 409                    409
//   reset-traffic  used = 0          used = 0            used = 0, active    used = 0               409
//   cancel         cancelled         cancelled           cancelled           cancelled              409
//
// * refused (409) while the user has another active or suspended subscription: a user has at most one.
// Renew extends from end_time, or from now if that has passed, and records a subscription.renewed
// user event (hub/user-events). Cancelled is final: assign a new plan.
// Expiry and quota suspension themselves are the quota job's; resuming or renewing a subscription
// that is over quota or past its end leaves the job to suspend or expire it again.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Knex } from 'knex';
import { Plan, Subscription, User, type SubscriptionStatus } from '../db/models.js';
import { locked, paged, whereGiven } from '../db/queries.js';
import { HubError } from '../errors.js';
import { touchNodes } from '../fleet.js';
import { recordRenewal } from '../user-events/record.js';
import { bodyMayBeEmpty, IdParams, IsoTime, Nullable, PagedList, StringEnum } from './schemas.js';

const DAY_MS = 86_400_000;
const STATUSES = ['active', 'expired', 'suspended', 'cancelled'] as const satisfies readonly SubscriptionStatus[];

export const SubscriptionOut = Type.Object({
  id: Type.Integer(),
  user_id: Type.Integer(),
  plan_id: Type.Integer(),
  start_time: IsoTime,
  end_time: IsoTime,
  traffic_used_bytes: Type.Integer(),
  traffic_total_bytes: Type.Integer(),
  status: StringEnum(STATUSES),
  suspended_reason: Nullable(StringEnum(['quota', 'admin'] as const)),
});

/** How a subscription looks to an admin deciding what to do: `suspended (quota)`, `expired`... */
const statusOf = (s: Subscription) => (s.status === 'suspended' ? `suspended (${s.suspended_reason ?? 'admin'})` : s.status);

function refuse(s: Subscription, action: string, hint = ''): never {
  throw new HubError('HUB_ERR_CONFLICT', `cannot ${action} subscription ${s.id}: it is ${statusOf(s)}${hint ? `; ${hint}` : ''}`);
}

/** A user has at most one subscription that is active or suspended. */
async function refuseSecondLive(db: Knex, user: User, exceptId?: number): Promise<void> {
  const query = Subscription.query(db).where({ user_id: user.id }).whereIn('status', ['active', 'suspended']).first();
  if (exceptId !== undefined) query.whereNot('id', exceptId);
  const live = await query;
  if (live) {
    throw new HubError(
      'HUB_ERR_CONFLICT',
      `user ${user.name} already has subscription ${live.id} (${statusOf(live)}); renew or cancel it first`,
    );
  }
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  /**
   * Runs `change` on the subscription inside a transaction that holds the user's row (and on MySQL
   * the subscription's), then raises the revisions of the nodes its plan reaches.
   */
  const transition = (id: number, change: (s: Subscription, trx: Knex, user: User) => Promise<Partial<Subscription>>) =>
    app.db.transaction(async (trx) => {
      const found = await Subscription.query(trx).findById(id);
      if (!found) throw new HubError('HUB_ERR_NOT_FOUND', `no subscription ${id}`);
      // Always user first, then subscription: the order assign takes them in too.
      const user = (await locked(trx, User.query(trx).findById(found.user_id)))!;
      const subscription = (await locked(trx, Subscription.query(trx).findById(id)))!;
      const patch = await change(subscription, trx, user);
      const updated = await Subscription.query(trx).patchAndFetchById(id, patch);
      const plan = await Plan.query(trx).findById(subscription.plan_id);
      await touchNodes(trx, plan!.node_tags);
      return updated.toPublic();
    });

  const action = (name: string) => ({
    config: { role: 'operator' as const, audit: `subscription.${name}` },
    preValidation: bodyMayBeEmpty,
    schema: { params: IdParams, body: Type.Object({}), response: { 200: SubscriptionOut } },
  });

  app.get(
    '/',
    {
      config: { role: 'viewer' },
      schema: PagedList(
        {
          user_id: Type.Optional(Type.Integer({ minimum: 1 })),
          plan_id: Type.Optional(Type.Integer({ minimum: 1 })),
          status: Type.Optional(StringEnum(STATUSES)),
        },
        SubscriptionOut,
      ),
    },
    async (request) => {
      const { user_id, plan_id, status } = request.query;
      const query = whereGiven(Subscription.query().orderBy('id', 'desc'), { user_id, plan_id, status });
      return paged(query, request.query, (s) => s.toPublic());
    },
  );

  app.get('/:id', { config: { role: 'viewer' }, schema: { params: IdParams, response: { 200: SubscriptionOut } } }, async (request) => {
    const subscription = await Subscription.query().findById(request.params.id);
    if (!subscription) throw new HubError('HUB_ERR_NOT_FOUND', `no subscription ${request.params.id}`);
    return subscription.toPublic();
  });

  app.post(
    '/',
    {
      config: { role: 'operator', audit: 'subscription.assign' },
      schema: {
        body: Type.Object({ user_id: Type.Integer({ minimum: 1 }), plan_id: Type.Integer({ minimum: 1 }) }),
        response: { 201: SubscriptionOut },
      },
    },
    async (request, reply) => {
      const { user_id, plan_id } = request.body;
      const subscription = await app.db.transaction(async (trx) => {
        const user = await locked(trx, User.query(trx).findById(user_id));
        if (!user) throw new HubError('HUB_ERR_NOT_FOUND', `no user ${user_id}`);
        request.auditTarget = `user:${user.name}`;
        const plan = await Plan.query(trx).findById(plan_id);
        if (!plan) throw new HubError('HUB_ERR_NOT_FOUND', `no plan ${plan_id}`);
        if (!plan.is_enabled) throw new HubError('HUB_ERR_CONFLICT', `plan ${plan.name} is disabled; enable it or choose another`);
        await refuseSecondLive(trx, user);
        const now = app.now();
        const created = await Subscription.query(trx).insertAndFetch({
          user_id,
          plan_id,
          start_time: now,
          end_time: now + plan.duration_days * DAY_MS,
          traffic_used_bytes: 0,
          traffic_total_bytes: Number(plan.traffic_limit_bytes),
          status: 'active',
          suspended_reason: null,
          last_reset_at: now,
        });
        await touchNodes(trx, plan.node_tags);
        return created;
      });
      request.auditTarget = `subscription:${subscription.id}`;
      reply.code(201);
      return subscription.toPublic();
    },
  );

  app.post(
    '/:id/renew',
    {
      ...action('renew'),
      schema: {
        ...action('renew').schema,
        // Default: the plan's duration.
        body: Type.Object({ days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })) }),
      },
    },
    async (request) => {
      request.auditTarget = `subscription:${request.params.id}`;
      return transition(request.params.id, async (s, trx, user) => {
        if (s.status === 'cancelled') refuse(s, 'renew', 'assign a new plan instead');
        const days = request.body.days ?? (await Plan.query(trx).findById(s.plan_id))!.duration_days;
        const end_time = Math.max(app.now(), Number(s.end_time)) + days * DAY_MS;
        if (s.status === 'expired') await refuseSecondLive(trx, user, s.id);
        await recordRenewal(trx, s.id, end_time, app.now());
        return s.status === 'expired' ? { end_time, status: 'active', suspended_reason: null } : { end_time };
      });
    },
  );

  app.post('/:id/suspend', action('suspend'), async (request) => {
    request.auditTarget = `subscription:${request.params.id}`;
    return transition(request.params.id, async (s) => {
      if (s.status !== 'active') refuse(s, 'suspend');
      return { status: 'suspended', suspended_reason: 'admin' };
    });
  });

  app.post('/:id/resume', action('resume'), async (request) => {
    request.auditTarget = `subscription:${request.params.id}`;
    return transition(request.params.id, async (s) => {
      if (s.status === 'suspended' && s.suspended_reason === 'quota') {
        refuse(s, 'resume', 'it ran out of traffic: reset its traffic to lift that');
      }
      if (s.status !== 'suspended') refuse(s, 'resume', 'only a subscription an admin suspended can be resumed');
      return { status: 'active', suspended_reason: null };
    });
  });

  app.post('/:id/reset-traffic', action('reset-traffic'), async (request) => {
    request.auditTarget = `subscription:${request.params.id}`;
    return transition(request.params.id, async (s, trx) => {
      if (s.status === 'cancelled') refuse(s, 'reset the traffic of');
      const now = app.now();
      // Recorded with the plans' scheduled resets, so a subscription's history of resets is whole.
      await trx('subscription_resets').insert({ subscription_id: s.id, at: now, used_bytes: s.traffic_used_bytes, strategy: 'manual' });
      const reset = { traffic_used_bytes: 0, last_reset_at: now };
      return s.status === 'suspended' && s.suspended_reason === 'quota' ? { ...reset, status: 'active', suspended_reason: null } : reset;
    });
  });

  app.post('/:id/cancel', action('cancel'), async (request) => {
    request.auditTarget = `subscription:${request.params.id}`;
    return transition(request.params.id, async (s) => {
      if (s.status === 'cancelled') refuse(s, 'cancel');
      return { status: 'cancelled', suspended_reason: null };
    });
  });
};

export default routes;
