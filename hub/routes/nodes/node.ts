// What the /api/v1/nodes route files share: the node id in the URL, the node it names, and the
// fields nodes and install commands both take.
import { Type } from '@fastify/type-provider-typebox';
import { Node } from '../../db/models.js';
import { HubError } from '../../errors.js';

export const NodeId = Type.String({ minLength: 1, maxLength: 63 });
export const NodeParams = Type.Object({ id: NodeId });

/** A node's tags and traffic multiplier, as nodes and install commands take them. */
export const Tags = Type.Array(Type.String({ maxLength: 32, pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' }), { maxItems: 32, uniqueItems: true });
export const Multiplier = Type.Number({ minimum: 0, maximum: 100 });

/** The node `id` names (with the hash of its applied config version), or 404. */
export async function findNode(id: string): Promise<Node> {
  const node = await Node.query().modify('withAppliedHash').findById(id);
  if (!node) throw new HubError('HUB_ERR_NOT_FOUND', `no node ${id}`);
  return node;
}
