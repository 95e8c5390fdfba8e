// GET /api/v1/users/:id/usage: one user's traffic per day or per node over a range of days
// (hub/user-usage.ts), for the dashboard's user page. A file of its own beside routes/users.ts,
// because it needs the reset time zone, which the user routes do not.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { User } from '../db/models.js';
import { HubError } from '../errors.js';
import { dayRange, MAX_USAGE_DAYS, userUsage } from '../user-usage.js';
import { CalendarDay, IdParams, StringEnum, UsageBytes } from './schemas.js';

export interface UserUsageRoutesOptions {
  /** reset_timezone: whose calendar days the usage is summed by. */
  timeZone: string;
}

const DEFAULT_DAYS = 30;

const Day = (description = 'A calendar date (YYYY-MM-DD) in reset_timezone.') => CalendarDay(description);

const UserUsageOut = Type.Object({
  user_id: Type.Integer(),
  from: Day(),
  to: Day(),
  time_zone: Type.String({ description: 'The IANA time zone of the days (reset_timezone).' }),
  by: StringEnum(['day', 'node'] as const),
  buckets: Type.Array(
    Type.Union([
      Type.Object({ day: Day(), ...UsageBytes }),
      Type.Object({ node_id: Type.String(), node_name: Type.String(), ...UsageBytes }),
    ]),
    { description: 'by=day: every day of the range, oldest first, zero when unused. by=node: each node used in the range, most billed first.' },
  ),
  totals: Type.Object(UsageBytes),
});

const routes: FastifyPluginAsyncTypebox<UserUsageRoutesOptions> = async (app, opts) => {
  app.get(
    '/:id/usage',
    {
      config: { role: 'viewer' },
      schema: {
        description:
          `One user's traffic per calendar day (in reset_timezone; an hour counts in the day it starts in) or per node, over the days from \`from\` to \`to\` (inclusive, at most ${MAX_USAGE_DAYS}). ` +
          'Exact at once: it includes the usage the usage-rollup job has not folded in yet.',
        params: IdParams,
        querystring: Type.Object({
          from: Type.Optional(Day(`The first day (YYYY-MM-DD, in reset_timezone). Default: ${DEFAULT_DAYS - 1} days before \`to\`.`)),
          to: Type.Optional(Day('The last day (YYYY-MM-DD, in reset_timezone). Default: today.')),
          by: Type.Optional(StringEnum(['day', 'node'] as const, { default: 'day' })),
        }),
        response: { 200: UserUsageOut },
      },
    },
    async (request) => {
      const { id } = request.params;
      const by = request.query.by ?? 'day';
      const range = dayRange(request.query, app.now(), opts.timeZone, DEFAULT_DAYS);
      if (!(await User.query(app.db).findById(id))) throw new HubError('HUB_ERR_NOT_FOUND', `no user ${id}`);
      const usage = await userUsage(app.db, id, range, opts.timeZone);
      const buckets = by === 'day' ? usage.days : usage.nodes.map(({ node_id, name, ...bytes }) => ({ node_id, node_name: name, ...bytes }));
      return { user_id: id, ...range, time_zone: opts.timeZone, by, buckets, totals: usage.totals };
    },
  );
};

export default routes;
