// /api/v1/usage: hourly traffic per user per node (raw up/down and billed), for charts and disputes.
// These rows are what the usage-rollup job has folded in (hub/billing/usage-pending.ts), so the
// most recent minutes may be missing; reading the pending detail here would mean parsing every
// node's packed rows per request. /daily sums both tables, which is cheap, and is exact.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { usageNodeIds } from '../billing/usage-rows.js';
import { UsageHourly } from '../db/models.js';
import { whereGiven } from '../db/queries.js';
import { HubError } from '../errors.js';
import { calendarDays, dayAt, shiftDay, sumByDay } from '../usage-days.js';
import { addBytes, noBytes, usageByHour } from '../usage-today.js';
import { CalendarDay, IsoTime, UsageBytes } from './schemas.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** A year of hours per node and user is the most one answer holds. */
const MAX_RANGE_DAYS = 366;

const UsageOut = Type.Object({
  from: IsoTime,
  to: IsoTime,
  rows: Type.Array(Type.Object({ hour: IsoTime, node_id: Type.String(), user_id: Type.Integer(), ...UsageBytes })),
  totals: Type.Object(UsageBytes),
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      config: { role: 'viewer' },
      schema: {
        description:
          'Usage per hour, node and user. Rows are updated by the usage-rollup job, so they lag the billing by up to `usage_rollup_interval_s` (default 600 s); ' +
          "subscriptions' traffic_used_bytes, the nodes' totals, `/usage/daily` and today's traffic in the overview and node view are exact at once.",
        querystring: Type.Object({
          user_id: Type.Optional(Type.Integer({ minimum: 1 })),
          node_id: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
          /** Default: 24 hours before `to`. */
          from: Type.Optional(IsoTime),
          /** Default: now. */
          to: Type.Optional(IsoTime),
        }),
        response: { 200: UsageOut },
      },
    },
    async (request) => {
      const { user_id, node_id } = request.query;
      if (user_id === undefined && node_id === undefined) {
        throw new HubError('HUB_ERR_BAD_REQUEST', 'querystring.user_id: give user_id or node_id (or both)');
      }
      const to = request.query.to === undefined ? app.now() : Date.parse(request.query.to);
      const from = request.query.from === undefined ? to - DAY_MS : Date.parse(request.query.from);
      if (from > to) throw new HubError('HUB_ERR_BAD_REQUEST', `querystring.from: must not be after querystring.to (${request.query.to ?? 'now'})`);
      if (to - from > MAX_RANGE_DAYS * DAY_MS) {
        throw new HubError('HUB_ERR_BAD_REQUEST', `querystring.from: the range may span at most ${MAX_RANGE_DAYS} days`);
      }
      // Every hour that overlaps [from, to]: the one `from` falls in, up to the one `to` falls in.
      const query = whereGiven(
        UsageHourly.query()
          .where('hour', '>', from - HOUR_MS)
          .andWhere('hour', '<=', to)
          .orderBy([{ column: 'hour' }, { column: 'node_id' }, { column: 'user_id' }]),
        { user_id, node_id },
      );
      // One user's rows on every node: through the primary key, one node at a time (billing/usage-rows.ts).
      if (node_id === undefined) query.whereIn('node_id', await usageNodeIds(app.db));
      const rows = (await query).map((r) => ({
        hour: new Date(Number(r.hour)).toISOString(),
        node_id: r.node_id,
        user_id: r.user_id,
        upload_bytes: Number(r.upload_bytes),
        download_bytes: Number(r.download_bytes),
        billed_bytes: Number(r.billed_bytes),
      }));
      const totals = noBytes();
      for (const r of rows) addBytes(totals, r);
      return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), rows, totals };
    },
  );

  // The fleet's traffic per UTC day, every node and user summed: the overview's chart.
  app.get(
    '/daily',
    {
      config: { role: 'viewer' },
      schema: {
        description: "The fleet's traffic per UTC day, every node and user summed; exact at once (it includes the usage not rolled up yet).",
        querystring: Type.Object({ days: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RANGE_DAYS, default: 7 })) }),
        response: { 200: Type.Array(Type.Object({ day: CalendarDay(), ...UsageBytes })) },
      },
    },
    async (request) => {
      const today = dayAt(app.now(), 'UTC');
      const { days, end } = calendarDays(shiftDay(today, -((request.query.days ?? 7) - 1)), today, 'UTC');
      return sumByDay(days, end, await usageByHour(app.db, days[0]!.start, Number.MAX_SAFE_INTEGER));
    },
  );
};

export default routes;
