// Install commands: a one-line command that installs an agent on a new machine and adds it as a node.
import { query, request, type Page } from './http.js';

/** What a new node gets when its install command adds it. */
export interface InstallCommandSettings {
  tags?: string[];
  name?: string;
  multiplier?: number;
}

/** A new install command: `command` is shown once, here; the hub keeps only a hash of its token. */
export interface InstallCommand {
  id: number;
  command: string;
  expires_at: string;
  /** The Linux architectures the hub has an agent tarball for. */
  architectures: string[];
  version: string;
}

export type InstallCommandStatus = 'pending' | 'used' | 'expired' | 'revoked';

export interface InstallCommandSummary {
  id: number;
  status: InstallCommandStatus;
  name: string | null;
  tags: string[];
  multiplier: number | null;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_by_node: string | null;
}

/** Refused (503) while the hub's release folder holds no agent tarball; the message says where to put one. */
export const createInstallCommand = (settings: InstallCommandSettings) => request<InstallCommand>('POST', '/api/v1/nodes/install-tokens', settings);

export const listInstallCommands = (status: InstallCommandStatus) =>
  request<Page<InstallCommandSummary>>('GET', `/api/v1/nodes/install-tokens${query({ status, per_page: 200 })}`).then((r) => r.items);

/** Running a revoked command only prints that it was revoked. */
export const revokeInstallCommand = (id: number) => request<void>('DELETE', `/api/v1/nodes/install-tokens/${id}`);
