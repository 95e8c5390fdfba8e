// Which nodes each stage of a rollout reaches. A stage names how many of the target's nodes have
// the version once it is done (cumulative): a count (`1`) or a share (`"10%"`, rounded up). Each
// stage adds at least one node, so a share that rounds to the previous stage's count is raised by
// one; a stage that would find no node left is dropped (four stages on two nodes are two stages),
// and the last one covers every node.
import { HubError } from '../errors.js';

export type StageSpec = number | `${number}%`;

export const DEFAULT_STAGES: StageSpec[] = [1, '100%'];

const share = (stage: string) => Number(stage.slice(0, -1));

/** How many nodes out of `total` the stage covers, before the at-least-one-more rule. */
function covered(stage: StageSpec, total: number): number {
  return typeof stage === 'number' ? Math.min(stage, total) : Math.ceil((total * share(stage)) / 100);
}

/** Why the stages are not a plan (the route's message), or undefined. Checked before any node is resolved. */
export function stagesProblem(stages: StageSpec[]): string | undefined {
  for (const [i, stage] of stages.entries()) {
    if (typeof stage === 'string' && !(share(stage) > 0 && share(stage) <= 100)) return `body.stages[${i}]: a share must be between 1% and 100%`;
    if (i === 0) continue;
    const previous = stages[i - 1]!;
    // Counts and shares compare only among their own kind: 5 vs "10%" depends on the fleet.
    if (typeof stage === typeof previous && (typeof stage === 'number' ? stage <= (previous as number) : share(stage) <= share(previous as string))) {
      return `body.stages[${i}]: stages must grow (${JSON.stringify(previous)} then ${JSON.stringify(stage)})`;
    }
  }
  const last = stages[stages.length - 1]!;
  if (typeof last === 'string' && share(last) !== 100) return `body.stages: the last stage must cover every node ("100%"), not ${last}`;
  return undefined;
}

/**
 * The cumulative node count of each stage for `total` nodes: strictly growing, the last one
 * `total`. A count as last stage that is smaller than the target is refused (it would leave nodes out).
 */
export function planStages(stages: StageSpec[], total: number): number[] {
  const last = stages[stages.length - 1]!;
  if (typeof last === 'number' && last < total) {
    throw new HubError('HUB_ERR_BAD_REQUEST', `body.stages: the last stage covers ${last} node(s) but the target has ${total}; end with "100%"`);
  }
  const plan: number[] = [];
  for (const stage of stages) {
    const previous = plan[plan.length - 1] ?? 0;
    if (previous === total) break;
    plan.push(Math.min(total, Math.max(previous + 1, covered(stage, total))));
  }
  return plan;
}

/** The 1-based stage of the node at `index` (0-based, in the target's order) under `plan`. */
export function stageOf(plan: number[], index: number): number {
  return plan.findIndex((upTo) => index < upTo) + 1;
}
