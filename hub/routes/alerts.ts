// GET /api/v1/alerts (viewer): alerts the hub raised (hub/jobs/alerts.ts), newest first, each with its
// notifications per channel (status, attempts, last error).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Alert } from '../db/models.js';
import { paged, whereGiven } from '../db/queries.js';
import { IsoTime, Nullable, PagedList, StringEnum } from './schemas.js';

const RULES = ['cpu', 'memory', 'disk', 'offline', 'ledger_backlog', 'unreachable', 'plugin_unhealthy'] as const;

const NotificationOut = Type.Object({
  event: StringEnum(['fired', 'resolved'] as const),
  channel: StringEnum(['telegram', 'email', 'webhook'] as const),
  status: StringEnum(['pending', 'sent', 'failed'] as const),
  attempts: Type.Integer(),
  last_error: Nullable(Type.String()),
  created_at: IsoTime,
  sent_at: Nullable(IsoTime),
});

const AlertOut = Type.Object({
  id: Type.Integer(),
  node_id: Type.String(),
  rule: StringEnum(RULES),
  state: StringEnum(['firing', 'resolved'] as const),
  value: Type.Number({ description: 'The value that crossed the threshold (percent; seconds offline for `offline`; entries for `ledger_backlog`; seconds since the inbound check found the node unhealthy for `unreachable`).' }),
  last_value: Type.Number(),
  threshold: Type.Number(),
  clear_below: Nullable(Type.Number({ description: 'threshold − hysteresis: the alert resolves below it.' })),
  fired_at: IsoTime,
  resolved_at: Nullable(IsoTime),
  resolved_value: Nullable(Type.Number()),
  notifications: Type.Array(NotificationOut),
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      config: { role: 'viewer' },
      schema: PagedList(
        {
          state: Type.Optional(StringEnum(['firing', 'resolved'] as const)),
          node_id: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
          rule: Type.Optional(StringEnum(RULES)),
        },
        AlertOut,
      ),
    },
    async (request) => {
      const { state, node_id, rule } = request.query;
      const query = whereGiven(Alert.query().withGraphFetched('notifications').orderBy('id', 'desc'), { state, node_id, rule });
      return paged(query, request.query, (a) => a.toPublic());
    },
  );
};

export default routes;
