// GET /api/v1/overview (viewer): the fleet at a glance, for the dashboard's first screen.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Knex } from 'knex';
import { startOfUtcDay, usageSince } from '../usage-today.js';

const OverviewOut = Type.Object({
  nodes_online: Type.Integer({ description: 'Enabled nodes whose health is online.' }),
  nodes_offline: Type.Integer({ description: 'Enabled nodes that are not online (offline or not yet contacted).' }),
  active_users: Type.Integer({ description: 'Users with an active subscription.' }),
  traffic_today_bytes: Type.Integer({ description: 'Upload + download bytes of every user on every node since 00:00 UTC.' }),
  open_alerts: Type.Integer({ description: 'Alerts firing.' }),
});

const count = async (query: Knex.QueryBuilder) => Number(((await query.first()) as { n?: number | string } | undefined)?.n ?? 0);

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { role: 'viewer' }, schema: { response: { 200: OverviewOut } } }, async () => {
    const { db } = app;
    const now = app.now();
    const [online, enabled, users, alerts, today] = await Promise.all([
      count(db('nodes').where({ enabled: true, health: 'online' }).count({ n: '*' })),
      count(db('nodes').where({ enabled: true }).count({ n: '*' })),
      count(db('subscriptions').where({ status: 'active' }).countDistinct({ n: 'user_id' })),
      count(db('alerts').where({ state: 'firing' }).count({ n: '*' })),
      usageSince(db, startOfUtcDay(now), now),
    ]);
    return {
      nodes_online: online,
      nodes_offline: enabled - online,
      active_users: users,
      traffic_today_bytes: today.upload_bytes + today.download_bytes,
      open_alerts: alerts,
    };
  });
};

export default routes;
