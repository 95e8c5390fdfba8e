// GET /api/v1/user-events (viewer): the user events the hub recorded (hub/user-events), newest
// first, each as the webhook receives it plus its deliveries per channel (status, attempts, last
// error; none when no channel was configured).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { iso } from '../db/models.js';
import { pagedRows } from '../db/queries.js';
import { eventBody, eventRows, UserEventBody, type EventRow } from '../user-events/body.js';
import { USER_EVENT_CHANNELS } from '../user-events/deliver.js';
import { USER_EVENT_KINDS } from '../user-events/record.js';
import { IsoTime, Nullable, PagedList, StringEnum } from './schemas.js';

const DeliveryOut = Type.Object({
  channel: StringEnum(USER_EVENT_CHANNELS),
  status: StringEnum(['pending', 'sent', 'failed'] as const),
  attempts: Type.Integer(),
  last_error: Nullable(Type.String()),
  created_at: IsoTime,
  sent_at: Nullable(IsoTime),
});

const UserEventOut = Type.Object({ ...UserEventBody.properties, deliveries: Type.Array(DeliveryOut) });

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      config: { role: 'viewer' },
      schema: PagedList(
        {
          user_id: Type.Optional(Type.Integer({ minimum: 1 })),
          subscription_id: Type.Optional(Type.Integer({ minimum: 1 })),
          kind: Type.Optional(StringEnum(USER_EVENT_KINDS)),
        },
        UserEventOut,
      ),
    },
    async (request) => {
      const { user_id, subscription_id, kind } = request.query;
      const query = eventRows(app.db).orderBy('e.id', 'desc');
      if (user_id !== undefined) query.where('e.user_id', user_id);
      if (subscription_id !== undefined) query.where('e.subscription_id', subscription_id);
      if (kind !== undefined) query.where('e.kind', kind);
      const { rows, ...page } = await pagedRows<EventRow>(query, request.query);
      const deliveries = await app.db('user_event_deliveries')
        .whereIn('event_id', rows.map((r) => r.id))
        .orderBy('id');
      return {
        ...page,
        items: rows.map((row) => ({
          ...eventBody(row),
          deliveries: deliveries
            .filter((d) => Number(d.event_id) === Number(row.id))
            .map((d) => ({
              channel: d.channel,
              status: d.status,
              attempts: Number(d.attempts),
              last_error: d.last_error,
              created_at: iso(d.created_at),
              sent_at: iso(d.sent_at),
            })),
        })),
      };
    },
  );
};

export default routes;
