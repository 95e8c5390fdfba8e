// The users table's state — search, filters, sort, page and page size — as the query of its address
// (`#/users/7?status=expired&sort=-expires_at&page=2`), so a view can be bookmarked, shared and
// gone back to. Defaults are left out, so the plain screen's address stays `#/users`.
import { TABLE_SORTS, TABLE_STATUSES, type TableSort, type TableStatus, type UsersFilter } from '../data/users.js';

export const PAGE_SIZES = [20, 50, 100] as const;
const DEFAULT_PAGE_SIZE = PAGE_SIZES[0];

export interface TableState extends UsersFilter {
  sort?: TableSort | `-${TableSort}`;
  page: number;
  per_page: number;
}

const isSort = (value: string): value is TableSort | `-${TableSort}` => (TABLE_SORTS as readonly string[]).includes(value.replace(/^-/, ''));
const isStatus = (value: string): value is TableStatus => (TABLE_STATUSES as readonly string[]).includes(value);
const positive = (value: string | null) => (value && /^[1-9]\d{0,8}$/.test(value) ? Number(value) : undefined);

/** The state a hash names; anything unknown or malformed falls back to its default. */
export function readTableState(hash: string): TableState {
  const params = new URLSearchParams(hash.split('?')[1] ?? '');
  const status = params.get('status') ?? '';
  const sort = params.get('sort') ?? '';
  const perPage = positive(params.get('per_page'));
  return {
    q: params.get('q')?.trim() || undefined,
    status: isStatus(status) ? status : undefined,
    plan_id: positive(params.get('plan')),
    sort: isSort(sort) ? sort : undefined,
    page: positive(params.get('page')) ?? 1,
    per_page: perPage && (PAGE_SIZES as readonly number[]).includes(perPage) ? perPage : DEFAULT_PAGE_SIZE,
  };
}

/** `?q=…&status=…` for `state`, or '' when everything is the default. */
export function tableQuery(state: TableState): string {
  const params = new URLSearchParams();
  if (state.q) params.set('q', state.q);
  if (state.status) params.set('status', state.status);
  if (state.plan_id) params.set('plan', String(state.plan_id));
  if (state.sort) params.set('sort', state.sort);
  if (state.page > 1) params.set('page', String(state.page));
  if (state.per_page !== DEFAULT_PAGE_SIZE) params.set('per_page', String(state.per_page));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The address of the table in `state`, with a user open beside it or none. */
export const tableHash = (state: TableState, userId: number | null = null) => `#/users${userId ? `/${userId}` : ''}${tableQuery(state)}`;

/** The filters alone: what "all matching" bulk actions target. */
export const filterOf = ({ q, status, plan_id }: TableState): UsersFilter => ({
  ...(q ? { q } : {}),
  ...(status ? { status } : {}),
  ...(plan_id ? { plan_id } : {}),
});
