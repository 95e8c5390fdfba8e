// What the singbox-config plugin answers on a node, for its panel: its status and the users it holds.
import type { StatusOutput, UsersListOutput } from '../../../plugins/singbox-config/contract.js';
import { runCommand } from './nodes.js';

export type SingboxStatus = StatusOutput;

/** One user in singbox-config.users.list. */
export type NodeUser = UsersListOutput['users'][number];

export const getSingboxStatus = (nodeId: string) => runCommand(nodeId, 'singbox-config.status', {}) as Promise<SingboxStatus>;

export const listNodeUsers = (nodeId: string) =>
  (runCommand(nodeId, 'singbox-config.users.list', {}) as Promise<UsersListOutput>).then((r) => r.users);
