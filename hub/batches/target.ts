// Which nodes a fleet operation reaches (batches, schedules, rollouts): by tag (a node with any of
// them), by id, or all of them. Resolved once, when the operation is created, to enabled nodes; a
// disabled node the target names is reported as skipped rather than silently left out.
import { Type, type Static } from '@fastify/type-provider-typebox';
import type { Knex } from 'knex';
import { Node } from '../db/models.js';
import { HubError } from '../errors.js';

const MAX_ITEMS = 200;

export const BatchTargetSchema = Type.Object(
  {
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { minItems: 1, maxItems: MAX_ITEMS, uniqueItems: true })),
    node_ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { minItems: 1, maxItems: MAX_ITEMS, uniqueItems: true })),
    all: Type.Optional(Type.Literal(true)),
  },
  { additionalProperties: false, description: 'exactly one of tags (nodes with any of them), node_ids, or all: true' },
);
export type BatchTarget = Static<typeof BatchTargetSchema>;

export interface SkippedNode {
  node_id: string;
  reason: string;
}

export interface ResolvedTarget {
  /** Enabled nodes, ordered by id. */
  nodes: Node[];
  skipped: SkippedNode[];
}

/** A short text naming the target, for messages. */
export function describeTarget(target: BatchTarget): string {
  if (target.tags) return `tags ${target.tags.join(', ')}`;
  if (target.node_ids) return `nodes ${target.node_ids.join(', ')}`;
  return 'all nodes';
}

/** Throws HUB_ERR_BAD_REQUEST unless exactly one of tags, node_ids and all is given, within the size limits. */
export function checkTarget(target: BatchTarget): void {
  const given = (['tags', 'node_ids', 'all'] as const).filter((key) => target[key] !== undefined);
  if (given.length !== 1) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `target: give exactly one of tags, node_ids or all (got ${given.length === 0 ? 'none' : given.join(' and ')})`);
  }
  const list = target.tags ?? target.node_ids;
  if (list && (list.length === 0 || list.length > MAX_ITEMS)) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `target.${given[0]}: between 1 and ${MAX_ITEMS} items`);
  }
  if (target.all !== undefined && target.all !== true) throw new HubError('HUB_ERR_BAD_REQUEST', 'target.all: must be true');
}

/**
 * The nodes `target` names now. Throws HUB_ERR_BAD_REQUEST for a malformed target and for one that
 * matches no node at all (naming it); node ids that do not exist are skipped with that reason.
 */
export async function resolveTarget(db: Knex, target: BatchTarget): Promise<ResolvedTarget> {
  checkTarget(target);
  let matched: Node[];
  const skipped: SkippedNode[] = [];
  if (target.node_ids) {
    matched = await Node.query(db).findByIds(target.node_ids);
    const found = new Set(matched.map((n) => n.id));
    for (const id of target.node_ids) if (!found.has(id)) skipped.push({ node_id: id, reason: 'no such node' });
  } else {
    // Tags are a JSON column: filtering in the database would differ between SQLite and MySQL, and a
    // fleet's node list is small enough to read.
    const wanted = target.tags && new Set(target.tags);
    matched = (await Node.query(db)).filter((node) => !wanted || node.tags.some((tag) => wanted.has(tag)));
  }
  matched.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (matched.length === 0) throw new HubError('HUB_ERR_BAD_REQUEST', `target: no node matches ${describeTarget(target)}`);
  for (const node of matched) if (!node.enabled) skipped.push({ node_id: node.id, reason: 'the node is disabled' });
  return { nodes: matched.filter((node) => node.enabled), skipped };
}
