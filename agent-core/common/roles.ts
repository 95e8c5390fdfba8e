// The hub's roles, least to most. A plugin command names the least role allowed to run it (`owner`
// only for what the fleet's owner alone may do, such as a script its sidecar reserves for them); the
// hub checks it, and the dashboard uses the same order to hide what a role may not do.
// Dependency-free, so the dashboard bundles it too.

export const ROLES = ['viewer', 'operator', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role => (ROLES as readonly unknown[]).includes(value);

/** The role a command needs; a role name this hub does not know (a newer or third-party plugin's) needs the highest. */
export const commandRole = (declared: string): Role => (isRole(declared) ? declared : 'owner');

/** Whether `role` may do what `needed` may. */
export const may = (role: Role, needed: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(needed);
