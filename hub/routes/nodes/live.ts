// GET /api/v1/nodes/:id/live (viewer): a node's latest Clash API figures and ledger backlog as the
// hub's `live` job gathered them (hub/jobs/live.ts; the browser never talks to nodes), plus its traffic
// today (hub/usage-today.ts).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NodeLive } from '../../db/models.js';
import { startOfUtcDay, usageSince } from '../../usage-today.js';
import { IsoTime, Nullable } from '../schemas.js';
import { findNode, NodeParams } from './node.js';

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

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/:id/live',
    {
      config: { role: 'viewer' },
      schema: { params: NodeParams, response: { 200: LiveOut } },
    },
    async (request) => {
      const { id } = request.params;
      await findNode(id);
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
};

export default routes;
