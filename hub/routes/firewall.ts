// /api/v1/firewall: the fleet's firewall rule sets (admins change them, anyone signed in reads
// them) and, per node, what it should enforce against what its firewall plugin confirmed. What a
// set is and how it reaches nodes is hub/firewall.ts; the `firewall` job pushes the lists.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { describeError } from '../../agent-core/common/schema.js';
import { actorOf } from '../auth.js';
import {
  createRuleSet,
  deleteRuleSet,
  findRuleSet,
  FIREWALL_SUPPORT,
  MAX_FLEET_RULES,
  nodeFirewalls,
  PlanReader,
  replaceRuleSet,
  SetRule,
  SupportReader,
  type RuleSetInput,
} from '../firewall.js';
import { FirewallRuleSet } from '../db/models.js';
import { HubError } from '../errors.js';
import { Tags } from './nodes/node.js';
import { IdParams, IsoTime, Nullable, StringEnum } from './schemas.js';

const RuleSetBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  tags: Type.Optional(Type.Unsafe<string[]>({ ...Tags, description: 'The set reaches the nodes carrying any of these tags; none (the default) reaches every node.' })),
  rules: Type.Array(SetRule, { maxItems: MAX_FLEET_RULES, description: `At most ${MAX_FLEET_RULES} in all sets together.` }),
  comment: Type.Optional(Type.String({ maxLength: 500 })),
});

const RuleSetOut = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  tags: Type.Array(Type.String()),
  rules: Type.Array(SetRule),
  comment: Type.String(),
  created_by: Type.String(),
  updated_by: Type.String(),
  created_at: IsoTime,
  updated_at: IsoTime,
});

const NodeFirewallOut = Type.Object({
  node_id: Type.String(),
  name: Type.String(),
  tags: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  firewall: StringEnum(FIREWALL_SUPPORT, {
    description:
      'ready: the node takes rules; missing: no firewall plugin; disabled: turned off in its agent.yaml; outdated: its firewall plugin predates rules.sync; unknown: its agent has not described itself yet. Only ready nodes are pushed to.',
  }),
  desired_revision: Type.String({ description: 'The hash of the rule list the node should enforce.' }),
  rules: Type.Integer({ description: 'Rules in that list.' }),
  sets: Type.Array(Type.Integer(), { description: 'The rule sets that reach the node, by id.' }),
  confirmed_revision: Nullable(Type.String()),
  synced_at: Nullable(IsoTime),
  in_sync: Type.Boolean(),
  warnings: Type.Array(Type.String(), { description: 'What the node could not enforce with the confirmed revision (no nft, say).' }),
  last_error: Nullable(Type.Object({ message: Type.String(), revision: Nullable(Type.String()), at: IsoTime })),
});

// 10,000 rules of a hundred-odd bytes each.
const BODY_LIMIT = 4 * 1024 * 1024;

/**
 * A body the schema refused, as a 400 that names the rule by its id when the problem is inside one
 * (`rule "ban-1": body.rules.3.port: must be <= 65535`), so the admin finds it in a long list.
 */
function refuseInvalid(request: FastifyRequest): void {
  const error = request.validationError as (Error & { validation?: ErrorObject[]; validationContext?: string }) | undefined;
  if (!error) return;
  const first = error.validation?.[0];
  if (!first) throw new HubError('HUB_ERR_BAD_REQUEST', error.message);
  const message = describeError(first, error.validationContext ?? 'body');
  const index = /^\/rules\/(\d+)/.exec(first.instancePath)?.[1];
  const id = index === undefined ? undefined : (request.body as { rules?: { id?: unknown }[] }).rules?.[Number(index)]?.id;
  throw new HubError('HUB_ERR_BAD_REQUEST', typeof id === 'string' ? `rule ${JSON.stringify(id)}: ${message}` : message);
}

const inputOf = (body: { name: string; tags?: string[]; rules: RuleSetInput['rules']; comment?: string }): RuleSetInput => ({
  name: body.name,
  tags: body.tags ?? [],
  rules: body.rules,
  comment: body.comment ?? '',
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const readers = { plan: new PlanReader(), support: new SupportReader() };

  app.get('/rule-sets', { config: { role: 'viewer' }, schema: { response: { 200: Type.Object({ items: Type.Array(RuleSetOut) }) } } }, async () => ({
    items: (await FirewallRuleSet.query(app.db).orderBy('id')).map((s) => s.toPublic()),
  }));

  app.get('/rule-sets/:id', { config: { role: 'viewer' }, schema: { params: IdParams, response: { 200: RuleSetOut } } }, async (request) =>
    (await findRuleSet(app.db, request.params.id)).toPublic(),
  );

  app.post(
    '/rule-sets',
    {
      config: { role: 'admin', audit: 'firewall.rule-set.create' },
      bodyLimit: BODY_LIMIT,
      attachValidation: true,
      schema: { body: RuleSetBody, response: { 201: RuleSetOut } },
    },
    async (request, reply) => {
      refuseInvalid(request);
      const set = await createRuleSet(app.db, inputOf(request.body), actorOf(request));
      request.auditTarget = `firewall-rule-set:${set.id}`;
      reply.code(201);
      return set.toPublic();
    },
  );

  app.put(
    '/rule-sets/:id',
    {
      config: { role: 'admin', audit: 'firewall.rule-set.update' },
      bodyLimit: BODY_LIMIT,
      attachValidation: true,
      schema: { params: IdParams, body: RuleSetBody, response: { 200: RuleSetOut } },
    },
    async (request) => {
      request.auditTarget = `firewall-rule-set:${request.params.id}`;
      refuseInvalid(request);
      return (await replaceRuleSet(app.db, request.params.id, inputOf(request.body), actorOf(request))).toPublic();
    },
  );

  app.delete('/rule-sets/:id', { config: { role: 'admin', audit: 'firewall.rule-set.delete' }, schema: { params: IdParams } }, async (request, reply) => {
    request.auditTarget = `firewall-rule-set:${request.params.id}`;
    await deleteRuleSet(app.db, request.params.id);
    return reply.code(204).send();
  });

  app.get('/nodes', { config: { role: 'viewer' }, schema: { response: { 200: Type.Object({ items: Type.Array(NodeFirewallOut) }) } } }, async () => ({
    items: await nodeFirewalls(app.db, readers),
  }));
};

export default routes;
