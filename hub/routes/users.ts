// /api/v1/users: the proxy customers. Each gets its per-protocol credentials and a secret
// subscription token at creation; the secrets are only shown by GET /:id/credentials, which is
// audited. Changes that alter who belongs on a node raise those nodes' revisions. /export and
// /import move users in bulk (hub/users-io.ts).
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { may } from '../../agent-core/common/roles.js';
import { adminOf } from '../auth.js';
import { Subscription, User } from '../db/models.js';
import { isUniqueViolation, locked, whereNameIs } from '../db/queries.js';
import { HubError } from '../errors.js';
import { touchNodes } from '../fleet.js';
import { assignPlan } from '../subscription-changes.js';
import { deleteUser, setUserStatus } from '../user-changes.js';
import { governing, newCredentials, newSubToken, USER_NAME_PATTERN, USER_STATUSES } from '../users.js';
import { sortValues } from '../sort.js';
import { TABLE_SORTS, TABLE_STATUSES, usersTablePage } from '../users-table.js';
import { asCsvError, usersFromCsv, usersToCsv } from '../users-io-csv.js';
import {
  exportUsers,
  IMPORT_MODES,
  importUsers,
  MAX_IMPORT_BYTES,
  MAX_IMPORT_ROWS,
  MAX_LISTED_ERRORS,
  ON_CONFLICT,
  UserRow,
  type ReadRow,
} from '../users-io.js';
import { bodyMayBeEmpty, IdParams, IsoTime, Nullable, PagedList, StringEnum } from './schemas.js';
import { SubscriptionOut } from './subscriptions.js';

