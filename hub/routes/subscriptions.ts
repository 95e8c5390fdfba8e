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
import { Subscription, User, type SubscriptionStatus } from '../db/models.js';
import { locked, paged, whereGiven } from '../db/queries.js';
import { HubError } from '../errors.js';
import { touchNodes } from '../fleet.js';
import { applySubscriptionAction, assignPlan, type SubscriptionAction } from '../subscription-changes.js';
import { bodyMayBeEmpty, IdParams, IsoTime, Nullable, PagedList, StringEnum } from './schemas.js';

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

const routes: FastifyPluginAsyncTypebox = async (app) => {
  /** Runs `action` on the subscription in one transaction that also raises the revisions of the nodes its plan reaches. */
  const transition = (id: number, action: SubscriptionAction, days?: number) =>
    app.db.transaction(async (trx) => {
      const { subscription, nodeTags } = await applySubscriptionAction(trx, id, action, { now: app.now(), days });
      await touchNodes(trx, nodeTags);
      return subscription.toPublic();
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
        const assigned = await assignPlan(trx, user, plan_id, app.now());
        await touchNodes(trx, assigned.nodeTags);
        return assigned.subscription;
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
      return transition(request.params.id, 'renew', request.body.days);
    },
  );

  for (const name of ['suspend', 'resume', 'reset-traffic', 'cancel'] as const) {
    app.post(`/:id/${name}`, action(name), async (request) => {
      request.auditTarget = `subscription:${request.params.id}`;
      return transition(request.params.id, name);
    });
  }
};

export default routes;
