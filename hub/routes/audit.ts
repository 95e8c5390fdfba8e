// /api/v1/audit (admin): who did what to what, when, with what input (secrets redacted) and result.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AuditEntry } from '../db/models.js';
import { likeLiteral, paged, whereGiven } from '../db/queries.js';
import { HubError } from '../errors.js';
import { IsoTime, Nullable, PagedList, StringEnum } from './schemas.js';

const AuditOut = Type.Object({
  id: Type.Integer(),
  time: IsoTime,
  admin: Type.String(),
  action: Type.String(),
  target: Type.String(),
  input: Type.Unknown(),
  result: StringEnum(['ok', 'error'] as const),
  status_code: Type.Integer(),
  error: Nullable(Type.String()),
  duration_ms: Type.Integer(),
  ip: Type.String(),
  trace_id: Nullable(Type.String()),
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      config: { role: 'admin' },
      schema: PagedList(
        {
          admin: Type.Optional(Type.String({ maxLength: 64 })),
          /** `user.create` matches that action; `user` matches every `user.*` action too. */
          action: Type.Optional(Type.String({ maxLength: 100 })),
          target: Type.Optional(Type.String({ maxLength: 200 })),
          from: Type.Optional(IsoTime),
          to: Type.Optional(IsoTime),
          result: Type.Optional(StringEnum(['ok', 'error'] as const)),
        },
        AuditOut,
      ),
    },
    async (request) => {
      const { admin, action, target, from, to, result } = request.query;
      if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to)) {
        throw new HubError('HUB_ERR_BAD_REQUEST', `querystring.from: must not be after querystring.to (${to})`);
      }
      const query = whereGiven(AuditEntry.query().orderBy('id', 'desc'), { admin, target, result });
      if (action !== undefined) {
        query.where((w) => w.where({ action }).orWhereRaw(`action LIKE ? ESCAPE '!'`, [likeLiteral(action, '', '.%')]));
      }
      if (from !== undefined) query.where('time', '>=', Date.parse(from));
      if (to !== undefined) query.where('time', '<=', Date.parse(to));
      return paged(query, request.query, (e) => e.toPublic());
    },
  );
};

export default routes;