const UserOut = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  note: Type.String(),
  status: StringEnum(USER_STATUSES),
  created_at: IsoTime,
});
/** A row of the users table: the user and what the subscription governing them says. */
const UserRowOut = Type.Object({
  ...UserOut.properties,
  table_status: StringEnum(TABLE_STATUSES, { description: 'disabled (the user), else from the governing subscription; no_plan without one' }),
  plan: Nullable(Type.Object({ id: Type.Integer(), name: Type.String() })),
  traffic_used_bytes: Nullable(Type.Integer()),
  traffic_total_bytes: Nullable(Type.Integer({ description: '0: the plan has no limit' })),
  usage_percent: Nullable(Type.Number({ description: 'used / total × 100, two decimals; null without a plan or a limit' })),
  expires_at: Nullable(IsoTime),
  /** The start of the newest hour with traffic in usage_hourly (rolled-up usage; may lag one roll-up). */
  last_traffic_at: Nullable(IsoTime),
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

/** The subscription that governs the user now (`governing`); null if none. */
async function currentSubscription(userId: number): Promise<Subscription | null> {
  return governing(await Subscription.query().where({ user_id: userId }).whereNot('status', 'cancelled').orderBy('id', 'desc'));
}

const FORMATS = ['csv', 'json'] as const;
const Format = StringEnum(FORMATS, { default: 'json', description: 'csv: a header line, then one user per line (README, "Importing and exporting users")' });
const UsersFile = Type.Object({ users: Type.Array(UserRow) });
const RowErrorOut = Type.Object({
  row: Type.Integer({ description: '1 is the first user (in CSV, the line after the header)' }),
  field: Type.String({ description: 'the field (JSON, dotted) or column (CSV); empty for the whole row' }),
  message: Type.String(),
});
const ReportFields = {
  rows: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  skipped: Type.Integer(),
  failed: Type.Integer({ description: 'rows with an error: not imported' }),
  errors: Type.Array(RowErrorOut, { description: `the first ${MAX_LISTED_ERRORS} row errors, in row order` }),
};

function refuseOverRowLimit(rows: number): void {
  if (rows > MAX_IMPORT_ROWS) throw new HubError('HUB_ERR_TOO_LARGE', `${rows} users; one import takes at most ${MAX_IMPORT_ROWS}: split the file`);
}

/** The rows of an import body in `format`. */
function readRows(format: (typeof FORMATS)[number], body: unknown): ReadRow[] {
  const wrongType = (needed: string) => new HubError('HUB_ERR_BAD_REQUEST', `format=${format} needs a body of Content-Type ${needed}`);
  if (format === 'json') {
    if (typeof body !== 'object' || body === null) throw wrongType('application/json');
    return (body as { users: unknown[] }).users.map((value) => ({ value }));
  }
  if (typeof body !== 'string') throw wrongType('text/csv');
  const rows = usersFromCsv(body);
  refuseOverRowLimit(rows.length);
  return rows;
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  // Import files; this plugin's routes only.
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.get(
    '/export',
    {
      // Hands out every user's credentials to admins, so it is audited like a change.
      config: { role: 'viewer', audit: 'user.export' },
      schema: {
        description: 'Every user with status, note, governing subscription and, for admins and owners only, credentials (the columns are absent below admin).',
        querystring: Type.Object({ format: Type.Optional(Format) }),
        response: {
          200: {
            description: 'A file to download (Content-Disposition: attachment)',
            content: { 'application/json': { schema: UsersFile }, 'text/csv': { schema: Type.String() } },
          },
        },
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'json';
      // Fail closed: only the roles named here see credentials.
      const credentials = may(adminOf(request).role, 'admin');
      const users = await exportUsers(app.db, { credentials });
      request.auditTarget = 'users';
      request.auditInput = { format, credentials, users: users.length };
      const day = new Date(app.now()).toISOString().slice(0, 10);
      reply.header('content-disposition', `attachment; filename="boxfleet-users-${day}.${format}"`).header('cache-control', 'no-store');
      if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(usersToCsv(users, { credentials }));
      return reply.type('application/json; charset=utf-8').send({ users });
    },
  );

  app.post(
    '/import',
    {
      config: { role: 'operator', audit: 'user.import' },
      bodyLimit: MAX_IMPORT_BYTES,
      preParsing: async (request) => {
        // Until the counts are known, the log keeps the options only: never a file of credentials.
        request.auditInput = { query: request.query };
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > MAX_IMPORT_BYTES) {
          throw new HubError('HUB_ERR_TOO_LARGE', `the file is ${length} bytes; one import takes at most ${MAX_IMPORT_BYTES} (${MAX_IMPORT_ROWS} users): split it`);
        }
      },
      // Before the schema's maxItems, so too many users is a 413 in JSON as in CSV.
      preValidation: async (request) => {
        const users = (request.body as { users?: unknown } | undefined)?.users;
        if (Array.isArray(users)) refuseOverRowLimit(users.length);
      },
      schema: {
        description:
          'Creates users from rows as GET /export writes them. all_or_nothing (the default) imports nothing if any row has an error (400 with the errors); best_effort imports the good rows and lists the rest. A name that is already a user\'s is an error unless on_conflict is skip or update.',
        querystring: Type.Object({
          format: Type.Optional(Format),
          mode: Type.Optional(StringEnum(IMPORT_MODES, { default: 'all_or_nothing' })),
          on_conflict: Type.Optional(StringEnum(ON_CONFLICT, { default: 'error', description: 'update: the given fields replace the user\'s; empty ones keep theirs' })),
        }),
        body: {
          content: {
            'application/json': {
              schema: Type.Object({
                users: Type.Array(Type.Unknown({ description: 'a user as GET /export writes it; each is checked on its own' }), { maxItems: MAX_IMPORT_ROWS }),
              }),
            },
            'text/csv': { schema: Type.String() },
          },
        },
        response: {
          200: Type.Object(ReportFields),
          400: Type.Object({
            statusCode: Type.Integer(),
            code: Type.String(),
            message: Type.String(),
            ...Object.fromEntries(Object.entries(ReportFields).map(([k, v]) => [k, Type.Optional(v)])),
          }),
        },
      },
    },
    async (request, reply) => {
      const { format = 'json', mode = 'all_or_nothing', on_conflict: onConflict = 'error' } = request.query;
      request.auditTarget = 'users';
      const rows = readRows(format, request.body);
      const { refused, ...report } = await importUsers(app.db, rows, { mode, onConflict, textual: format === 'csv', now: app.now() }).catch((error) => {
        // MySQL: a user created meanwhile took a name or token of the file.
        if (isUniqueViolation(error)) throw new HubError('HUB_ERR_CONFLICT', 'a user with a name or sub_token of this file was created meanwhile; import again');
        throw error;
      });
      const { errors, ...counts } = report;
      request.auditInput = { format, mode, on_conflict: onConflict, ...counts };
      const shown = { ...report, errors: format === 'csv' ? errors.map(asCsvError) : errors };
      if (!refused) return shown;
      const message = `${report.failed} of ${report.rows} users have errors; nothing was imported (mode all_or_nothing)`;
      request.auditError = message;
      return reply.code(400).send({ statusCode: 400, code: 'HUB_ERR_BAD_REQUEST', message, ...shown });
    },
  );

  app.get(
    '/',
    {
      config: { role: 'viewer' },
      schema: {
        description:
          'The users table: each user with the status the table shows, the plan and traffic of the subscription governing them, expiry and last traffic, sorted, filtered and paged on the server (README, "The users table").',
        ...PagedList(
          {
            /** Part of the name or the note, taken literally. */
            q: Type.Optional(Type.String({ maxLength: 200 })),
            status: Type.Optional(StringEnum(TABLE_STATUSES, { description: 'the derived table_status, not the user\'s own status' })),
            plan_id: Type.Optional(Type.Integer({ minimum: 1, description: 'the plan of the governing subscription' })),
            sort: Type.Optional(
              StringEnum(sortValues(TABLE_SORTS), { description: 'a column, descending with a leading "-"; rows without a value come last; ties and the default go by id' }),
            ),
          },
          UserRowOut,
        ),
      },
    },
    async (request) => {
      const { q, status, plan_id, sort, page, per_page } = request.query;
      return usersTablePage(app.db, { q, status, plan_id }, sort, { page, per_page });
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
          plan: Type.Optional(
            Type.Object(
              {
                id: Type.Integer({ minimum: 1 }),
                start_time: Type.Optional(IsoTime),
              },
              { additionalProperties: false, description: 'a plan to assign at once, as POST /api/v1/subscriptions does; its period counts from start_time (default now)' },
            ),
          ),
        }),
        response: { 201: UserDetailOut },
      },
    },
    async (request, reply) => {
      const { name, note = '', plan } = request.body;
      request.auditTarget = `user:${name}`;
      let created: { user: User; subscription: Subscription | null };
      try {
        // One transaction, so on SQLite no other create runs between the check and the insert, and a
        // plan that cannot be assigned leaves no user behind.
        created = await app.db.transaction(async (trx) => {
          const taken = User.query(trx).first();
          whereNameIs(taken, 'name', name);
          if (await taken) throw new HubError('HUB_ERR_CONFLICT', `user ${name} already exists (names are compared without case)`);
          const user = await User.query(trx).insertAndFetch({ name, note, status: 'active', ...newCredentials() });
          if (!plan) return { user, subscription: null };
          const assigned = await assignPlan(trx, user, plan.id, plan.start_time === undefined ? app.now() : Date.parse(plan.start_time));
          await touchNodes(trx, assigned.nodeTags);
          return { user, subscription: assigned.subscription };
        });
      } catch (error) {
        // MySQL: a concurrent create of the same name (in any case, by its collation) won.
        if (isUniqueViolation(error)) throw new HubError('HUB_ERR_CONFLICT', `user ${name} already exists`);
        throw error;
      }
      reply.code(201);
      return { ...created.user.toPublic(), subscription: created.subscription?.toPublic() ?? null };
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
        const { note, status } = request.body;
        if (note !== undefined) await User.query(trx).patch({ note }).findById(user.id);
        if (status) await touchNodes(trx, (await setUserStatus(trx, user, status)).nodeTags);
        return (await findUser(trx, user.id)).toPublic();
      }),
  );

  app.delete(
    '/:id',
    { config: { role: 'operator', audit: 'user.delete' }, schema: { params: IdParams } },
    async (request, reply) => {
      await app.db.transaction(async (trx) => {
        const user = await findUser(trx, request.params.id, true);
        request.auditTarget = `user:${user.name}`;
        await touchNodes(trx, (await deleteUser(trx, user)).nodeTags);
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
