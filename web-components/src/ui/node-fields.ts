// A node's name, tags and traffic multiplier as the hub checks them (hub/routes/nodes.ts), for
// every form that sets them: a node's settings, a new node, an install command.
import type { JsonSchema } from './json-schema.js';

export const NODE_FIELDS = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  tags: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' } },
  multiplier: { type: 'number', minimum: 0, maximum: 100 },
} satisfies Record<string, JsonSchema>;
