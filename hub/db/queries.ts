// Query helpers the hub's routes share: pages, literal LIKE patterns, row locks, unique
// violations and case-blind names, each written once so SQLite and MySQL behave alike.
import type { Knex } from 'knex';
import { UniqueViolationError, type AnyQueryBuilder, type Model, type QueryBuilder } from 'objection';

/** One page of `query` and how many rows match in all. */
export async function paged<M extends Model, R>(
  query: QueryBuilder<M, M[]>,
  { page, per_page }: { page: number; per_page: number },
  toPublic: (row: M) => R,
) {
  const { results, total } = await query.page(page - 1, per_page);
  return { items: results.map(toPublic), total: Number(total), page, per_page };
}

/** One page of a plain knex `query` (ordered by the caller) and how many rows match in all. */
export async function pagedRows<R>(query: Knex.QueryBuilder, { page, per_page }: { page: number; per_page: number }) {
  const [rows, counted] = await Promise.all([
    query.clone().limit(per_page).offset((page - 1) * per_page) as Promise<R[]>,
    query.clone().clearSelect().clearOrder().count({ n: '*' }).first() as Promise<{ n: number | string }>,
  ]);
  return { rows, total: Number(counted.n), page, per_page };
}

/** `WHERE column = value` for each filter that was given; an absent (undefined) one matches all. */
export function whereGiven<Q extends AnyQueryBuilder>(query: Q, filters: Record<string, string | number | undefined>): Q {
  for (const [column, value] of Object.entries(filters)) if (value !== undefined) query.where(column, value);
  return query;
}

/**
 * A LIKE pattern that matches `text` literally (its % and _ escaped with `!`); use it with
 * `LIKE ? ESCAPE '!'`, which SQLite and MySQL read alike.
 */
export const likeLiteral = (text: string, before = '', after = '') => `${before}${text.replace(/[!%_]/g, (c) => `!${c}`)}${after}`;

/** Whether `db` is MySQL/MariaDB (else SQLite): for the few statements the two write differently. */
export const isMysql = (db: Knex) => String(db.client.config.client).startsWith('mysql');

/** The rows of a raw SELECT: SQLite's driver answers with the rows, MySQL's with [rows, fields]. */
export async function selectRows<R>(db: Knex, sql: string, bindings: readonly Knex.Value[] = []): Promise<R[]> {
  const result = (await db.raw(sql, bindings)) as R[] | [R[], unknown];
  return isMysql(db) ? (result as [R[], unknown])[0] : (result as R[]);
}

/**
 * SELECT ... FOR UPDATE on MySQL, so that a check and the write that depends on it cannot interleave
 * with another request's; SQLite runs one write transaction at a time and needs no row locks.
 */
export function locked<Q extends AnyQueryBuilder>(db: Knex, query: Q): Q {
  return isMysql(db) ? (query.forUpdate() as Q) : query;
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
