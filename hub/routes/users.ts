// /api/v1/users: the proxy customers. Each gets its per-protocol credentials and a secret
// subscription token at creation; the secrets are only shown by GET /:id/credentials, which is
// audited. Changes that alter who belongs on a node raise those nodes' revisions.
import { randomBytes, randomUUID } from 'node:crypto';
import { Type, type FastifyPluginAsyncTypebox, type TSchema } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { UniqueViolationError, type AnyQueryBuilder, type Model, type QueryBuilder } from 'objection';
import { Subscription, User } from '../db/models.js';
import { HubError } from '../errors.js';
import { tagsOfSubscriptions, touchNodes } from '../fleet.js';

// ---- Shared by the hub's list and write routes (admins, plans, subscriptions, usage, audit) ----

/** A string enum as JSON Schema `enum`, so a wrong value reads "must be one of a, b". */
export const StringEnum = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const IsoTime = Type.String({ format: 'date-time', maxLength: 64 });
export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

/** `?page=1&per_page=50` (at most 200). */
export const PageQuery = {
  page: Type.Integer({ minimum: 1, default: 1 }),
  per_page: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
};

export const PageOf = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), page: Type.Integer(), per_page: Type.Integer() });

/** One page of `query` and how many rows match in all. */
export async function paged<M extends Model, R>(
  query: QueryBuilder<M, M[]>,
  { page, per_page }: { page: number; per_page: number },
  toPublic: (row: M) => R,
) {
  const { results, total } = await query.page(page - 1, per_page);
  return { items: results.map(toPublic), total: Number(total), page, per_page };
}

/**
 * A LIKE pattern that matches `text` literally (its % and _ escaped with `!`); use it with
 * `LIKE ? ESCAPE '!'`, which SQLite and MySQL read alike.
 */
export const likeLiteral = (text: string, before = '', after = '') => `${before}${text.replace(/[!%_]/g, (c) => `!${c}`)}${after}`;

/**
 * SELECT ... FOR UPDATE on MySQL, so that a check and the write that depends on it cannot interleave
 * with another request's; SQLite runs one write transaction at a time and needs no row locks.
 */
export function locked<Q extends AnyQueryBuilder>(db: Knex, query: Q): Q {
  return db.client.config.client === 'better-sqlite3' ? query : (query.forUpdate() as Q);
}

/** True for a UNIQUE constraint violation on either database (a concurrent insert won). */
export function isUniqueViolation(error: unknown): boolean {
  if (error instanceof UniqueViolationError) return true;
  const code = (error as { code?: string }).code ?? '';
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * Names are compared without regard to case on both databases (MySQL's collation would, SQLite
 * would not), so `Alice` and `alice` cannot both exist on either.
 */
export function whereNameIs(query: AnyQueryBuilder, column: string, name: string): void {
  query.whereRaw('LOWER(??) = ?', [column, name.toLowerCase()]);
}

/** Empty POST bodies are fine for actions whose input is optional. */
export const bodyMayBeEmpty = async (request: { body: unknown }) => {
  request.body ??= {};
};

// ---- Users ----

export const USER_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$';
const USER_STATUSES = ['active', 'disabled'] as const;

/** Fresh secrets for every protocol the nodes may serve, plus the subscription token. */
export function newCredentials() {
  return {
    uuid: randomUUID(),
    password: randomBytes(18).toString('base64url'),
    // 32 bytes: the key length of 2022-blake3-aes-256-gcm / chacha20-poly1305.
    ss_key: randomBytes(32).toString('base64'),
    sub_token: newSubToken(),
  };
}
const newSubToken = () => randomBytes(32).toString('base64url');

export const SubscriptionOut = Type.Object({
  id: Type.Integer(),
  user_id: Type.Integer(),
  plan_id: Type.Integer(),
  start_time: IsoTime,
  end_time: IsoTime,
  traffic_used_bytes: Type.Integer(),
  traffic_total_bytes: Type.Integer(),
  status: StringEnum(['active', 'expired', 'suspended', 'cancelled'] as const),
  suspended_reason: Nullable(StringEnum(['quota', 'admin'] as const)),
});

const UserOut = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  note: Type.String(),
  status: StringEnum(USER_STATUSES),
  created_at: IsoTime,
});
const UserDetailOut = Type.Object({
  ...UserOut.properties,
  subscription: Nullable(SubscriptionOut),
});
/** The user's links as the hub gives them out: at public_url, else at the address this request came to. */
const UserLinksOut = Type.Object({ subscription_url: Type.String(), portal_url: Type.String() });
const userLinks = (request: FastifyRequest, token: string) => ({
  subscription_url: `${request.publicUrl}/sub/${token}`,
  portal_url: `${request.publicUrl}/portal/${token}`,
});

const CredentialsOut = Type.Object({
  uuid: Type.String(),
  password: Type.String(),
  ss_key: Type.String(),
  sub_token: Type.String(),
  /** Where the user's client fetches its nodes (relative to the hub's public URL). */
  subscription_path: Type.String(),
  ...UserLinksOut.properties,
});

async function findUser(db: Knex, id: number, lock = false): Promise<User> {
  const query = User.query(db).findById(id);
  const user = await (lock ? locked(db, query) : query);
  if (!user) throw new HubError('HUB_ERR_NOT_FOUND', `no user ${id}`);
  return user;
}

/**
 * The subscription that governs the user now: the active or suspended one if there is one (there
 * is at most one), else the newest that is not cancelled; null if none.
 */
async function currentSubscription(userId: number): Promise<Subscription | null> {
  const subscriptions = await Subscription.query().where({ user_id: userId }).whereNot('status', 'cancelled').orderBy('id', 'desc');
  return subscriptions.find((s) => s.status === 'active' || s.status === 'suspended') ?? subscriptions[0] ?? null;
}

