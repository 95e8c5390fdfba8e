// The node list's figures per node, all from stored state (no agent is asked): health and since
// when, sing-box running and its version and the users the node serves (the live job's record of
// singbox-config.status), the users that belong on it, its traffic today, its latest CPU and
// memory sample, and config drift. A fixed number of queries for any number of nodes, so the
// list's cost does not grow with a query per node. Sorting and the tag filter are the server's too,
// so the dashboard's table shows what the hub ordered.
import type { Knex } from 'knex';
import { iso, type Node } from './db/models.js';
import { entitlements, usersExpected } from './fleet.js';
import { percent } from './jobs/alerts.js';
import { parseSort, type SortValue } from './sort.js';
import { startOfUtcDay, usageByNode } from './usage-today.js';

export const NODE_SORTS = ['name', 'health', 'traffic_today', 'cpu', 'memory', 'last_seen', 'users_served'] as const;
export type NodeSort = (typeof NODE_SORTS)[number];

export type Condition = 'offline' | 'degraded' | 'unknown' | 'online';
/** The order of a health sort, worst first. */
const CONDITION_RANK: Record<Condition, number> = { offline: 0, degraded: 1, unknown: 2, online: 3 };

export interface NodeFigures {
  condition: { state: Condition; since: string | null; reasons: ('singbox-stopped' | 'inbounds-unreachable')[] };
  singbox: { running: boolean; version: string | null; checked_at: string } | null;
  users: { served: number | null; expected: number };
  traffic_today_bytes: number;
  cpu_percent: number | null;
  memory_percent: number | null;
  metrics_at: string | null;
  drift: boolean;
}

interface LiveRow {
  node_id: string;
  singbox_running: number | boolean | null;
  singbox_version: string | null;
  users_served: number | string | null;
  status_at: number | string | null;
}

interface MetricRow {
  node_id: string;
  time: number | string;
  values: string;
}

/** The latest raw cpu-memory sample of every node that has one, in one query. */
async function latestLoad(db: Knex): Promise<Map<string, { cpu: number | null; memory: number | null; at: number }>> {
  const raw = { resolution: 'raw', kind: 'cpu-memory' };
  const latest = db('node_metrics').where(raw).groupBy('node_id').select('node_id').max({ time: 'time' }).as('latest');
  const rows = (await db('node_metrics as m')
    .join(latest, (j) => j.on('latest.node_id', 'm.node_id').andOn('latest.time', 'm.time'))
    .where({ 'm.resolution': 'raw', 'm.kind': 'cpu-memory' })
    .select('m.node_id', 'm.time', 'm.values')) as MetricRow[];
  return new Map(
    rows.map((r) => {
      const v = JSON.parse(r.values) as Record<string, number | null>;
      return [r.node_id, { cpu: typeof v.cpu_percent === 'number' ? Math.round(v.cpu_percent * 10) / 10 : null, memory: percent(v.memory_used_bytes, v.memory_total_bytes), at: Number(r.time) }];
    }),
  );
}

/** Each node's figures, by node id. */
export async function nodeFigures(db: Knex, nodes: readonly Node[], now: number): Promise<Map<string, NodeFigures>> {
  const [live, load, today, entitled] = await Promise.all([
    db('node_live').select('node_id', 'singbox_running', 'singbox_version', 'users_served', 'status_at') as Promise<LiveRow[]>,
    latestLoad(db),
    usageByNode(db, startOfUtcDay(now), now),
    entitlements(db, now),
  ]);
  const liveOf = new Map(live.map((r) => [r.node_id, r]));
  const expected = usersExpected(entitled, nodes);
  return new Map(
    nodes.map((node) => {
      const status = liveOf.get(node.id);
      const reported = status?.status_at != null && status.singbox_running !== null;
      const singbox = reported ? { running: Boolean(status.singbox_running), version: status.singbox_version, checked_at: iso(status.status_at)! } : null;
      const bytes = today.get(node.id);
      const sample = load.get(node.id);
      return [
        node.id,
        {
          condition: conditionOf(node, singbox),
          singbox,
          users: { served: reported && status.users_served !== null ? Number(status.users_served) : null, expected: expected.get(node.id) ?? 0 },
          traffic_today_bytes: bytes ? bytes.upload_bytes + bytes.download_bytes : 0,
          cpu_percent: sample?.cpu ?? null,
          memory_percent: sample?.memory ?? null,
          metrics_at: iso(sample?.at),
          drift: node.config_drift_since !== null && node.config_drift_since !== undefined,
        },
      ];
    }),
  );
}

/**
 * offline and online as the jobs last found the node; an online node is degraded while sing-box is
 * not running or users cannot reach its inbounds. The since of a degraded node is when its inbounds
 * became unreachable (a stopped sing-box alone has no known start: null).
 */
function conditionOf(node: Node, singbox: NodeFigures['singbox']): NodeFigures['condition'] {
  if (node.health !== 'online') return { state: node.health, since: iso(node.health_since), reasons: [] };
  const reasons: NodeFigures['condition']['reasons'] = [];
  if (singbox && !singbox.running) reasons.push('singbox-stopped');
  if (node.inbound_unhealthy_since) reasons.push('inbounds-unreachable');
  if (reasons.length === 0) return { state: 'online', since: iso(node.health_since), reasons };
  return { state: 'degraded', since: iso(node.inbound_unhealthy_since), reasons };
}

/** The value a sort compares; null sorts last whichever the order. */
const SORT_KEY: Record<NodeSort, (node: Node, f: NodeFigures) => string | number | null> = {
  name: (node) => node.name.toLowerCase(),
  health: (_node, f) => CONDITION_RANK[f.condition.state],
  traffic_today: (_node, f) => f.traffic_today_bytes,
  cpu: (_node, f) => f.cpu_percent,
  memory: (_node, f) => f.memory_percent,
  last_seen: (node) => (node.last_seen_at === null ? null : Number(node.last_seen_at)),
  users_served: (_node, f) => f.users.served,
};

/** The nodes carrying `tag` (all without one), ordered by `sort` (then by name and id), or left in their order without one. */
export function arrange<T extends { node: Node; figures: NodeFigures }>(rows: T[], options: { tag?: string; sort?: SortValue<NodeSort> }): T[] {
  const kept = options.tag === undefined ? rows : rows.filter((r) => r.node.tags.includes(options.tag!));
  if (options.sort === undefined) return kept;
  const { key: column, descending } = parseSort(options.sort);
  const key = SORT_KEY[column];
  const sign = descending ? -1 : 1;
  const keyed = kept.map((row) => ({ row, key: key(row.node, row.figures) }));
  keyed.sort((a, b) => {
    if (a.key !== b.key) {
      if (a.key === null) return 1;
      if (b.key === null) return -1;
      return (a.key < b.key ? -1 : 1) * sign;
    }
    return a.row.node.name.localeCompare(b.row.node.name) || (a.row.node.id < b.row.node.id ? -1 : 1);
  });
  return keyed.map((k) => k.row);
}
