// TEMPORARY stand-in for hub/batches/target.ts (the batches branch), with the contract's signature;
// removed when that branch is merged.
import type { Knex } from 'knex';
import { Node } from '../db/models.js';
import { HubError } from '../errors.js';

export interface BatchTarget {
  tags?: string[];
  node_ids?: string[];
  all?: true;
}

export async function resolveTarget(db: Knex, target: BatchTarget): Promise<{ nodes: Node[]; skipped: { node_id: string; reason: string }[] }> {
  const all = await Node.query(db).orderBy('id');
  const chosen = target.all ? all : target.tags ? all.filter((n) => n.tags.some((t) => target.tags!.includes(t))) : all.filter((n) => target.node_ids!.includes(n.id));
  const nodes = chosen.filter((n) => n.enabled);
  if (nodes.length === 0) throw new HubError('HUB_ERR_BAD_REQUEST', `no enabled node matches the target ${JSON.stringify(target)}`);
  return { nodes, skipped: chosen.filter((n) => !n.enabled).map((n) => ({ node_id: n.id, reason: 'disabled' })) };
}
