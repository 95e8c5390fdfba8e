// Config versions, the hub's own state (architecture §7): every saved base config is an immutable
// version whose canonical JSON lies in the object store under its sha256 and whose metadata is a
// config_versions row. A node's desired_config_version names the one it should run; the reconciler
// pushes it and every push (and every drift found) goes into the node's config history, which a
// rollback reads.
import type { Knex } from 'knex';
import type { AppLogger } from '../agent-core/common/logger.js';
import { canonicalJson } from '../agent-core/common/canonical-json.js';
import { configHash } from '../agent-core/common/config-hash.js';
import type { Actor } from './audit.js';
import { ConfigVersion, Node, NodeConfigEvent, type ConfigEventAction } from './db/models.js';
import { HubError, type HubErrorCode } from './errors.js';
import type { Reconciler } from './jobs/reconcile.js';
import type { ObjectStore } from './object-store.js';

export async function findConfigVersion(db: Knex, id: number): Promise<ConfigVersion> {
  const version = await ConfigVersion.query(db).findById(id);
  if (!version) throw new HubError('HUB_ERR_NOT_FOUND', `no config version ${id}`);
  return version;
}

/** A config version's content, parsed, from the object store. */
export async function readConfigVersion(db: Knex, objects: ObjectStore, id: number): Promise<{ version: ConfigVersion; config: Record<string, unknown> }> {
  const version = await findConfigVersion(db, id);
  const body = await objects.get(version.object_key);
  return { version, config: JSON.parse(body.toString('utf8')) as Record<string, unknown> };
}

/** Saves `config` (already checked) as a new version. */
export async function saveConfigVersion(
  db: Knex,
  objects: ObjectStore,
  config: Record<string, unknown>,
  { comment, author }: { comment: string; author: Actor },
): Promise<ConfigVersion> {
  const body = Buffer.from(canonicalJson(config));
  const hash = configHash(config);
  const key = `configs/${hash}.json`;
  // Content-addressed: saving the same config again adds a version, not another object.
  if (!(await objects.exists(key))) await objects.put(key, body, 'application/json');
  return await ConfigVersion.query(db).insertAndFetch({
    hash,
    object_key: key,
    size: body.length,
    comment,
    author_id: author.id,
    author: author.name,
    created_at: Date.now(),
  });
}

export interface ConfigEvent {
  node_id: string;
  version_id: number | null;
  hash: string | null;
  action: ConfigEventAction;
  admin: string;
  error?: unknown;
  time: number;
}

/** Adds one entry to a node's config history; a failure to write it is logged, never thrown. */
export async function recordConfigEvent(db: Knex, logger: AppLogger, event: ConfigEvent): Promise<void> {
  const { error, ...row } = event;
  try {
    await NodeConfigEvent.query(db).insert({
      ...row,
      result: error === undefined ? 'ok' : 'error',
      error: error === undefined ? null : String((error as Error).message ?? error).slice(0, 1000),
    });
  } catch (e) {
    // The node was deleted meanwhile (foreign key) or the database refused.
    logger.warn('config history not recorded', { node_id: event.node_id, action: event.action, error: (e as Error).message });
  }
}

/** The node's config history, newest first; `applied`: only the versions it took. */
export async function configHistory(db: Knex, nodeId: string, { limit = 100, applied = false } = {}): Promise<NodeConfigEvent[]> {
  const query = NodeConfigEvent.query(db).where({ node_id: nodeId }).orderBy('id', 'desc').limit(limit);
  if (applied) query.whereIn('action', ['apply', 'rollback']).andWhere({ result: 'ok' });
  return await query;
}

/** The version a rollback of `node` goes back to: the last one it applied before its current one. */
export async function rollbackTarget(db: Knex, node: Node): Promise<ConfigVersion> {
  const current = node.applied_config_version;
  if (current === null) throw new HubError('HUB_ERR_CONFLICT', `node ${node.id} has no applied config version to roll back from`);
  const previous = (await configHistory(db, node.id, { applied: true })).find((e) => e.version_id !== current)?.version_id ?? undefined;
  if (previous === undefined) throw new HubError('HUB_ERR_CONFLICT', `node ${node.id} applied no other config version before version ${current}`);
  return await findConfigVersion(db, previous);
}

export interface ApplyResult {
  node_id: string;
  /** applied: the node runs it; pending: the node is offline or disabled and gets it later; refused: the node said no. */
  status: 'applied' | 'pending' | 'refused';
  version: number;
  applied_config_version: number | null;
  error: string | null;
}

/**
 * desired := version, then push now through the reconciler; a config the node refuses puts
 * desired back as it was (changes nothing), an unreachable node keeps it and gets it on return.
 */
export async function applyToNode(
  db: Knex,
  reconciler: Pick<Reconciler, 'reconcileNode'>,
  node: Node,
  version: number,
  actor: Actor,
  action: ConfigEventAction = 'apply',
): Promise<ApplyResult & { code?: HubErrorCode }> {
  const before = node.desired_config_version;
  await db('nodes').where({ id: node.id }).update({ desired_config_version: version });
  if (!node.enabled) {
    return { node_id: node.id, status: 'pending', version, applied_config_version: node.applied_config_version, error: 'the node is disabled; it gets this version once enabled' };
  }
  const pushed = await reconciler.reconcileNode(node, { force: true, actor, action });
  const applied = (await Node.query(db).findById(node.id))?.applied_config_version ?? null;
  const part = pushed.config;
  if (!part || part.status === 'applied') return { node_id: node.id, status: 'applied', version, applied_config_version: applied, error: null };
  if (part.unreachable) return { node_id: node.id, status: 'pending', version, applied_config_version: applied, error: part.error ?? null };
  await db('nodes').where({ id: node.id, desired_config_version: version }).update({ desired_config_version: before });
  return { node_id: node.id, status: 'refused', version, applied_config_version: applied, error: part.error ?? null, code: part.code };
}
