// The users table's state in its address: what a bookmarked or shared link opens.
import { describe, expect, it } from 'vitest';
import { filterOf, readTableState, tableHash } from '../../../web-components/src/screens/bf-users-state.js';

describe('users table state in the address', () => {
  it('keeps the plain address for the default view', () => {
    const state = readTableState('#/users');
    expect(state).toEqual({ q: undefined, status: undefined, plan_id: undefined, sort: undefined, page: 1, per_page: 20 });
    expect(tableHash(state)).toBe('#/users');
  });

  it('reads back every part it writes, with a user open or none', () => {
    const state = { q: 'a b&c', status: 'suspended_quota' as const, plan_id: 3, sort: '-expires_at' as const, page: 4, per_page: 50 };
    const hash = tableHash(state, 7);
    expect(hash.startsWith('#/users/7?')).toBe(true);
    expect(readTableState(hash)).toEqual(state);
    expect(filterOf(state)).toEqual({ q: 'a b&c', status: 'suspended_quota', plan_id: 3 });
  });

  it('falls back to defaults for what it does not know', () => {
    expect(readTableState('#/users?status=gone&sort=price&page=-2&per_page=7&plan=x')).toEqual({
      q: undefined, status: undefined, plan_id: undefined, sort: undefined, page: 1, per_page: 20,
    });
  });
});