/** Raises the revision of every node that any of the user's subscriptions reaches. */
async function touchNodesOfUser(db: Knex, userId: number): Promise<void> {
  const ids = (await Subscription.query(db).where({ user_id: userId }).select('id')).map((s) => s.id);
  await touchNodes(db, await tagsOfSubscriptions(db, ids));
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      config: { role: 'viewer' },
      schema: {
        querystring: Type.Object({
          /** Part of the name or the note, taken literally. */
          q: Type.Optional(Type.String({ maxLength: 200 })),
          status: Type.Optional(StringEnum(USER_STATUSES)),
          ...PageQuery,
        }),
        response: { 200: PageOf(UserOut) },
      },
    },
    async (request) => {
      const { q, status } = request.query;
      const query = User.query().orderBy('id');
      if (q) {
        const pattern = likeLiteral(q, '%', '%');
        query.where((w) => w.whereRaw(`name LIKE ? ESCAPE '!'`, [pattern]).orWhereRaw(`note LIKE ? ESCAPE '!'`, [pattern]));
      }
      if (status) query.where({ status });
      return paged(query, request.query, (u) => u.toPublic());
    },
  );

  app.get(
    '/:id',
    { config: { role: 'viewer' }, schema: { params: IdParams, response: { 200: UserDetailOut } } },
    async (request) => {
      const user = await findUser(app.db, request.params.id);
      const subscription = await currentSubscription(user.id);
      return { ...user.toPublic(), subscription: subscription?.toPublic() ?? null };
    },
  );

  app.post(
    '/',
    {
      config: { role: 'operator', audit: 'user.create' },
      schema: {
        body: Type.Object({
          name: Type.String({ maxLength: 64, pattern: USER_NAME_PATTERN }),
          note: Type.Optional(Type.String({ maxLength: 500 })),
        }),
        response: { 201: UserOut },
      },
    },
    async (request, reply) => {
      const { name, note = '' } = request.body;
      request.auditTarget = `user:${name}`;
      let user: User;
      try {
        // One transaction, so on SQLite no other create runs between the check and the insert.
        user = await app.db.transaction(async (trx) => {
          const taken = User.query(trx).first();
          whereNameIs(taken, 'name', name);
          if (await taken) throw new HubError('HUB_ERR_CONFLICT', `user ${name} already exists (names are compared without case)`);
          return User.query(trx).insertAndFetch({ name, note, status: 'active', ...newCredentials() });
        });
      } catch (error) {
        // MySQL: a concurrent create of the same name (in any case, by its collation) won.
        if (isUniqueViolation(error)) throw new HubError('HUB_ERR_CONFLICT', `user ${name} already exists`);
        throw error;
      }
      reply.code(201);
      return user.toPublic();
    },
  );

  app.patch(
    '/:id',
    {
      config: { role: 'operator', audit: 'user.update' },
      schema: {
        params: IdParams,
        // The name is what sing-box knows the user by, so it cannot change.
        body: Type.Object(
          { note: Type.Optional(Type.String({ maxLength: 500 })), status: Type.Optional(StringEnum(USER_STATUSES)) },
          { minProperties: 1 },
        ),
        response: { 200: UserOut },
      },
    },
    async (request) =>
      app.db.transaction(async (trx) => {
        const user = await findUser(trx, request.params.id, true);
        request.auditTarget = `user:${user.name}`;
        const updated = await User.query(trx).patchAndFetchById(user.id, request.body);
        // A disabled user must leave every node; an enabled one comes back.
        if (request.body.status && request.body.status !== user.status) await touchNodesOfUser(trx, user.id);
        return updated.toPublic();
      }),
  );

  app.delete(
    '/:id',
    { config: { role: 'operator', audit: 'user.delete' }, schema: { params: IdParams } },
    async (request, reply) => {
      await app.db.transaction(async (trx) => {
        const user = await findUser(trx, request.params.id, true);
        request.auditTarget = `user:${user.name}`;
        // Before the delete, whose cascade removes the subscriptions that say where the user was.
        await touchNodesOfUser(trx, user.id);
        await User.query(trx).deleteById(user.id);
      });
      return reply.code(204).send();
    },
  );

  app.get(
    '/:id/credentials',
    // A read that hands out secrets, so it is audited like a change.
    { config: { role: 'operator', audit: 'user.credentials', showsSecrets: true }, schema: { params: IdParams, response: { 200: CredentialsOut } } },
    async (request) => {
      const user = await findUser(app.db, request.params.id);
      request.auditTarget = `user:${user.name}`;
      const { uuid, password, ss_key, sub_token } = user;
      return { uuid, password, ss_key, sub_token, subscription_path: `/sub/${sub_token}`, ...userLinks(request, sub_token) };
    },
  );

  app.post(
    '/:id/token/rotate',
    {
      config: { role: 'operator', audit: 'user.token.rotate', showsSecrets: true },
      preValidation: bodyMayBeEmpty,
      schema: {
        params: IdParams,
        body: Type.Object({}),
        response: { 200: Type.Object({ sub_token: Type.String(), subscription_path: Type.String(), ...UserLinksOut.properties }) },
      },
    },
    async (request) => {
      const user = await findUser(app.db, request.params.id);
      request.auditTarget = `user:${user.name}`;
      // The old token stops working at once: whoever leaked it loses the user's node list.
      const sub_token = newSubToken();
      await User.query().patch({ sub_token }).findById(user.id);
      return { sub_token, subscription_path: `/sub/${sub_token}`, ...userLinks(request, sub_token) };
    },
  );
};

export default routes;
