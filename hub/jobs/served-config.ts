// What a node serves against what the hub applied to it (architecture §7: the hub owns config
// versions; the node reports what it serves; a difference is shown as drift, never adopted). The
// live job asks every online node for singbox-config status and records the base config hash it
// reports here. A node whose served hash is not the hash of its applied_config_version is drifted:
// someone changed it on the node (config.rollback or config.apply through the agent). Drift is only
// shown (the node's answer, its config history) and keeps the node out of subscriptions; the
// reconciler does not push over it on its own, since re-applying would undo what someone on the node
// did without anyone looking. An admin resolves it by applying a version (POST /configs/:id/apply).
// A node not asked yet (served hash unknown: a hub just upgraded to this, or a singbox-config whose
// status has no hash) is not drifted: it is taken to serve what it confirmed when the hub applied it,
// so an upgrade does not empty every subscription until the first live tick.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import { recordConfigEvent } from '../config-versions.js';
import { ConfigVersion, Node } from '../db/models.js';

/**
 * Records the base config hash a node said (in an answer asked for at `askedAt`) that it serves,
 * and starts or ends its drift. An answer older than the hub's last record (a push confirmed
 * meanwhile) is dropped. Returns whether the node is drifted now.
 */
export async function recordServedConfig(db: Knex, logger: AppLogger, nodeId: string, hash: string, askedAt: number): Promise<boolean> {
  const node = await Node.query(db).modify('withAppliedHash').findById(nodeId);
  if (!node) return false;
  if (node.served_checked_at !== null && Number(node.served_checked_at) > askedAt) return node.config_drift_since !== null;
  // Nothing applied by the hub: nothing to differ from (the node is in no subscription either).
  const drifted = node.applied_config_version !== null && hash !== node.applied_config_hash;
  // The same hash as recorded, the same drift state: nothing to write (the live job asks every node
  // every tick, and this is the usual answer). A later push still moves served_checked_at past this.
  if (node.served_checked_at !== null && node.served_config_hash === hash && (node.config_drift_since !== null) === drifted) return drifted;
  const since = drifted ? (node.config_drift_since ?? askedAt) : null;
  const updated = await db('nodes')
    .where({ id: nodeId })
    .andWhere((q) => q.whereNull('served_checked_at').orWhere('served_checked_at', '<=', askedAt))
    .update({ served_config_hash: hash, served_checked_at: askedAt, config_drift_since: since });
  if (updated === 0) return node.config_drift_since !== null;
  if (drifted && node.config_drift_since === null) {
    const known = await ConfigVersion.query(db).where({ hash }).orderBy('id', 'desc').first();
    logger.warn('node serves a config the hub did not apply', { node_id: nodeId, served_hash: hash, expected_hash: node.applied_config_hash, version: known?.id ?? null });
    await recordConfigEvent(db, logger, { node_id: nodeId, version_id: known?.id ?? null, hash, action: 'drift-detected', admin: 'live', time: askedAt });
  }
  return drifted;
}
