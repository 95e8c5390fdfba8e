// Every screen of the dashboard, in nav order: where it lives (#/path), its nav tab, the least role
// that may open it, the chunk that defines it and how it is rendered. The shell (bf-app.ts) builds
// its nav and routing from this list alone; the first screen is home, where an unknown address or
// one the admin's role may not open lands.
import { html, type TemplateResult } from 'lit';
import type { Role } from '../../../agent-core/common/roles.js';
import type { Admin } from '../data/auth.js';
import type { MessageKey } from '../i18n.js';

/** What a screen is rendered with: the signed-in admin and the values of its path's `:params`. */
export interface ScreenContext {
  admin: Admin;
  params: Record<string, string>;
}

export interface Screen {
  /**
   * The address after `#/`, by segment: a literal, `:name` for a segment that must be there, `:name?`
   * for one that may be missing. Segments after the path's are ignored; the longest match wins.
   */
  path: string;
  /** Its tab; a screen without one (a node's page) shows the tab of its path's first segment as current. */
  nav?: MessageKey;
  /** The least role that may open it (the API enforces the same). */
  role: Role;
  /** Defines the element; a dynamic import makes the screen a chunk of its own, loaded when first shown. */
  load: () => Promise<unknown>;
  /** The screen's element, given what it needs. */
  render: (context: ScreenContext) => TemplateResult;
}

export const SCREENS: readonly [Screen, ...Screen[]] = [
  {
    path: 'overview',
    nav: 'nav.overview',
    role: 'viewer',
    load: () => import('./bf-overview.js'),
    render: () => html`<bf-overview></bf-overview>`,
  },
  {
    path: 'nodes',
    nav: 'nav.nodes',
    role: 'viewer',
    load: () => import('./bf-nodes.js'),
    render: ({ admin }) => html`<bf-nodes .adminRole=${admin.role}></bf-nodes>`,
  },
  {
    path: 'nodes/:id',
    role: 'viewer',
    load: () => import('./bf-node-detail.js'),
    render: ({ admin, params }) => html`<bf-node-detail .nodeId=${params.id} .adminRole=${admin.role}></bf-node-detail>`,
  },
  {
    path: 'nodes/:id/config',
    role: 'viewer',
    load: () => import('./bf-config-editor.js'),
    render: ({ admin, params }) => html`<bf-config-editor .nodeId=${params.id} .adminRole=${admin.role}></bf-config-editor>`,
  },
  {
    path: 'users/:id?',
    nav: 'nav.users',
    role: 'viewer',
    load: () => import('./bf-users.js'),
    render: ({ admin, params }) => html`<bf-users .adminRole=${admin.role} .selected=${Number(params.id) || null}></bf-users>`,
  },
  {
    path: 'users/:id/usage',
    role: 'viewer',
    load: () => import('./bf-user.js'),
    render: ({ admin, params }) => html`<bf-user .userId=${Number(params.id)} .adminRole=${admin.role}></bf-user>`,
  },
  {
    path: 'plans',
    nav: 'nav.plans',
    role: 'viewer',
    load: () => import('./bf-plans.js'),
    render: ({ admin }) => html`<bf-plans .adminRole=${admin.role}></bf-plans>`,
  },
  {
    path: 'subscriptions',
    nav: 'nav.subscriptions',
    role: 'viewer',
    load: () => import('./bf-subscriptions.js'),
    render: () => html`<bf-subscriptions></bf-subscriptions>`,
  },
  {
    path: 'profile-templates',
    nav: 'nav.profileTemplates',
    role: 'viewer',
    load: () => import('./bf-profile-templates.js'),
    render: ({ admin }) => html`<bf-profile-templates .adminRole=${admin.role}></bf-profile-templates>`,
  },
  {
    path: 'firewall',
    nav: 'nav.firewall',
    role: 'viewer',
    load: () => import('./bf-firewall.js'),
    render: ({ admin }) => html`<bf-firewall .adminRole=${admin.role}></bf-firewall>`,
  },
  {
    path: 'batches',
    nav: 'nav.batches',
    role: 'viewer',
    load: () => import('./bf-batches.js'),
    render: ({ admin }) => html`<bf-batches .adminRole=${admin.role}></bf-batches>`,
  },
  {
    path: 'batches/:id',
    role: 'viewer',
    load: () => import('./bf-batch.js'),
    render: ({ admin, params }) => html`<bf-batch .batchId=${Number(params.id)} .adminRole=${admin.role}></bf-batch>`,
  },
  {
    path: 'rollouts',
    nav: 'nav.rollouts',
    role: 'viewer',
    load: () => import('./bf-rollouts.js'),
    render: () => html`<bf-rollouts></bf-rollouts>`,
  },
  {
    path: 'rollouts/:id',
    role: 'viewer',
    load: () => import('./bf-rollout.js'),
    render: ({ admin, params }) => html`<bf-rollout .rolloutId=${Number(params.id)} .adminRole=${admin.role}></bf-rollout>`,
  },
  {
    path: 'audit',
    nav: 'nav.audit',
    role: 'admin',
    load: () => import('./bf-audit.js'),
    render: () => html`<bf-audit></bf-audit>`,
  },
  {
    path: 'admins',
    nav: 'nav.admins',
    role: 'owner',
    load: () => import('./bf-admins.js'),
    render: ({ admin }) => html`<bf-admins .me=${admin}></bf-admins>`,
  },
];
