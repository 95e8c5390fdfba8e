// /api/v1/admins (owner only): the accounts that sign in to the hub and their roles. The fleet
// always keeps one enabled owner, so nobody can lock everyone out of this page.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Knex } from 'knex';
import { createAdmin, hashPassword, MIN_PASSWORD_LENGTH, USERNAME_PATTERN } from '../admins.js';
import { adminOf } from '../auth.js';
import { ROLES } from '../../agent-core/common/roles.js';
import { Admin } from '../db/models.js';
import { locked } from '../db/queries.js';
import { HubError } from '../errors.js';
import { IdParams, IsoTime, Nullable, StringEnum } from './schemas.js';

const Role = StringEnum(ROLES);
const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 200 });
const AdminOut = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  role: Role,
  disabled: Type.Boolean(),
  created_at: IsoTime,
  last_login_at: Nullable(IsoTime),
});

async function findAdmin(db: Knex, id: number): Promise<Admin> {
  const admin = await locked(db, Admin.query(db).findById(id));
  if (!admin) throw new HubError('HUB_ERR_NOT_FOUND', `no admin ${id}`);
  return admin;
}

/**
 * The enabled owners, locked before anything else a change to admins touches: two changes then
 * take their locks in the same order and run one after the other instead of deadlocking.
 */
const lockOwners = (db: Knex) => locked(db, Admin.query(db).where({ role: 'owner', disabled: false }).select('id'));

/** Refuses a change that would leave no enabled owner. */
function keepAnOwner(owners: readonly Admin[], admin: Admin, doing: string): void {
  if (owners.some((o) => o.id === admin.id) && owners.length <= 1) {
    throw new HubError('HUB_ERR_CONFLICT', `cannot ${doing} ${admin.username}: it is the last enabled owner; make another admin owner first`);
  }
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { role: 'owner' }, schema: { response: { 200: Type.Object({ items: Type.Array(AdminOut) }) } } }, async () => ({
    items: (await Admin.query().orderBy('id')).map((a) => a.toPublic()),
  }));

  app.post(
    '/',
    {
      config: { role: 'owner', audit: 'admin.create' },
      schema: {
        body: Type.Object({ username: Type.String({ maxLength: 64, pattern: USERNAME_PATTERN }), password: Password, role: Role }),
        response: { 201: AdminOut },
      },
    },
    async (request, reply) => {
      request.auditTarget = `admin:${request.body.username}`;
      const admin = await createAdmin(request.body.username, request.body.password, request.body.role);
      reply.code(201);
      return admin.toPublic();
    },
  );

  app.patch(
    '/:id',
    {
      config: { role: 'owner', audit: 'admin.update' },
      schema: {
        params: IdParams,
        body: Type.Object(
          { role: Type.Optional(Role), disabled: Type.Optional(Type.Boolean()), password: Type.Optional(Password) },
          { minProperties: 1 },
        ),
        response: { 200: AdminOut },
      },
    },
    async (request) => {
      const { role, disabled, password } = request.body;
      // Hashing is slow: do it before taking any row lock.
      const password_hash = password === undefined ? undefined : await hashPassword(password);
      const updated = await app.db.transaction(async (trx) => {
        const owners = await lockOwners(trx);
        const admin = await findAdmin(trx, request.params.id);
        request.auditTarget = `admin:${admin.username}`;
        if (role !== undefined && role !== 'owner') keepAnOwner(owners, admin, 'demote');
        if (disabled === true) keepAnOwner(owners, admin, 'disable');
        const patch = Object.fromEntries(Object.entries({ role, disabled, password_hash }).filter(([, v]) => v !== undefined));
        // A new password, role or state ends the sessions signed in before it.
        await app.sessions.end(trx, admin.id);
        return Admin.query(trx).patchAndFetchById(admin.id, patch);
      });
      app.sessions.announce(updated.id);
      return updated.toPublic();
    },
  );

  app.delete('/:id', { config: { role: 'owner', audit: 'admin.delete' }, schema: { params: IdParams } }, async (request, reply) => {
    const id = await app.db.transaction(async (trx) => {
      const owners = await lockOwners(trx);
      const admin = await findAdmin(trx, request.params.id);
      request.auditTarget = `admin:${admin.username}`;
      if (admin.id === adminOf(request).id) throw new HubError('HUB_ERR_CONFLICT', 'you cannot delete your own account; another owner can');
      keepAnOwner(owners, admin, 'delete');
      await Admin.query(trx).deleteById(admin.id);
      return admin.id;
    });
    app.sessions.announce(id);
    return reply.code(204).send();
  });
};

export default routes;
