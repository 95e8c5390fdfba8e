// /api/v1/auth: sign in (rate-limited per client IP, backing off per username; both counted across
// hub replicas when they share a Redis), who am I, and sign out.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import rateLimit from '../rate-limit-store.js';
import { verifyLogin } from '../admins.js';
import { adminOf } from '../auth.js';
import { Admin } from '../db/models.js';
import { HubError } from '../errors.js';
import { loginThrottle } from '../login-throttle.js';

const routes: FastifyPluginAsyncTypebox<{ attemptsPerMinute: number; ttlSeconds: number }> = async (app, opts) => {
  const throttle = loginThrottle(() => app.now(), app.redis);
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new HubError('HUB_ERR_RATE_LIMITED', `too many sign-in attempts; try again in ${Math.ceil(context.ttl / 1000)} s`),
  });

  app.post(
    '/login',
    {
      config: { role: 'public', audit: 'auth.login', rateLimit: { max: opts.attemptsPerMinute, timeWindow: 60_000 } },
      schema: {
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 200 }) }),
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const waitS = Math.ceil((await throttle.waitMs(username)) / 1000);
      if (waitS > 0) {
        reply.header('retry-after', String(waitS));
        throw new HubError('HUB_ERR_RATE_LIMITED', `too many failed sign-ins for this username; try again in ${waitS} s`);
      }
      const admin = await verifyLogin(username, password);
      if (!admin) {
        await throttle.failed(username);
        throw new HubError('HUB_ERR_UNAUTHORIZED', 'wrong username or password');
      }
      await throttle.succeeded(username);
      request.admin = admin;
      await Admin.query().patch({ last_login_at: Date.now() }).findById(admin.id);
      const token = await app.jwt.sign({ sub: admin.id, username: admin.username, role: admin.role, ver: admin.token_version });
      return { token, expires_at: new Date(Date.now() + opts.ttlSeconds * 1000).toISOString(), admin: admin.toPublic() };
    },
  );

  app.get('/me', { config: { role: 'viewer' } }, async (request) => adminOf(request).toPublic());

  // Ends every session of the caller (all its browsers and tokens), not only this one: a token
  // alone cannot be revoked without a list of issued tokens, and signing out is the moment to end them.
  app.post('/logout', { config: { role: 'viewer', audit: 'auth.logout' } }, async (request, reply) => {
    const admin = adminOf(request);
    await app.sessions.end(app.db, admin.id);
    app.sessions.announce(admin.id);
    return reply.code(204).send();
  });
};

export default routes;
