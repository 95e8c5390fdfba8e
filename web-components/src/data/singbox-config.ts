// What the singbox-config plugin answers on a node, for its panel: its status and the users it holds.
import { runCommand } from './nodes.js';

/** The parts of singbox-config.status the panel shows. */
export interface SingboxStatus {
  version: string | null;
  running: boolean;
  pid: number | null;
  since: string | null;
  restarts: number;
  config: { version: number | null; hash: string | null };
  users: { revision: number | null; count: number; served: number };
  last_apply: { time: string; action: string; ok: boolean; message: string } | null;
  degraded: boolean;
}

/** One user in singbox-config.users.list. */
export interface NodeUser {
  name: string;
  remaining_bytes: number | null;
  expires_at: string | null;
  removed_locally: boolean;
  removed_reason: string | null;
}

export const getSingboxStatus = (nodeId: string) => runCommand(nodeId, 'singbox-config.status', {}) as Promise<SingboxStatus>;

export const listNodeUsers = (nodeId: string) =>
  (runCommand(nodeId, 'singbox-config.users.list', {}) as Promise<{ users: NodeUser[] }>).then((r) => r.users);
