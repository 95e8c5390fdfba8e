// The node list's table figures (hub/node-table.ts) on GET /api/v1/nodes: each row from stored
// state only — health and since when (degraded while sing-box is stopped or users cannot reach the
// inbounds), sing-box state and version, users served against the users whose plans reach the node,
// exact traffic today, the latest CPU and memory, config drift — sorted and filtered by tag on the
// server, in a fixed number of queries however many nodes there are. Seeded rows; run on SQLite
// (node-table.test.ts) and MariaDB (node-table.mariadb.test.ts).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DatabaseKind, startTestHub, type TestHub } from '../support/hub.js';
import { seedPlan, seedUser } from './jobs.suite.js';
import { seedTableNode } from './node-table.seed.js';

const HOUR = 3_600_000;
const GB = 2 ** 30;

export function nodeTableSuite(kind: DatabaseKind): void {
  describe(`the node list as a table, hub on ${kind}`, { timeout: 60_000 }, () => {
    // 10:30 UTC: "today" starts at 00:00 UTC of this day.
    const clock = { now: Date.UTC(2031, 4, 6, 10, 30) };
    const midnight = Date.UTC(2031, 4, 6);
    const iso = (ms: number) => new Date(ms).toISOString();
    let hub: TestHub;

    const list = async (query = '') => {
      const res = await hub.app.inject({ method: 'GET', url: `/api/v1/nodes${query}`, headers: await hub.as('viewer') });
      expect(res.statusCode).toBe(200);
      return res.json().nodes as Record<string, any>[];
    };
    const ids = async (query: string) => (await list(query)).map((n) => n.id as string);

    beforeAll(async () => {
      hub = await startTestHub(kind, { clock: () => clock.now });
      const { db } = hub.app;
      const hk = await seedPlan(db, 'hk-plan', { tags: ['hk'] });
      const jp = await seedPlan(db, 'jp-plan', { tags: ['jp'] });
      // alice reaches hk and jp nodes (two plans, counted once on a node both reach); bob hk; carol jp but
      // suspended: she belongs on no node.
      const alice = (await seedUser(db, 'alice', { planId: hk, now: clock.now })).userId;
      await db('subscriptions').insert({ ...(await db('subscriptions').where({ user_id: alice }).first()), id: undefined, plan_id: jp });
      await seedUser(db, 'bob', { planId: hk, now: clock.now });
      await seedUser(db, 'carol', { planId: jp, now: clock.now, status: 'suspended' });

      await seedTableNode(db, {
        id: 'hk-1',
        tags: ['hk'],
        health: 'online',
        healthSince: clock.now - 5 * HOUR,
        lastSeenAt: clock.now - 10_000,
        singbox: { running: true, version: '1.11.4', usersServed: 2, at: clock.now - 20_000 },
        samples: [
          { time: clock.now - 120_000, cpu: 90, memoryUsed: 3 * GB, memoryTotal: 4 * GB },
          { time: clock.now - 60_000, cpu: 12.5, memoryUsed: GB, memoryTotal: 4 * GB },
        ],
        // Yesterday's 23:00 hour is not today; 00:00 and 09:00 are, in both usage tables.
        usage: [
          { hour: midnight - HOUR, userId: alice, hourly: [7000, 7000], pending: [0, 0] },
          { hour: midnight, userId: alice, hourly: [100, 200], pending: [10, 20] },
          { hour: midnight + 9 * HOUR, userId: alice, hourly: [1000, 2000], pending: [0, 5] },
        ],
      });
      await seedTableNode(db, {
        id: 'hkjp-drift',
        tags: ['hk', 'jp'],
        health: 'online',
        healthSince: clock.now - 2 * HOUR,
        lastSeenAt: clock.now - 5_000,
        singbox: { running: true, version: '1.11.4', usersServed: 1, at: clock.now - 20_000 },
        samples: [{ time: clock.now - 30_000, cpu: 55, memoryUsed: 2 * GB, memoryTotal: 4 * GB }],
        usage: [{ hour: midnight + 10 * HOUR, userId: alice, hourly: [500, 500], pending: [0, 0] }],
        driftSince: clock.now - HOUR,
      });
      await seedTableNode(db, {
        id: 'jp-down',
        tags: ['jp'],
        health: 'offline',
        healthSince: clock.now - 3 * HOUR,
        lastSeenAt: clock.now - 3 * HOUR,
        singbox: { running: true, version: '1.10.0', usersServed: 1, at: clock.now - 3 * HOUR },
      });
      await seedTableNode(db, {
        id: 'us-stopped',
        tags: ['us'],
        health: 'online',
        healthSince: clock.now - 8 * HOUR,
        lastSeenAt: clock.now - 1_000,
        singbox: { running: false, version: '1.11.4', usersServed: 0, at: clock.now - 20_000 },
        inboundsUnreachableSince: clock.now - 15 * 60_000,
      });
      await seedTableNode(db, { id: 'new-node', tags: ['us'] });
    });

    afterAll(async () => {
      await hub?.close();
    });

    it('shows each node from stored state: health, sing-box, users served / expected, traffic today, load, drift, last seen', async () => {
      const describe = vi.spyOn(hub.app.agents, 'describe');
      const execute = vi.spyOn(hub.app.agents, 'execute');
      try {
        const byId = new Map((await list()).map((n) => [n.id, n]));
        expect(describe).not.toHaveBeenCalled();
        expect(execute).not.toHaveBeenCalled();
        expect(byId.get('hk-1')).toMatchObject({
          condition: { state: 'online', since: iso(clock.now - 5 * HOUR), reasons: [] },
          singbox: { running: true, version: '1.11.4', checked_at: iso(clock.now - 20_000) },
          users: { served: 2, expected: 2 },
          // 100+200+10+20 at 00:00 and 1000+2000+0+5 at 09:00; yesterday's 14,000 bytes are not today's.
          traffic_today_bytes: 3335,
          cpu_percent: 12.5,
          memory_percent: 25,
          metrics_at: iso(clock.now - 60_000),
          drift: false,
          last_seen_at: iso(clock.now - 10_000),
        });
        expect(byId.get('hkjp-drift')).toMatchObject({
          users: { served: 1, expected: 2 },
          traffic_today_bytes: 1000,
          cpu_percent: 55,
          memory_percent: 50,
          drift: true,
          config_drift: { served_hash: 'f'.repeat(64), since: iso(clock.now - HOUR) },
        });
        expect(byId.get('jp-down')).toMatchObject({
          health: 'offline',
          condition: { state: 'offline', since: iso(clock.now - 3 * HOUR), reasons: [] },
          // What it served when last asked, with when that was.
          singbox: { running: true, version: '1.10.0', checked_at: iso(clock.now - 3 * HOUR) },
          users: { served: 1, expected: 1 },
          traffic_today_bytes: 0,
          cpu_percent: null,
          memory_percent: null,
          metrics_at: null,
        });
        expect(byId.get('us-stopped')).toMatchObject({
          health: 'online',
          condition: { state: 'degraded', since: iso(clock.now - 15 * 60_000), reasons: ['singbox-stopped', 'inbounds-unreachable'] },
          users: { served: 0, expected: 0 },
        });
        expect(byId.get('new-node')).toMatchObject({
          condition: { state: 'unknown', since: null, reasons: [] },
          singbox: null,
          users: { served: null, expected: 0 },
          last_seen_at: null,
        });
      } finally {
        describe.mockRestore();
        execute.mockRestore();
      }
    });

    it('sorts on the server, nodes without the figure last either way, and keeps the id order without a sort', async () => {
      expect(await ids('')).toEqual(['hk-1', 'hkjp-drift', 'jp-down', 'new-node', 'us-stopped']);
      expect(await ids('?sort=-name')).toEqual(['us-stopped', 'new-node', 'jp-down', 'hkjp-drift', 'hk-1']);
      expect(await ids('?sort=health')).toEqual(['jp-down', 'us-stopped', 'new-node', 'hk-1', 'hkjp-drift']);
      expect(await ids('?sort=-traffic_today')).toEqual(['hk-1', 'hkjp-drift', 'jp-down', 'new-node', 'us-stopped']);
      expect(await ids('?sort=-cpu')).toEqual(['hkjp-drift', 'hk-1', 'jp-down', 'new-node', 'us-stopped']);
      expect(await ids('?sort=memory')).toEqual(['hk-1', 'hkjp-drift', 'jp-down', 'new-node', 'us-stopped']);
      expect(await ids('?sort=-last_seen')).toEqual(['us-stopped', 'hkjp-drift', 'hk-1', 'jp-down', 'new-node']);
      expect(await ids('?sort=users_served')).toEqual(['us-stopped', 'hkjp-drift', 'jp-down', 'hk-1', 'new-node']);
      const bad = await hub.app.inject({ method: 'GET', url: '/api/v1/nodes?sort=address', headers: await hub.as('viewer') });
      expect(bad.statusCode).toBe(400);
    });

    it('filters by tag, sorted or not', async () => {
      expect(await ids('?tag=jp')).toEqual(['hkjp-drift', 'jp-down']);
      expect(await ids('?tag=hk&sort=-cpu')).toEqual(['hkjp-drift', 'hk-1']);
      expect(await ids('?tag=nowhere')).toEqual([]);
    });

    it('reads the list in as many queries for 30 nodes as for 5', async () => {
      const queries = async () => {
        let n = 0;
        const count = () => void n++;
        hub.app.db.on('query', count);
        try {
          await list('?sort=traffic_today');
        } finally {
          hub.app.db.off('query', count);
        }
        return n;
      };
      const few = await queries();
      // The signed-in admin, nodes, node_status, node_live, the latest samples, usage in two tables, the entitled users.
      expect(few).toBe(8);
      for (let i = 0; i < 25; i++) {
        await seedTableNode(hub.app.db, {
          id: `more-${i}`,
          tags: ['hk'],
          health: 'online',
          healthSince: clock.now,
          singbox: { running: true, version: '1.11.4', usersServed: 2, at: clock.now },
          samples: [{ time: clock.now - 1000, cpu: i, memoryUsed: GB, memoryTotal: 2 * GB }],
        });
      }
      expect(await list()).toHaveLength(30);
      expect(await queries()).toBe(few);
    });
  });
}
