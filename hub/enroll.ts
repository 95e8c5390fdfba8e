// Adding a node from its agent's enrollment string: the hub dials the agent, fetches its
// certificate and checks it against the fingerprint in the string, asks the agent who it is, and
// stores the node. POST /api/v1/nodes and install commands (hub/routes/install.ts) both add nodes here.
import type { Knex } from 'knex';
import { parseEnrollment } from '../agent-core/common/enrollment.js';
import { AgentError } from '../agent-core/common/errors.js';
import type { AgentDescription } from '../agent-core/common/description.js';
import { fetchAgentCertificate } from '../agent-core/common/agent-client.js';
import type { AgentPool } from './agents.js';
import { Node } from './db/models.js';
import { storeDescription } from './node-status.js';
import { fromAgent, HubError } from './errors.js';

export interface NodeEnrollment {
  enrollment: string;
  name?: string;
  tags?: string[];
  multiplier?: number;
  /** Overrides the address in the enrollment string (e.g. behind NAT). */
  address?: string;
  /** What clients dial instead of the address's host, and per-inbound host/port overrides. */
  public_host?: string | null;
  inbound_overrides?: Record<string, { host?: string; port?: number }>;
}

/**
 * `alongside` runs in the transaction that stores the node, before the insert: whatever it throws
 * leaves nothing stored (an install command is spent there, exactly once).
 */
export async function enrollNode(
  db: Knex,
  agents: AgentPool,
  input: NodeEnrollment,
  alongside?: (trx: Knex.Transaction, nodeId: string) => Promise<void>,
): Promise<{ node: Node; agent: AgentDescription }> {
  let enrollment;
  try {
    enrollment = parseEnrollment(input.enrollment);
  } catch (error) {
    throw new HubError('HUB_ERR_BAD_REQUEST', (error as AgentError).message);
  }
  const address = input.address ?? enrollment.address;
  if (await Node.query(db).findById(enrollment.nodeId)) {
    throw new HubError('HUB_ERR_CONFLICT', `node ${enrollment.nodeId} is already enrolled; delete it first to re-enroll`);
  }
  let certificate: string | null = null;
  if (!enrollment.insecure) {
    try {
      certificate = await fetchAgentCertificate(address, enrollment.fingerprint!);
    } catch (error) {
      throw fromAgent(enrollment.nodeId, error);
    }
  }
  const node = Node.fromJson({
    id: enrollment.nodeId,
    name: input.name ?? enrollment.nodeId,
    address,
    insecure: enrollment.insecure,
    fingerprint: enrollment.fingerprint ?? null,
    certificate,
    token: enrollment.token,
    tags: input.tags ?? [],
    multiplier: input.multiplier ?? 1,
    public_host: input.public_host ?? null,
    inbound_overrides: input.inbound_overrides ?? {},
  });
  // Enrolling proves the address, the certificate and the token all work.
  const agent = await agents.describe(node);
  if (agent.nodeId !== enrollment.nodeId) {
    agents.forget(node.id);
    throw new HubError('HUB_ERR_CONFLICT', `the agent at ${address} is node ${agent.nodeId}, not ${enrollment.nodeId}`);
  }
  const saved = await db.transaction(async (trx) => {
    await alongside?.(trx, node.id);
    const seenAt = Date.now();
    const inserted = await Node.query(trx).insertAndFetch({ ...node, health: 'online', health_since: seenAt, last_seen_at: seenAt });
    // The node list shows what the agent runs from the first moment, not from the next node-status tick.
    await storeDescription(trx, node.id, agent, seenAt);
    return inserted;
  });
  return { node: saved, agent };
}
