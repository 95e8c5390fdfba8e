// Who may run a plugin command through the hub, for every path that runs one (a node's command
// route, batches): the command's own role from the agent's Describe (commandRole, common), and the commands the hub
// refuses to pass through because they change state the hub owns.
import { may, type Role } from '../agent-core/common/roles.js';
import { HubError } from './errors.js';

/**
 * Commands that change state the hub owns. The hub keeps a node's config versions (what it should
 * serve, its history, the config.apply audit record); a raw config.apply or config.rollback sent
 * to the agent would make the node serve a config the hub never saw, so these go through the
 * versioned routes instead, for every role.
 */
const HUB_OWNED_COMMANDS: ReadonlyMap<string, string> = new Map([
  ['singbox-config.config.apply', 'save the config with POST /api/v1/configs, then POST /api/v1/configs/:id/apply'],
  ['singbox-config.config.rollback', 'use POST /api/v1/nodes/:id/config/rollback'],
]);

/** Throws HUB_ERR_CONFLICT for a command the hub never passes through, naming the way to do it instead. */
export function refuseHubOwned(command: string): void {
  const instead = HUB_OWNED_COMMANDS.get(command);
  if (instead) throw new HubError('HUB_ERR_CONFLICT', `${command} is not run directly: ${instead}`);
}

/** Why `who` (with `role`) may not run a command needing `needed`; undefined when they may. */
export function roleRefusal(command: string, needed: Role, who: { name: string; role: Role }): string | undefined {
  return may(who.role, needed) ? undefined : `${command} needs the ${needed} role; ${who.name} is ${who.role}`;
}
