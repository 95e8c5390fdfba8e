// Base config versions: saving, applying to a node or a tag, a node's history, rolling back.
import { query, request } from './http.js';

export interface ConfigVersion {
  id: number;
  hash: string;
  size: number;
  comment: string;
  author: string;
  created_at: string;
}

/**
 * One entry of a node's config history: a version pushed (apply or rollback; applied, or the node's
 * refusal, sing-box's message), or a drift found (version: the one whose hash the node serves, if any).
 */
export interface ConfigPush {
  version: number | null;
  hash: string | null;
  action: 'apply' | 'rollback' | 'drift-detected';
  time: string;
  by: string;
  applied: boolean;
  error: string | null;
}

export interface NodeConfigHistory {
  node_id: string;
  applied_config_version: number | null;
  desired_config_version: number | null;
  pushes: ConfigPush[];
}

/** What a node did with a version: it runs it, or it is offline and gets it when it returns. */
export interface ApplyResult {
  node_id: string;
  status: 'applied' | 'pending';
  version: number;
  applied_config_version: number | null;
  error: string | null;
}

export const listConfigVersions = (limit = 50, offset = 0) =>
  request<{ versions: ConfigVersion[]; total: number }>('GET', `/api/v1/configs${query({ limit, offset })}`);

export const getConfigVersion = (id: number) => request<ConfigVersion & { config: unknown }>('GET', `/api/v1/configs/${id}`);

/** The tags of the inbounds in a config version, in its order. */
export const inboundTagsOf = (id: number) =>
  getConfigVersion(id).then(({ config }) => {
    const inbounds = (config as { inbounds?: unknown } | null)?.inbounds;
    return Array.isArray(inbounds) ? inbounds.map((i) => (i as { tag?: unknown }).tag).filter((tag): tag is string => typeof tag === 'string') : [];
  });

/** A new REALITY key pair and short id (admins only): the private key goes into an inbound, the public key to clients. */
export const generateRealityKeyPair = () =>
  request<{ private_key: string; public_key: string; short_id: string }>('POST', '/api/v1/configs/reality-keypair');

/** Saves a new version; the hub refuses (400, naming the field) what the agent manages itself. */
export const saveConfigVersion = (config: unknown, comment: string) =>
  request<ConfigVersion>('POST', '/api/v1/configs', { config, comment });

/** Applies a version to one node; a node that refuses it answers with its message (an ApiError). */
export const applyConfigVersion = (id: number, nodeId: string) => request<ApplyResult>('POST', `/api/v1/configs/${id}/apply`, { node_id: nodeId });

/** What every node with a tag did with a version (refusals are results here, not errors). */
export interface TagApplyResult {
  version: number;
  tag: string;
  applied: number;
  pending: number;
  refused: number;
  results: (Omit<ApplyResult, 'status'> & { status: ApplyResult['status'] | 'refused' })[];
}

/** Applies a version to every node with the tag, a few at a time. */
export const applyConfigVersionToTag = (id: number, tag: string) => request<TagApplyResult>('POST', `/api/v1/configs/${id}/apply`, { tag });

export const getNodeConfigHistory = (nodeId: string) =>
  request<NodeConfigHistory>('GET', `/api/v1/nodes/${encodeURIComponent(nodeId)}/config/history`);

/** Back to the version the node ran before its current one. */
export const rollBackNodeConfig = (nodeId: string) => request<ApplyResult>('POST', `/api/v1/nodes/${encodeURIComponent(nodeId)}/config/rollback`);
