// /api/v1/log-level (admin): the hub's log level, read and changed at run time without a restart
// (production info, debugging debug). A change is audited; it lasts until the hub restarts, which
// starts again at the log_level setting. SIGUSR2 does the same from the shell (hub/server.ts).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LOG_LEVELS, type AppLogger } from '../../agent-core/common/logger.js';
import { StringEnum } from './schemas.js';

const Level = StringEnum(LOG_LEVELS);
const LevelOut = Type.Object({ level: Level });

const routes: FastifyPluginAsyncTypebox<{ logger: AppLogger }> = async (app, { logger }) => {
  app.get(
    '/',
    { config: { role: 'admin' }, schema: { summary: "The hub's log level now", response: { 200: LevelOut } } },
    async () => ({ level: logger.level as (typeof LOG_LEVELS)[number] }),
  );

  app.put(
    '/',
    {
      config: { role: 'admin', audit: 'log-level.set' },
      schema: {
        summary: "Sets the hub's log level without a restart (audited; until the hub restarts, then log_level applies)",
        body: LevelOut,
        response: { 200: Type.Object({ level: Level, previous: Level }) },
      },
    },
    async (request) => {
      const previous = logger.level as (typeof LOG_LEVELS)[number];
      request.auditTarget = 'hub';
      logger.level = request.body.level;
      logger.warn('log level changed', { new_level: request.body.level, previous_level: previous, admin: request.admin?.username });
      return { level: request.body.level, previous };
    },
  );
};

export default routes;
