// The dashboard's addresses: which screen of the registry each #/hash shows, and with which params.
import { describe, expect, it } from 'vitest';
import { SCREENS } from '../../../web-components/src/screens/registry.js';
import { parseRoute } from '../../../web-components/src/screens/route.js';

const route = (hash: string) => {
  const { screen, params } = parseRoute(hash, SCREENS);
  return { path: screen.path, params };
};

describe('dashboard routes', () => {
  it('opens each nav screen at its own address', () => {
    for (const path of ['overview', 'nodes', 'plans', 'subscriptions', 'firewall', 'audit', 'admins']) expect(route(`#/${path}`)).toEqual({ path, params: {} });
  });

  it('opens a node, and its config editor under it', () => {
    expect(route('#/nodes/web-1')).toEqual({ path: 'nodes/:id', params: { id: 'web-1' } });
    expect(route('#/nodes/web-1/config')).toEqual({ path: 'nodes/:id/config', params: { id: 'web-1' } });
    expect(route('#/nodes/web-1/other')).toEqual({ path: 'nodes/:id', params: { id: 'web-1' } });
    expect(route('#/nodes/')).toEqual({ path: 'nodes', params: {} });
  });

  it('decodes segments', () => {
    expect(route('#/nodes/a%20b')).toEqual({ path: 'nodes/:id', params: { id: 'a b' } });
  });

  it('opens the users with one selected, or none', () => {
    expect(route('#/users/7')).toEqual({ path: 'users/:id?', params: { id: '7' } });
    expect(route('#/users')).toEqual({ path: 'users/:id?', params: { id: '' } });
  });

  it('leaves the query after the path to the screen', () => {
    expect(route('#/users?status=expired&sort=-name')).toEqual({ path: 'users/:id?', params: { id: '' } });
    expect(route('#/users/7?page=2')).toEqual({ path: 'users/:id?', params: { id: '7' } });
  });

  it("opens a user's own page, with their usage, under the users", () => {
    expect(route('#/users/7/usage')).toEqual({ path: 'users/:id/usage', params: { id: '7' } });
  });

  it('ignores segments after a screen path', () => {
    expect(route('#/plans/extra')).toEqual({ path: 'plans', params: {} });
  });

  it('sends anything unknown home, to the overview', () => {
    for (const hash of ['', '#', '#/', '#/node', '#/config', '#/nope', '#/toString']) expect(route(hash)).toEqual({ path: 'overview', params: {} });
  });

  it('puts every nav screen where its tab links', () => {
    for (const screen of SCREENS.filter((s) => s.nav)) expect(route(`#/${screen.path.split('/')[0]}`).path).toBe(screen.path);
  });
});
