// Seeded node rows for the node list's tests and benchmark: a node as the jobs would have left it
// (health and since when, sing-box status, a CPU/memory sample, traffic today, drift), written
// straight into the tables the list reads.
import type { Knex } from 'knex';
import { seedUnreachableNode } from './jobs.suite.js';

export interface SeededNode {
  id: string;
  tags?: string[];
  health?: 'unknown' | 'online' | 'offline';
  healthSince?: number;
  lastSeenAt?: number;
  /** singbox-config status as the live job stored it; none: never asked. */
  singbox?: { running: boolean; version: string; usersServed: number; at: number };
  /** cpu_percent and memory used/total of the node's samples, oldest first. */
  samples?: { time: number; cpu: number; memoryUsed: number; memoryTotal: number }[];
  /** Bytes today: one usage_hourly row and one usage_pending row (not rolled up yet). */
  usage?: { hour: number; userId: number; hourly: [number, number]; pending: [number, number] }[];
  driftSince?: number;
  inboundsUnreachableSince?: number;
}

export async function seedTableNode(db: Knex, node: SeededNode): Promise<void> {
  await seedUnreachableNode(db, node.id, node.tags ?? []);
  await db('nodes')
    .where({ id: node.id })
    .update({
      enabled: true,
      health: node.health ?? 'unknown',
      health_since: node.healthSince ?? null,
      last_seen_at: node.lastSeenAt ?? null,
      config_drift_since: node.driftSince ?? null,
      served_config_hash: node.driftSince === undefined ? null : 'f'.repeat(64),
      inbound_unhealthy_since: node.inboundsUnreachableSince ?? null,
    });
  if (node.singbox) {
    const { running, version, usersServed, at } = node.singbox;
    await db('node_live').insert({ node_id: node.id, singbox_running: running, singbox_version: version, users_served: usersServed, status_at: at, updated_at: at });
  }
  for (const s of node.samples ?? []) {
    const values = { cpu_percent: s.cpu, memory_used_bytes: s.memoryUsed, memory_total_bytes: s.memoryTotal, memory_available_bytes: s.memoryTotal - s.memoryUsed };
    await db('node_metrics').insert({ node_id: node.id, time: s.time, kind: 'cpu-memory', resolution: 'raw', values: JSON.stringify(values) });
  }
  for (const u of node.usage ?? []) {
    const [up, down] = u.hourly;
    await db('usage_hourly').insert({ node_id: node.id, user_id: u.userId, hour: u.hour, upload_bytes: up, download_bytes: down, billed_bytes: up + down });
    const [pendingUp, pendingDown] = u.pending;
    await db('usage_pending').insert({ node_id: node.id, hour: u.hour, upload_bytes: pendingUp, download_bytes: pendingDown, billed_bytes: pendingUp + pendingDown, cells: '[]' });
  }
}
