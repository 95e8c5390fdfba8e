// GET /api/v1/nodes/:id/live (viewer): a node's latest Clash API figures and ledger backlog as the
// hub's `live` job gathered them (hub/live.ts; the browser never talks to nodes), plus its traffic
// today from usage_hourly. GET /api/v1/overview (viewer): the fleet at a glance.
// "Today" is the UTC day of the hub clock (app.now()): usage_hourly rows whose hour starts at or
// after 00:00 UTC and not after now.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Knex } from 'knex';
import { Node, NodeLive } from '../db/models.js';
import { HubError } from '../errors.js';
import { IsoTime, Nullable } from './schemas.js';

const DAY_MS = 24 * 3_600_000;

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const num = (v: number | string | null | undefined) => (v === null || v === undefined ? null : Number(v));

const LiveOut = Type.Object({
  node_id: Type.String(),
  online_clients: Nullable(Type.Integer({ description: 'Distinct client addresses with an open connection; null until gathered.' })),
  connections: Nullable(Type.Integer({ description: 'Open connections.' })),
  upload_total: Nullable(Type.Integer({ description: "sing-box's upload counter since it started, in bytes." })),
  download_total: Nullable(Type.Integer()),
  sampled_at: Nullable(Type.String({ format: 'date-time', description: 'When the agent read the Clash API.' })),
  ledger_backlog_entries: Nullable(Type.Integer({ description: 'Ledger entries not yet acknowledged by the hub.' })),
  ledger_at: Nullable(Type.String({ format: 'date-time', description: 'When the hub read the ledger position.' })),
  today: Type.Object({
    from: IsoTime,
    upload_bytes: Type.Integer(),
    download_bytes: Type.Integer(),
    billed_bytes: Type.Integer(),
  }),
});

const OverviewOut = Type.Object({
  nodes_online: Type.Integer({ description: 'Enabled nodes whose health is online.' }),
  nodes_offline: Type.Integer({ description: 'Enabled nodes that are not online (offline or not yet contacted).' }),
  active_users: Type.Integer({ description: 'Users with an active subscription.' }),
  traffic_today_bytes: Type.Integer({ description: 'Upload + download bytes of every user on every node since 00:00 UTC.' }),
  open_alerts: Type.Integer({ description: 'Alerts firing.' }),
});

export const startOfUtcDay = (now: number) => Math.floor(now / DAY_MS) * DAY_MS;

async function usageSince(db: Knex, from: number, to: number, nodeId?: string) {
  const query = db('usage_hourly')
    .where('hour', '>=', from)
    .andWhere('hour', '<=', to)
    .sum({ up: 'upload_bytes', down: 'download_bytes', billed: 'billed_bytes' })
    .first();
  if (nodeId !== undefined) query.andWhere({ node_id: nodeId });
  const row = (await query) as { up: number | string | null; down: number | string | null; billed: number | string | null } | undefined;
  return { upload_bytes: Number(row?.up ?? 0), download_bytes: Number(row?.down ?? 0), billed_bytes: Number(row?.billed ?? 0) };
}

const count = async (query: Knex.QueryBuilder) => Number(((await query.first()) as { n?: number | string } | undefined)?.n ?? 0);

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/nodes/:id/live',
    {
      config: { role: 'viewer' },
      schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 63 }) }), response: { 200: LiveOut } },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await Node.query().findById(id))) throw new HubError('HUB_ERR_NOT_FOUND', `no node ${id}`);
      const live = await NodeLive.query().findById(id);
      const now = app.now();
      const from = startOfUtcDay(now);
      return {
        node_id: id,
        online_clients: num(live?.online_clients),
        connections: num(live?.connections),
        upload_total: num(live?.upload_total),
        download_total: num(live?.download_total),
        sampled_at: iso(live?.sampled_at ?? null),
        ledger_backlog_entries: num(live?.ledger_backlog_entries),
        ledger_at: iso(live?.ledger_at ?? null),
        today: { from: new Date(from).toISOString(), ...(await usageSince(app.db, from, now, id)) },
      };
    },
  );

  app.get('/overview', { config: { role: 'viewer' }, schema: { response: { 200: OverviewOut } } }, async () => {
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
