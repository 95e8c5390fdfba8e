// Shared set-up for the job suites (jobs-*.test.ts on SQLite, jobs-*.mariadb.test.ts on MariaDB)
// and the config-version tests: real agent processes whose clash-stats and singbox-config are the
// test doubles in tests/fixtures/plugins, a second hub app on the same database, and rows seeded
// straight into the database.
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { Model } from 'objection';
import { createLogger } from '../../agent-core/common/logger.js';
import { buildApp } from '../../hub/app.js';
import type { HubConfig } from '../../hub/config.js';
import { Node } from '../../hub/db/models.js';
import type { ResetPolicy } from '../../hub/reset-policies.js';
import type { TrafficDeps } from '../../hub/jobs/traffic.js';
import { startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import type { TestHub } from '../support/hub.js';

export const fixture = (name: string) => path.resolve('tests/fixtures/plugins', name);
export const logger = createLogger({ service: 'hub', level: 'error' });
export const DAY_MS = 24 * 3_600_000;

/**
 * A real agent whose only plugins are the ledger and singbox-config test doubles (`singbox`:
 * fake-singbox-0.2.js for a node whose singbox-config predates users.sync's ledger_seq; `ledger`:
 * fake-ledger-0.3.js for one whose clash-stats predates the ledger id).
 */
export function startFakeNode(nodeId: string, { singbox = 'fake-singbox.js', ledger = 'fake-ledger.js' } = {}): Promise<AgentProcess> {
  return startAgentProcess({
    nodeId,
    configure: (config) => {
      config.plugins = {
        'clash-stats': { module: fixture(ledger) },
        'singbox-config': { module: fixture(singbox) },
      };
      config.reload_on_change = false;
    },
  });
}

export async function enroll(hub: TestHub, agent: AgentProcess, body: { tags?: string[]; multiplier?: number } = {}): Promise<Node> {
  const res = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes', headers: hub.auth, payload: { enrollment: agent.enrollment, ...body } });
  if (res.statusCode !== 201) throw new Error(`enroll failed: ${res.body}`);
  return (await Node.query(hub.app.db).findById(res.json().id))!;
}

/** Runs a plugin command on a node through the hub's API; throws on an error answer. */
export async function nodeCommand<T = any>(hub: TestHub, nodeId: string, command: string, body: object = {}): Promise<T> {
  const res = await hub.app.inject({ method: 'POST', url: `/api/v1/nodes/${nodeId}/commands/${command}`, headers: hub.auth, payload: body });
  if (res.statusCode !== 200) throw new Error(`${command} on ${nodeId}: ${res.statusCode} ${res.body}`);
  return res.json() as T;
}

/** Another hub process on the same database (and data dir): replicas, or the hub after a restart. */
export function joinHub(hub: TestHub, overrides: Partial<HubConfig> = {}, clock?: () => number): Promise<FastifyInstance> {
  return buildApp({ config: Object.freeze({ ...hub.config, ...overrides }), logger, clock });
}

/** Closes a joined hub. Objection's models share one knex (the last app built): point them back at the test hub's. */
export async function leave(app: FastifyInstance, hub: TestHub): Promise<void> {
  await app.close();
  Model.knex(hub.app.db);
}

export const trafficDeps = (app: FastifyInstance): TrafficDeps => ({ db: app.db, agents: app.agents, now: () => app.now(), logger });

/**
 * Two hubs in one process on one SQLite file: a writer waiting for the other's transaction blocks
 * the whole event loop (better-sqlite3 is synchronous), so the other can't finish until the wait
 * times out. Keep the wait short there; the jobs retry. (Several hubs in production means MySQL.)
 */
export async function shortSqliteWaits(...apps: FastifyInstance[]): Promise<void> {
  for (const app of apps) {
    if (!String(app.db.client.config.client).startsWith('mysql')) await app.db.raw('PRAGMA busy_timeout = 25');
  }
}

export async function seedPlan(
  db: Knex,
  name: string,
  options: { tags: string[]; limit?: number; reset?: ResetPolicy; resetDay?: number },
): Promise<number> {
  const now = Date.now();
  const [id] = await db('plans').insert({
    name,
    traffic_limit_bytes: options.limit ?? 10 ** 12,
    duration_days: 30,
    price: 0,
    is_enabled: true,
    node_tags: JSON.stringify(options.tags),
    reset_policy: options.reset ?? 'none',
    reset_day: options.resetDay ?? null,
    created_at: now,
    updated_at: now,
  });
  return Number(id);
}

export interface SeededSubscription {
  userId: number;
  subscriptionId: number;
}

/** A proxy user with one subscription (active unless said otherwise). */
export async function seedUser(
  db: Knex,
  name: string,
  options: {
    planId: number;
    now: number;
    total?: number;
    used?: number;
    status?: 'active' | 'suspended' | 'expired';
    suspendedReason?: 'quota' | 'admin' | null;
    endTime?: number;
    lastResetAt?: number;
  },
): Promise<SeededSubscription> {
  const wall = Date.now();
  const [userId] = await db('users').insert({
    name,
    note: '',
    status: 'active',
    uuid: randomUUID(),
    password: randomBytes(18).toString('base64url'),
    ss_key: randomBytes(32).toString('base64'),
    sub_token: randomBytes(24).toString('base64url'),
    created_at: wall,
    updated_at: wall,
  });
  const status = options.status ?? 'active';
  const [subscriptionId] = await db('subscriptions').insert({
    user_id: Number(userId),
    plan_id: options.planId,
    start_time: options.now - DAY_MS,
    end_time: options.endTime ?? options.now + 30 * DAY_MS,
    traffic_used_bytes: options.used ?? 0,
    traffic_total_bytes: options.total ?? 10 ** 12,
    status,
    suspended_reason: status === 'suspended' ? (options.suspendedReason ?? 'admin') : null,
    last_reset_at: options.lastResetAt ?? options.now - DAY_MS,
    created_at: wall,
    updated_at: wall,
  });
  return { userId: Number(userId), subscriptionId: Number(subscriptionId) };
}

/** A node row the hub cannot reach (nothing listens on port 1). */
export async function seedUnreachableNode(db: Knex, id: string, tags: string[] = []): Promise<void> {
  await Node.query(db).insert({ id, name: id, address: '127.0.0.1:1', insecure: true, token: 'x'.repeat(32), tags } as never);
}

export async function subscription(db: Knex, id: number) {
  const row = await db('subscriptions').where({ id }).first();
  return {
    status: row.status as string,
    suspended_reason: row.suspended_reason as string | null,
    used: Number(row.traffic_used_bytes),
    last_reset_at: Number(row.last_reset_at),
  };
}

export async function nodeRow(db: Knex, id: string) {
  const row = await db('nodes').where({ id }).first();
  return {
    ...row,
    ledger_seq: Number(row.ledger_seq),
    desired_revision: Number(row.desired_revision),
    applied_revision: Number(row.applied_revision),
    last_seen_at: row.last_seen_at === null ? null : Number(row.last_seen_at),
  } as Record<string, any>;
}
