// Who is billed what for traffic (architecture §5): the pure decisions the traffic job applies to
// each drained batch. No database here: the job reads the candidates and stores the results.

/** Subscriptions traffic is charged to: bytes a node counted before it removed a suspended user still count. */
export const CHARGEABLE_STATUSES = ['active', 'suspended'] as const;
export type ChargeableStatus = (typeof CHARGEABLE_STATUSES)[number];

/**
 * Billed bytes of a user's raw traffic on a node: raw × the node's multiplier, rounded. The job
 * rounds per user, node and hour, so usage_hourly.billed_bytes and traffic_used_bytes add up alike.
 */
export function billedBytes(upload: number, download: number, multiplier: number): number {
  return Math.round((upload + download) * multiplier);
}

/** One of a user's subscriptions that may be charged for traffic on a node. */
export interface ChargeCandidate {
  id: number;
  userId: number;
  status: ChargeableStatus;
  endTime: number;
  /** The node tags the subscription's plan reaches. */
  planNodeTags: readonly string[];
}

type Rank = [number, number, number, number];

function rankOf(candidate: ChargeCandidate, nodeTags: readonly string[]): Rank {
  return [
    candidate.planNodeTags.some((t) => nodeTags.includes(t)) ? 0 : 1,
    candidate.status === 'active' ? 0 : 1,
    candidate.endTime,
    candidate.id,
  ];
}

function compareRanks(a: Rank, b: Rank): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * The subscription each user's bytes on a node with `nodeTags` count against (user id →
 * subscription id): of the user's candidates, one whose plan reaches the node before one that
 * doesn't, active before suspended, the one ending first (then the lowest id). A user without a
 * candidate is charged to no subscription.
 */
export function chooseSubscriptions(candidates: Iterable<ChargeCandidate>, nodeTags: readonly string[]): Map<number, number> {
  const chosen = new Map<number, { id: number; rank: Rank }>();
  for (const candidate of candidates) {
    const rank = rankOf(candidate, nodeTags);
    const current = chosen.get(candidate.userId);
    if (!current || compareRanks(rank, current.rank) < 0) chosen.set(candidate.userId, { id: candidate.id, rank });
  }
  return new Map([...chosen].map(([userId, { id }]) => [userId, id]));
}
