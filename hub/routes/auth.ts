// /api/v1/auth: sign in and change one's own password (rate-limited per client IP, backing off per
// username; both counted across hub replicas when they share a Redis), who am I, and sign out.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '../rate-limit-store.js';
import { hashPassword, MIN_PASSWORD_LENGTH, passwordChangeRequired, verifyLogin } from '../admins.js';
import { adminOf } from '../auth.js';
import { Admin } from '../db/models.js';
import { HubError } from '../errors.js';
import { loginThrottle } from '../login-throttle.js';

const routes: FastifyPluginAsyncTypebox<{ attemptsPerMinute: number; ttlSeconds: number }> = async (app, opts) => {
  const throttle = loginThrottle(() => app.now(), app.redis);
  /** The admin whose password this is, backing off per username as failures repeat. */
  const signedIn = async (request: FastifyRequest, reply: FastifyReply, username: string, password: string): Promise<Admin> => {
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
    return admin;
  };
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
      const admin = await signedIn(request, reply, username, password);
      if (admin.must_change_password) throw passwordChangeRequired(admin.username);
      await Admin.query().patch({ last_login_at: Date.now() }).findById(admin.id);
      const token = await app.jwt.sign({ sub: admin.id, username: admin.username, role: admin.role, ver: admin.token_version });
      return { token, expires_at: new Date(Date.now() + opts.ttlSeconds * 1000).toISOString(), admin: admin.toPublic() };
    },
  );

  // Public like the sign-in, which it stands in for while an admin must change the password (one
  // brought over by `boxfleet import marzban`): the current password proves who is asking.
  app.post(
    '/password',
    {
      config: { role: 'public', audit: 'auth.password', rateLimit: { max: opts.attemptsPerMinute, timeWindow: 60_000 } },
      schema: {
        body: Type.Object({
          username: Type.String({ minLength: 1, maxLength: 64 }),
          password: Type.String({ minLength: 1, maxLength: 200 }),
          new_password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 200 }),
        }),
      },
    },
    async (request, reply) => {
      const { username, password, new_password } = request.body;
      const admin = await signedIn(request, reply, username, password);
      if (new_password === password) throw new HubError('HUB_ERR_BAD_REQUEST', 'body.new_password: must differ from the current password');
      const password_hash = await hashPassword(new_password);
      // The old password's sessions end with it.
      await app.db.transaction(async (trx) => {
        await app.sessions.end(trx, admin.id);
        await Admin.query(trx).patch({ password_hash, must_change_password: false }).findById(admin.id);
      });
      app.sessions.announce(admin.id);
      return reply.code(204).send();
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
