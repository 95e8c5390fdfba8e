// What every /sub request reads from the database: who holds the token now (user, current
// subscription, plan), which nodes may be handed out, and which profile template version of each
// format is current (a two-row answer). Requests arriving together share one read
// of each (coalesce.ts); nothing is kept between requests but the served nodes' revision.
//
// The served nodes are enabled, online, running a known base config: a drifted node serves another
// config than applied_config_version, so entries built from it would be wrong. While the hub checks
// inbounds from outside (hub/jobs/inbound-check.ts), a node it found unhealthy is left out too (it
// leaves the served set, so the revision changes and no cached body still names it). Their
// revision is not a counter that writers of the nodes table must remember to raise, but the rows
// themselves: each read compares the columns the renderer uses with the previous read's, and a
// difference makes a new revision. So a change by any writer (another hub, a job, an operator's
// SQL) shows on the next read, and the traffic counters, which the renderer does not read, never
// count. The SQL is written out once rather than built per read: the query builder cost more than
// the query.
import type { Knex } from 'knex';
import { selectRows } from '../db/queries.js';
import { coalesced } from './coalesce.js';
import type { EntryNode, InboundOverride } from './entries.js';
import { currentVersions, type TemplateVersions } from './templates-store.js';

/** The user behind a token, their current subscription (if any) and its plan (if any). */
export interface Holder {
  user: { id: number; name: string; status: string; uuid: string; password: string; ss_key: string; sub_token: string };
  subscription: {
    status: string;
    suspended_reason: string | null;
    end_time: number;
    traffic_used_bytes: number;
    traffic_total_bytes: number;
  } | null;
  plan: { name: string; node_tags: string[] } | null;
}

export interface ServedNode extends EntryNode {
  applied_config_version: number;
}

export interface ServedNodes {
  /** Process-local; a new number each time a read finds the served nodes (or a column of them read here) changed. */
  revision: number;
  nodes: ServedNode[];
}

export interface Lookup {
  holder: Holder;
  served: ServedNodes;
  /** The current profile template version of each format that has one (templates-store.ts). */
  templates: TemplateVersions;
}

/** Tokens are base64url; anything else is unknown without asking the database. */
const TOKEN = /^[A-Za-z0-9_-]{20,200}$/;

/**
 * Every node column the entries are built from, and nothing else: a column the body comes to
 * depend on is added here (and to ServedNode), nowhere else.
 */
const NODE_COLUMNS = ['id', 'name', 'address', 'public_host', 'inbound_overrides', 'tags', 'multiplier', 'unlock_marks', 'applied_config_version'] as const;
type NodeRow = Record<(typeof NODE_COLUMNS)[number], unknown>;

const servedNodesSql = (excludeUnhealthy: boolean) => `SELECT ${NODE_COLUMNS.join(', ')} FROM nodes
  WHERE enabled = ? AND health = 'online' AND applied_config_version IS NOT NULL AND config_drift_since IS NULL
  ${excludeUnhealthy ? 'AND inbound_unhealthy_since IS NULL' : ''}
  ORDER BY name, id`;

// As the admin API: the user's active or suspended subscription, else their newest one not cancelled.
const HOLDERS_SQL = `SELECT u.id, u.name, u.status, u.uuid, u.password, u.ss_key, u.sub_token,
    s.status AS sub_status, s.suspended_reason, s.end_time, s.traffic_used_bytes, s.traffic_total_bytes,
    p.name AS plan_name, p.node_tags
  FROM users u
  LEFT JOIN subscriptions s ON s.user_id = u.id AND s.id = (
    SELECT c.id FROM subscriptions c WHERE c.user_id = u.id AND c.status <> 'cancelled'
    ORDER BY CASE WHEN c.status IN ('active', 'suspended') THEN 0 ELSE 1 END, c.id DESC LIMIT 1)
  LEFT JOIN plans p ON p.id = s.plan_id
  WHERE u.sub_token IN `;

interface HolderRow {
  id: number;
  name: string;
  status: string;
  uuid: string;
  password: string;
  ss_key: string;
  sub_token: string;
  sub_status: string | null;
  suspended_reason: string | null;
  end_time: number | string | null;
  traffic_used_bytes: number | string | null;
  traffic_total_bytes: number | string | null;
  plan_name: string | null;
  node_tags: string | null;
}

function holderOf(r: HolderRow): Holder {
  return {
    user: { id: r.id, name: r.name, status: r.status, uuid: r.uuid, password: r.password, ss_key: r.ss_key, sub_token: r.sub_token },
    subscription:
      r.sub_status === null
        ? null
        : {
            status: r.sub_status,
            suspended_reason: r.suspended_reason,
            end_time: Number(r.end_time),
            traffic_used_bytes: Number(r.traffic_used_bytes),
            traffic_total_bytes: Number(r.traffic_total_bytes),
          },
    plan: r.plan_name === null ? null : { name: r.plan_name, node_tags: JSON.parse(r.node_tags ?? '[]') as string[] },
  };
}

const json = <T>(text: unknown, fallback: T): T => (typeof text === 'string' && text !== '' ? (JSON.parse(text) as T) : fallback);

/** Returns the reader of the served nodes: each call reads the table once. */
function servedNodesReader(db: Knex, excludeUnhealthy: boolean): () => Promise<ServedNodes> {
  const sql = servedNodesSql(excludeUnhealthy);
  let last: ServedNodes = { revision: 0, nodes: [] };
  let lastKey: string | undefined;
  return async () => {
    const rows = await selectRows<NodeRow>(db, sql, [true]);
    // Raw column values, so both databases' drivers give the same key for the same rows.
    const key = rows.map((r) => NODE_COLUMNS.map((c) => String(r[c] ?? '\u0000')).join('\u0001')).join('\u0002');
    if (key === lastKey) return last;
    lastKey = key;
    last = {
      revision: last.revision + 1,
      nodes: rows.map((r) => ({
        id: String(r.id),
        name: String(r.name),
        address: String(r.address),
        public_host: (r.public_host as string | null) ?? null,
        inbound_overrides: json<Record<string, InboundOverride> | null>(r.inbound_overrides, null),
        tags: json<string[]>(r.tags, []),
        multiplier: Number(r.multiplier),
        unlock_marks: (r.unlock_marks as string | null) ?? null,
        applied_config_version: Number(r.applied_config_version),
      })),
    };
    return last;
  };
}

export interface LookupOptions {
  /**
   * Leave out nodes the inbound check found unhealthy: on while that check runs
   * (inbound_check_interval_s > 0), so turning it off never holds a node out on old results.
   */
  excludeUnhealthy: boolean;
}

/** Returns the lookup: a token's holder with the served nodes, or null for an unknown token. */
export function subscriptionLookup(db: Knex, { excludeUnhealthy }: LookupOptions): (token: string) => Promise<Lookup | null> {
  const servedNodes = servedNodesReader(db, excludeUnhealthy);
  const load = coalesced(async (tokens: string[]) => {
    const [rows, served, templates] = await Promise.all([
      selectRows<HolderRow>(db, `${HOLDERS_SQL}(${tokens.map(() => '?').join(', ')})`, tokens),
      servedNodes(),
      currentVersions(db),
    ]);
    // Keyed by the token as stored: MySQL's collation would also match it in another letter case.
    return new Map(rows.map((r) => [r.sub_token, { holder: holderOf(r), served, templates }]));
  });
  return async (token) => (TOKEN.test(token) ? ((await load(token)) ?? null) : null);
}
