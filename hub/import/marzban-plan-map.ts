// `--plan-map <file>`: which existing boxfleet plan Marzban users go to, instead of a plan derived
// from their limits. YAML or JSON (YAML reads both): a list of rules, the first one a user matches
// wins; a field left out matches anything; users no rule matches get derived plans.
//   - { data_limit: 53687091200, duration_days: 30, reset: month, plan: Gold }
//   - { data_limit: null, plan: Unlimited }      # null: Marzban's unlimited (no limit or 0)
import { readFile } from 'node:fs/promises';
import { Type, type Static } from '@sinclair/typebox';
import { parse } from 'yaml';
import { validate } from '../../agent-core/common/schema.js';

const RESETS = ['no_reset', 'day', 'week', 'month', 'year'] as const;

export const PlanMapRule = Type.Object({
  data_limit: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: "the user's Marzban data_limit in bytes; null: unlimited" })),
  duration_days: Type.Optional(Type.Integer({ minimum: 1, description: "days from the user's creation to its expiry (or its on_hold duration); 3650: never expires" })),
  reset: Type.Optional(Type.Unsafe<(typeof RESETS)[number]>({ type: 'string', enum: [...RESETS], description: "the user's data_limit_reset_strategy" })),
  plan: Type.String({ minLength: 1, description: 'the name of an existing boxfleet plan' }),
});
export type PlanMapRule = Static<typeof PlanMapRule>;

const PlanMap = Type.Array(PlanMapRule);

export async function readPlanMap(file: string): Promise<PlanMapRule[]> {
  return validate<PlanMapRule[]>(PlanMap, parse(await readFile(file, 'utf8')), file);
}
