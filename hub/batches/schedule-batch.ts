// What schedules need of batches, by the shared contract's names: the BatchSpec a schedule stores
// and the createBatch a fire calls. A narrow stand-in until the batches module is merged; then
// these come from hub/batches/index.ts and this file goes.
import { Type, type Static } from '@fastify/type-provider-typebox';
import type { Knex } from 'knex';
import type { Role } from '../../agent-core/common/roles.js';

export const BatchSpecSchema = Type.Object(
  {
    target: Type.Object(
      {
        tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { minItems: 1, maxItems: 200, uniqueItems: true })),
        node_ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { minItems: 1, maxItems: 200, uniqueItems: true })),
        all: Type.Optional(Type.Literal(true)),
      },
      { additionalProperties: false },
    ),
    command: Type.String({ maxLength: 128, pattern: '^[a-z][a-z0-9-]*\\.[a-z][a-z0-9.-]*$' }),
    input: Type.Optional(Type.Unknown()),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
    stop_after_failures: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type BatchSpec = Static<typeof BatchSpecSchema>;

export interface BatchCreator {
  id: number | null;
  name: string;
  role: Role;
}

export type CreateBatch = (
  deps: { db: Knex; now(): number },
  spec: BatchSpec,
  by: BatchCreator,
  origin: { schedule_id: number },
) => Promise<{ id: number }>;
