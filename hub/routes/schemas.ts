// The TypeBox pieces the hub's routes share: enums, nullable fields, times, id params and pages.
import { Type, type TProperties, type TSchema } from '@fastify/type-provider-typebox';

/** A string enum as JSON Schema `enum`, so a wrong value reads "must be one of a, b". */
export const StringEnum = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const IsoTime = Type.String({ format: 'date-time', maxLength: 64 });
export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
/** A calendar date, YYYY-MM-DD. */
export const CalendarDay = (description?: string) => Type.String({ format: 'date', maxLength: 10, ...(description ? { description } : {}) });
/** The byte counts every usage answer gives (billed: × the node's multiplier, what quotas count). */
export const UsageBytes = { upload_bytes: Type.Integer({ minimum: 0 }), download_bytes: Type.Integer({ minimum: 0 }), billed_bytes: Type.Integer({ minimum: 0 }) };

/** `?page=1&per_page=50` (at most 200). */
const PageQuery = {
  page: Type.Integer({ minimum: 1, default: 1 }),
  per_page: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
};

const PageOf = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), page: Type.Integer(), per_page: Type.Integer() });

/** The schema of a paged list: its `filters` plus `?page&per_page` in, one page of `item` out. */
export const PagedList = <F extends TProperties, T extends TSchema>(filters: F, item: T) => ({
  querystring: Type.Object({ ...filters, ...PageQuery }),
  response: { 200: PageOf(item) },
});

/** Empty POST bodies are fine for actions whose input is optional. */
export const bodyMayBeEmpty = async (request: { body: unknown }) => {
  request.body ??= {};
};
