// The traffic job against a real agent process whose clash-stats is the in-memory ledger double:
// every byte billed exactly once through repeated drains, a hub dying between commit and ack, two
// hubs draining at once, and a node whose ledger was replaced (its agent reinstalled); the node's
// running totals (the hub's /metrics counters) agree. The per-node detail waits in usage_pending
// until the usage-rollup job folds it into usage_hourly, exactly once even when a roll-up fails. Run on SQLite by jobs-traffic.test.ts, on
// MariaDB by jobs-traffic.mariadb.test.ts.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditEntry, Node } from '../../hub/db/models.js';
import { HubError } from '../../hub/errors.js';
import { applyLedgerBatch, drainNode, groupingApplier, hourOf, LEDGER_REPLACED_ACTION, type TrafficSummary } from '../../hub/jobs/traffic.js';
import { runUsageRollup } from '../../hub/jobs/usage-rollup.js';
import type { AgentProcess } from '../support/agent-process.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { metricValue } from '../support/prometheus.js';
import {
  enroll,
  joinHub,
  leave,
  nodeCommand,
  nodeRow,
  seedPlan,
  seedUnreachableNode,
  seedUser,
  shortSqliteWaits,
  startFakeNode,
  subscription,
  trafficDeps,
  type SeededSubscription,
} from './jobs.suite.js';

const MULTIPLIER = 1.5;

interface LedgerState {
  head_seq: number;
  acked_seq: number;
  ledger_id: string;
  pending: number;
  acks: number;
  totals: Record<string, { upload_bytes: number; download_bytes: number }>;
}

export function trafficJobSuite(kind: DatabaseKind): void {
  describe(`traffic job, hub on ${kind}`, () => {
    const NODE = `traffic-${kind}`;
    const clock = { now: Date.UTC(2031, 4, 6, 10, 30) };
    let agent: AgentProcess;
    let hub: TestHub;
    const extra: FastifyInstance[] = [];
    let planId: number;
    let alice: SeededSubscription;
    let bob: SeededSubscription;

    const append = (user: string, upload_bytes: number, download_bytes: number, count = 1, time?: number) =>
      nodeCommand(hub, NODE, 'clash-stats.traffic.append', { user, upload_bytes, download_bytes, count, ...(time ? { time: new Date(time).toISOString() } : {}) });
    const ledger = () => nodeCommand<LedgerState>(hub, NODE, 'clash-stats.traffic.state');
    /** Folds the pending usage into usage_hourly, as the usage-rollup job does. */
    const rollUp = (options = {}) => runUsageRollup(trafficDeps(hub.app), options);
    const pendingRows = () => hub.app.db('usage_pending').orderBy('id');
    /** A user's usage_hourly rows on the node, once what is pending is rolled up. */
    const usage = async (userId: number) => {
      await rollUp();
      const rows = await hub.app.db('usage_hourly').where({ node_id: NODE, user_id: userId }).orderBy('hour');
      return rows.map((r) => ({ hour: Number(r.hour), up: Number(r.upload_bytes), down: Number(r.download_bytes), billed: Number(r.billed_bytes) }));
    };
    const billedTotal = async (userId: number) => (await usage(userId)).reduce((n, r) => n + r.billed, 0);
    const rawTotals = async (userId: number) =>
      (await usage(userId)).reduce((t, r) => ({ up: t.up + r.up, down: t.down + r.down }), { up: 0, down: 0 });
    const node = async () => (await Node.query(hub.app.db).findById(NODE))!;
    /** A tick on the test hub; a minute passes first, so a lease another hub took has run out. */
    const runTraffic = (app = hub.app) => {
      clock.now += 61_000;
      return app.jobs.run('traffic');
    };
    /** Another hub on the same database, ticking on the test clock (closed by afterAll if a test fails first). */
    const secondHub = async () => {
      const other = await joinHub(hub, {}, () => clock.now);
      extra.push(other);
      await shortSqliteWaits(hub.app, other);
      return other;
    };
    /** The node's agent reinstalled: a new, empty ledger with another id, counting from 1 again. */
    const replaceLedger = () => nodeCommand<{ ledger_id: string }>(hub, NODE, 'clash-stats.traffic.replace');
    /** The node's row once it billed a few more entries of its current ledger. */
    const drainedSome = async () => {
      await append('bob', 1, 1, 5);
      await runTraffic();
      return nodeRow(hub.app.db, NODE);
    };
    const replacedAudit = () => AuditEntry.query(hub.app.db).where({ action: LEDGER_REPLACED_ACTION, target: NODE }).orderBy('id');

    /** The node's bytes in both usage tables, as today's traffic counts them. */
    const nodeUsage = async () => {
      const sums = await Promise.all(
        ['usage_hourly', 'usage_pending'].map((table) => hub.app.db(table).where({ node_id: NODE }).sum({ up: 'upload_bytes', down: 'download_bytes', billed: 'billed_bytes' }).first()),
      );
      return ['up', 'down', 'billed'].map((k) => sums.reduce((n, row) => n + Number((row as Record<string, unknown> | undefined)?.[k] ?? 0), 0));
    };

    /** Everything in the ledger is in the database exactly once, and the subscription agrees. */
    const expectExactlyOnce = async () => {
      // Before the roll-up, the node's totals are already its usage in both tables.
      const before = await nodeRow(hub.app.db, NODE);
      expect([before.upload_bytes_total, before.download_bytes_total, before.billed_bytes_total].map(Number)).toEqual(await nodeUsage());
      const state = await ledger();
      for (const [name, sub] of [['alice', alice], ['bob', bob]] as const) {
        const totals = state.totals[name] ?? { upload_bytes: 0, download_bytes: 0 };
        expect(await rawTotals(sub.userId)).toEqual({ up: totals.upload_bytes, down: totals.download_bytes });
        expect((await subscription(hub.app.db, sub.subscriptionId)).used).toBe(await billedTotal(sub.userId));
      }
      const row = await nodeRow(hub.app.db, NODE);
      expect(row.ledger_seq).toBe(state.head_seq);
      expect(await pendingRows()).toEqual([]);
      // The node's running totals are exactly its usage rows, summed.
      const sums = await hub.app.db('usage_hourly').where({ node_id: NODE }).sum({ up: 'upload_bytes', down: 'download_bytes', billed: 'billed_bytes' }).first();
      expect([row.upload_bytes_total, row.download_bytes_total, row.billed_bytes_total].map(Number)).toEqual(
        [sums?.up, sums?.down, sums?.billed].map((v) => Number(v ?? 0)),
      );
    };

    beforeAll(async () => {
      [agent, hub] = await Promise.all([startFakeNode(NODE), startTestHub(kind, { clock: () => clock.now })]);
      await enroll(hub, agent, { tags: ['traffic'], multiplier: MULTIPLIER });
      planId = await seedPlan(hub.app.db, 'traffic-plan', { tags: ['traffic'] });
      alice = await seedUser(hub.app.db, 'alice', { planId, now: clock.now });
      bob = await seedUser(hub.app.db, 'bob', { planId, now: clock.now });
    });

    afterAll(async () => {
      for (const app of extra) await leave(app, hub);
      await hub?.close();
      await agent?.stop();
    });

    it('bills every ledger byte once: raw bytes per user and hour, billed × the node multiplier, added to the subscription', async () => {
      const h1 = Date.UTC(2031, 4, 6, 8, 15);
      const h2 = Date.UTC(2031, 4, 6, 9, 59, 59);
      await append('alice', 1000, 2000, 3, h1);
      await append('alice', 11, 20, 1, h2);
      await append('bob', 501, 0, 1, h2);

      const run = await runTraffic();
      expect(run).toMatchObject({ ran: true, result: { nodes: 1, failed: 0, entries: 5, conflicts: 0 } });

      expect(await usage(alice.userId)).toEqual([
        { hour: hourOf(h1), up: 3000, down: 6000, billed: 13_500 },
        { hour: hourOf(h2), up: 11, down: 20, billed: Math.round(31 * MULTIPLIER) },
      ]);
      expect(hourOf(h2)).toBe(Date.UTC(2031, 4, 6, 9));
      expect(await usage(bob.userId)).toEqual([{ hour: hourOf(h2), up: 501, down: 0, billed: Math.round(501 * MULTIPLIER) }]);
      expect((await subscription(hub.app.db, alice.subscriptionId)).used).toBe(13_500 + 47);
      expect((await subscription(hub.app.db, bob.subscriptionId)).used).toBe(752);

      const row = await nodeRow(hub.app.db, NODE);
      expect(row).toMatchObject({ ledger_seq: 5, health: 'online', last_error: null, last_seen_at: clock.now });
      expect(await ledger()).toMatchObject({ head_seq: 5, acked_seq: 5, pending: 0 });
      await expectExactlyOnce();
    });

    it('changes nothing when the ledger is drained again, or when a batch is applied a second time', async () => {
      const before = await usage(alice.userId);
      expect(await runTraffic()).toMatchObject({ ran: true, result: { entries: 0 } });
      expect(await usage(alice.userId)).toEqual(before);

      // The same batch again, from the position it was drained at: ledger_seq has moved on.
      const outcome = await applyLedgerBatch(hub.app.db, {
        nodeId: NODE,
        multiplier: MULTIPLIER,
        nodeTags: ['traffic'],
        afterSeq: 0,
        entries: [{ seq: 1, time: new Date(clock.now).toISOString(), user: 'alice', upload_bytes: 1000, download_bytes: 2000 }],
        now: clock.now,
      });
      expect(outcome).toMatchObject({ applied: false, usageRows: 0 });
      expect(await usage(alice.userId)).toEqual(before);
      await expectExactlyOnce();
    });

    it('drains a backlog batch by batch, each committed and acknowledged before the next drain', async () => {
      const acksBefore = (await ledger()).acks;
      await append('bob', 7, 3, 25);
      const result = await drainNode(trafficDeps(hub.app), await node(), { batchSize: 7 });
      expect(result).toMatchObject({ entries: 25, batches: 4, conflicts: 0 });
      expect(result.error).toBeUndefined();
      expect(await ledger()).toMatchObject({ acks: acksBefore + 4, pending: 0 });
      await expectExactlyOnce();
    });

    it("bills bytes a node timed after the hub's now (its clock ahead) into the hub's hour, never a future one", async () => {
      await rollUp();
      await append('alice', 3, 4, 1, clock.now + 5 * 3_600_000);
      await runTraffic();
      expect((await pendingRows()).map((r) => Number(r.hour))).toEqual([hourOf(clock.now)]);
      await rollUp();
    });

    it("keeps each tick's per-node detail pending, one row per node and hour, until a roll-up folds it into usage_hourly once", async () => {
      await rollUp();
      const h = Date.UTC(2031, 4, 7, 3, 5);
      // The hub's clock after the bytes' hours: a drain never bills into an hour after its own now.
      clock.now = Math.max(clock.now, h + 2 * 3_600_000);
      const hourly = (userId: number) => hub.app.db('usage_hourly').where({ node_id: NODE, user_id: userId }).andWhere('hour', '>=', hourOf(h)).orderBy('hour');
      const usedBefore = (await subscription(hub.app.db, alice.subscriptionId)).used;
      await append('alice', 10, 20, 2, h);
      await append('bob', 1, 2, 1, h);
      await runTraffic();
      await append('alice', 5, 5, 1, h);
      await append('alice', 7, 0, 1, h + 3_600_000);
      await runTraffic();

      // One row for the first tick, two for the second (two hours); the subscription is billed already.
      expect((await pendingRows()).map((r) => [r.node_id, Number(r.hour), Number(r.upload_bytes), Number(r.download_bytes), Number(r.billed_bytes)])).toEqual([
        [NODE, hourOf(h), 21, 42, 90 + 5],
        [NODE, hourOf(h), 5, 5, 15],
        [NODE, hourOf(h) + 3_600_000, 7, 0, 11],
      ]);
      expect((await subscription(hub.app.db, alice.subscriptionId)).used).toBe(usedBefore + 90 + 15 + 11);
      expect(await hourly(alice.userId)).toEqual([]);

      expect(await hub.app.jobs.run('usage-rollup')).toMatchObject({ ran: true, result: { nodes: 1, pending_rows: 3, usage_rows: 3, dropped_cells: 0, conflicts: 0 } });
      const folded = (await hourly(alice.userId)).map((r) => [Number(r.hour), Number(r.upload_bytes), Number(r.download_bytes), Number(r.billed_bytes)]);
      expect(folded).toEqual([
        [hourOf(h), 25, 45, 105],
        [hourOf(h) + 3_600_000, 7, 0, 11],
      ]);
      expect((await hourly(bob.userId)).map((r) => Number(r.billed_bytes))).toEqual([5]);
      expect(await pendingRows()).toEqual([]);

      // A second roll-up finds nothing and adds nothing.
      expect(await rollUp()).toMatchObject({ nodes: 0, pending_rows: 0, usage_rows: 0 });
      expect((await hourly(alice.userId)).map((r) => [Number(r.hour), Number(r.upload_bytes), Number(r.download_bytes), Number(r.billed_bytes)])).toEqual(folded);
      await expectExactlyOnce();
    });

    it('leaves pending rows and usage_hourly as they were when a roll-up fails part-way, and the next one folds them once', async () => {
      const h = Date.UTC(2031, 4, 7, 5, 0);
      clock.now = Math.max(clock.now, h + 3_600_000);
      await append('alice', 100, 1, 1, h);
      await runTraffic();
      // A second node in the same roll-up transaction, after this one, whose row cannot be read.
      const broken = `${NODE}-z`;
      await seedUnreachableNode(hub.app.db, broken, ['traffic']);
      try {
        await hub.app.db('usage_pending').insert({ node_id: broken, hour: hourOf(h), upload_bytes: 3, download_bytes: 4, billed_bytes: 7, cells: '[1, 2' });
        const pendingBefore = await pendingRows();
        const hourlyBefore = await hub.app.db('usage_hourly').orderBy(['node_id', 'user_id', 'hour']);

        await expect(rollUp({ nodesPerTransaction: 2 })).rejects.toThrow(/usage roll-up: 1 of 1 transactions failed, their rows stay pending: usage_pending row \d+: its cells are not/);
        expect(await pendingRows()).toEqual(pendingBefore);
        expect(await hub.app.db('usage_hourly').orderBy(['node_id', 'user_id', 'hour'])).toEqual(hourlyBefore);

        // Repaired, it rolls up with the rest, once.
        await hub.app.db('usage_pending').where({ node_id: broken }).update({ cells: JSON.stringify([bob.userId, 3, 4, 7]) });
        expect(await rollUp({ nodesPerTransaction: 2 })).toMatchObject({ nodes: 2, pending_rows: 2, usage_rows: 2 });
        expect(await rollUp({ nodesPerTransaction: 2 })).toMatchObject({ nodes: 0, usage_rows: 0 });
        const added = await hub.app.db('usage_hourly').where({ hour: hourOf(h) }).orderBy('node_id').select('node_id', 'user_id', 'upload_bytes', 'billed_bytes');
        expect(added.map((r) => [r.node_id, r.user_id, Number(r.upload_bytes), Number(r.billed_bytes)])).toEqual([
          [NODE, alice.userId, 100, 152],
          [broken, bob.userId, 3, 7],
        ]);
      } finally {
        await hub.app.db('nodes').where({ id: broken }).delete();
      }
      await expectExactlyOnce();
    });

    it('folds pending rows once when two hubs roll up at once', async () => {
      await append('alice', 3, 3, 4);
      await append('bob', 2, 2, 2);
      await runTraffic();
      const other = await secondHub();
      const summaries = await Promise.all([rollUp(), runUsageRollup(trafficDeps(other))]);
      await leave(extra.pop()!, hub);
      expect(summaries.reduce((n, r) => n + r.pending_rows, 0)).toBe(1);
      await expectExactlyOnce();
    });

    it("counts usage not rolled up yet in today's traffic and the daily figures, exactly", async () => {
      await rollUp();
      const read = async () => {
        const [daily, overview] = await Promise.all(['/api/v1/usage/daily?days=1', '/api/v1/overview'].map((url) => hub.app.inject({ method: 'GET', url, headers: hub.auth })));
        return { daily: daily!.json()[0], today: overview!.json().traffic_today_bytes as number };
      };
      const before = await read();
      await append('bob', 1000, 24, 1, clock.now);
      await runTraffic();
      const pending = await read();
      expect(await pendingRows()).toHaveLength(1);
      expect(pending.today).toBe(before.today + 1024);
      expect(pending.daily).toEqual({ ...before.daily, upload_bytes: before.daily.upload_bytes + 1000, download_bytes: before.daily.download_bytes + 24, billed_bytes: before.daily.billed_bytes + 1536 });
      await rollUp();
      expect(await read()).toEqual(pending);
    });

    it('re-drains from the committed position after a hub dies between commit and ack, billing nothing twice', async () => {
      await append('alice', 100, 200, 3);
      const execute = hub.app.agents.execute.bind(hub.app.agents);
      const spy = vi.spyOn(hub.app.agents, 'execute').mockImplementation(async (n, command, input, requestId) => {
        if (command === 'clash-stats.traffic.ack') throw new HubError('HUB_ERR_AGENT_UNREACHABLE', `node ${n.id}: the hub died before the ack`);
        return execute(n, command, input, requestId);
      });
      try {
        const first = await runTraffic();
        expect(first).toMatchObject({ ran: true, result: { entries: 3, failed: 1 } });
      } finally {
        spy.mockRestore();
      }
      const state = await ledger();
      expect(state.pending).toBe(3);
      expect(state.acked_seq).toBeLessThan(state.head_seq);
      expect((await nodeRow(hub.app.db, NODE)).ledger_seq).toBe(state.head_seq);

      // A fresh hub process (nothing in memory) takes over once the dead one's lease ran out.
      const restarted = await joinHub(hub, {}, () => clock.now);
      const second = await runTraffic(restarted);
      await leave(restarted, hub);
      expect(second).toMatchObject({ ran: true, result: { entries: 0, failed: 0 } });
      expect(await ledger()).toMatchObject({ pending: 0, acked_seq: state.head_seq });
      await expectExactlyOnce();
      expect((await nodeRow(hub.app.db, NODE)).last_error).toBeNull();
    });

    it('lets exactly one of two appliers of the same batch apply it', async () => {
      const position = (await nodeRow(hub.app.db, NODE)).ledger_seq;
      const batch = {
        nodeId: NODE,
        multiplier: MULTIPLIER,
        nodeTags: ['traffic'],
        afterSeq: position,
        entries: [{ seq: position + 1, time: new Date(clock.now).toISOString(), user: 'bob', upload_bytes: 40, download_bytes: 2 }],
        now: clock.now,
      };
      const other = await joinHub(hub, {}, () => clock.now);
      await shortSqliteWaits(hub.app, other);
      const before = (await subscription(hub.app.db, bob.subscriptionId)).used;
      const outcomes = await Promise.all([applyLedgerBatch(hub.app.db, batch), applyLedgerBatch(other.db, batch)]).finally(() => leave(other, hub));
      expect(outcomes.map((o) => o.applied).sort()).toEqual([false, true]);
      expect((await subscription(hub.app.db, bob.subscriptionId)).used).toBe(before + 63);
      // Put the ledger and the database back in step: the entry now exists on the node too.
      await append('bob', 40, 2, 1);
      await runTraffic();
      await expectExactlyOnce();
    });

    it("applies the batches of nodes drained at once together, each billed as if alone; one node's unusable batch holds back no other", async () => {
      const grace = await seedUser(hub.app.db, 'grace', { planId, now: clock.now });
      const [b, c, d] = [`${NODE}-b`, `${NODE}-c`, `${NODE}-d`] as const;
      for (const id of [b, c, d]) await seedUnreachableNode(hub.app.db, id, ['traffic']);
      const time = new Date(clock.now).toISOString();
      const entry = (seq: number, user: string, upload_bytes: number, download_bytes: number) => ({ seq, time, user, upload_bytes, download_bytes });
      const batch = (nodeId: string, multiplier: number, entries: ReturnType<typeof entry>[]) => ({ nodeId, multiplier, nodeTags: ['traffic'], afterSeq: 0, entries, now: clock.now });
      try {
        const apply = groupingApplier(hub.app.db);
        // Handed over together, as the tick's concurrent drains do: one group, which d's bad byte count fails.
        const outcomes = await Promise.allSettled([
          apply(batch(b, 2, [entry(1, 'grace', 100, 10), entry(2, 'grace', 1, 0), entry(3, 'nobody', 7, 0)])),
          apply(batch(c, 1, [entry(1, 'grace', 5, 5)])),
          apply(batch(d, 1, [entry(1, 'grace', 1000, 0), entry(2, 'grace', 0.5, 0)])),
        ]);
        expect(outcomes[0]).toMatchObject({ status: 'fulfilled', value: { applied: true, seq: 3, usageRows: 1, billedBytes: 222, unknownUsers: { entries: 1, bytes: 7, names: ['nobody'] } } });
        expect(outcomes[1]).toMatchObject({ status: 'fulfilled', value: { applied: true, seq: 1, usageRows: 1, billedBytes: 10 } });
        expect(outcomes[2]).toMatchObject({ status: 'rejected', reason: { code: 'HUB_ERR_AGENT_FAILED' } });
        expect((await subscription(hub.app.db, grace.subscriptionId)).used).toBe(232);
        expect(await usage(grace.userId)).toEqual([]); // all of it on the other nodes
        const rows = await hub.app.db('usage_hourly').where({ user_id: grace.userId }).orderBy('node_id');
        expect(rows.map((r) => [r.node_id, Number(r.upload_bytes), Number(r.download_bytes), Number(r.billed_bytes)])).toEqual([
          [b, 101, 10, 222],
          [c, 5, 5, 10],
        ]);
        expect(await Promise.all([b, c, d].map(async (id) => (await nodeRow(hub.app.db, id)).ledger_seq))).toEqual([3, 1, 0]);
      } finally {
        await hub.app.db('nodes').whereIn('id', [b, c, d]).delete();
      }
    });

    it('bills exactly the ledger bytes when two hubs on one database drain at once, many times', async () => {
      const other = await secondHub();
      for (let round = 0; round < 8; round++) {
        await append('alice', 1 + round, 1000 + round, 1 + (round % 3));
        await append('bob', 3, 5 * round, 2);
        clock.now += 61_000; // whichever hub asks first gets this minute's lease
        const [a, b, c, d] = await Promise.all([
          hub.app.jobs.run('traffic'),
          other.jobs.run('traffic'),
          // And both drain directly, without the lease: only ledger_seq keeps them apart.
          Node.query(hub.app.db).findById(NODE).then((n) => drainNode(trafficDeps(hub.app), n!)),
          Node.query(other.db).findById(NODE).then((n) => drainNode(trafficDeps(other), n!)),
        ]);
        expect([a.ran, b.ran].filter(Boolean)).toHaveLength(1);
        for (const r of [c, d]) expect(r.error).toBeUndefined();
      }
      await leave(extra.pop()!, hub);
      await runTraffic();
      await expectExactlyOnce();
      expect(await ledger()).toMatchObject({ pending: 0 });
    });

    it('marks an unreachable node offline with the reason and still drains the others', async () => {
      await seedUnreachableNode(hub.app.db, 'ghost-traffic');
      await append('alice', 5, 5);
      const run = await runTraffic();
      expect(run).toMatchObject({ ran: true, result: { nodes: 2, failed: 1, entries: 1 } });
      const ghost = await nodeRow(hub.app.db, 'ghost-traffic');
      expect(ghost).toMatchObject({ health: 'offline', ledger_seq: 0 });
      expect(ghost.last_error).toMatch(/^traffic: node ghost-traffic: .*ECONNREFUSED/);
      expect(await nodeRow(hub.app.db, NODE)).toMatchObject({ health: 'online', last_error: null });
      await expectExactlyOnce();
      await hub.app.db('nodes').where({ id: 'ghost-traffic' }).delete();
    });

    it('skips the bytes of users the hub does not know, says how many, and moves past them', async () => {
      await append('mallory', 999, 999, 2);
      await append('bob', 1, 1);
      const run = await runTraffic();
      expect(run).toMatchObject({ ran: true, result: { entries: 3, unknown_user_entries: 2, failed: 0 } });
      expect(await ledger()).toMatchObject({ pending: 0 });
      const state = await ledger();
      expect((await nodeRow(hub.app.db, NODE)).ledger_seq).toBe(state.head_seq);
      expect(await rawTotals(bob.userId)).toEqual({ up: state.totals.bob!.upload_bytes, down: state.totals.bob!.download_bytes });
    });

    it("records the ledger's id with the position it drains to", async () => {
      await append('bob', 4, 4);
      await runTraffic();
      expect(await nodeRow(hub.app.db, NODE)).toMatchObject({ ledger_id: (await ledger()).ledger_id, ledger_seq: (await ledger()).head_seq });
    });

    it('bills every entry of a replaced ledger that is still shorter than the old position, and says it was replaced', async () => {
      const old = await drainedSome();
      const { ledger_id: newId } = await replaceLedger();
      await append('alice', 70, 30, 2);
      await append('bob', 9, 1);

      const run = await runTraffic();
      expect(run).toMatchObject({ ran: true, result: { failed: 0, entries: 3 } });
      const replaced = { old_ledger_id: old.ledger_id, new_ledger_id: newId, old_seq: old.ledger_seq, new_seq: 0 };
      expect((run as { result: TrafficSummary }).result.results).toEqual([expect.objectContaining({ node_id: NODE, seq: 3, ledger_replaced: replaced })]);
      expect(await nodeRow(hub.app.db, NODE)).toMatchObject({ ledger_seq: 3, ledger_id: newId, health: 'online', last_error: null });
      // The users go to the node again, with a position in its new ledger.
      expect((await nodeRow(hub.app.db, NODE)).desired_revision).toBe(old.desired_revision + 1);
      expect((await replacedAudit()).map((a) => [a.admin, a.result, a.input])).toEqual([['traffic', 'ok', replaced]]);
      expect(await ledger()).toMatchObject({ head_seq: 3, acked_seq: 3, pending: 0 });
      await expectExactlyOnce();
    });

    it('bills every entry of a replaced ledger that grew past the old position, skipping none', async () => {
      const old = await drainedSome();
      const { ledger_id: newId } = await replaceLedger();
      await append('alice', 5, 6, old.ledger_seq + 4);
      await append('bob', 1, 2, 2);

      const run = await runTraffic();
      expect(run).toMatchObject({ ran: true, result: { failed: 0, entries: old.ledger_seq + 6 } });
      expect((run as { result: TrafficSummary }).result.results[0]!.ledger_replaced).toEqual({
        old_ledger_id: old.ledger_id,
        new_ledger_id: newId,
        old_seq: old.ledger_seq,
        new_seq: 0,
      });
      expect(await nodeRow(hub.app.db, NODE)).toMatchObject({ ledger_seq: old.ledger_seq + 6, ledger_id: newId, last_error: null });
      expect(await replacedAudit()).toHaveLength(2);
      await expectExactlyOnce();
    });

    it('moves a node drained before the hub kept ledger ids to its new ledger once the old position is beyond its head', async () => {
      // As after the upgrade: a position without the id of the ledger it came from.
      await hub.app.db('nodes').where({ id: NODE }).update({ ledger_id: null });
      const old = await nodeRow(hub.app.db, NODE);
      const { ledger_id: newId } = await replaceLedger();
      await append('bob', 8, 8, 2);

      const run = await runTraffic();
      expect((run as { result: TrafficSummary }).result.results[0]).toMatchObject({
        entries: 2,
        ledger_replaced: { old_ledger_id: null, new_ledger_id: newId, old_seq: old.ledger_seq, new_seq: 0 },
      });
      expect(await nodeRow(hub.app.db, NODE)).toMatchObject({ ledger_seq: 2, ledger_id: newId, last_error: null });
      await expectExactlyOnce();
    });

    it('bills each entry of a replaced ledger once when two hubs that read the old position drain it at once', async () => {
      const other = await secondHub();
      for (let round = 0; round < 6; round++) {
        const position = (await nodeRow(hub.app.db, NODE)).ledger_seq;
        await replaceLedger();
        // Shorter than the old position (drain refused, position asked) or longer (drain answers from the wrong ledger), in turn.
        await append('alice', 10 + round, 20, round % 2 === 0 ? 1 : position + 2);
        await append('bob', 3, round, 1);
        const [mine, theirs] = await Promise.all([Node.query(hub.app.db).findById(NODE), Node.query(other.db).findById(NODE)]);
        const results = await Promise.all([drainNode(trafficDeps(hub.app), mine!), drainNode(trafficDeps(other), theirs!)]);
        for (const r of results) expect(r.error).toBeUndefined();
        expect(results.filter((r) => r.ledger_replaced)).toHaveLength(1);
        expect(results.filter((r) => r.conflicts > 0)).toHaveLength(1);
        await expectExactlyOnce();
      }
      await leave(extra.pop()!, hub);
      expect(await ledger()).toMatchObject({ pending: 0 });
    });

    it('drains a node whose clash-stats names no ledger by position alone, as before', async () => {
      const OLDER = `traffic-older-${kind}`;
      const older = await startFakeNode(OLDER, { ledger: 'fake-ledger-0.3.js' });
      try {
        await enroll(hub, older, { tags: ['traffic'], multiplier: MULTIPLIER });
        const carol = await seedUser(hub.app.db, 'carol', { planId, now: clock.now });
        await nodeCommand(hub, OLDER, 'clash-stats.traffic.append', { user: 'carol', upload_bytes: 100, download_bytes: 50, count: 4 });
        expect(await runTraffic()).toMatchObject({ ran: true, result: { failed: 0, entries: 4 } });
        expect(await nodeRow(hub.app.db, OLDER)).toMatchObject({ ledger_seq: 4, ledger_id: null, last_error: null });
        expect((await subscription(hub.app.db, carol.subscriptionId)).used).toBe(4 * 150 * MULTIPLIER);

        // Without an id the hub cannot tell a new ledger from a damaged one: it refuses, as it always did, and says why.
        await nodeCommand(hub, OLDER, 'clash-stats.traffic.replace');
        await nodeCommand(hub, OLDER, 'clash-stats.traffic.append', { user: 'carol', upload_bytes: 1, download_bytes: 1 });
        expect(await runTraffic()).toMatchObject({ ran: true, result: { failed: 1, entries: 0 } });
        const row = await nodeRow(hub.app.db, OLDER);
        expect(row).toMatchObject({ ledger_seq: 4, ledger_id: null });
        expect(row.last_error).toMatch(/^traffic: .*after_seq 4 is beyond head_seq 1/);
        expect(await hub.app.db('audit_log').where({ action: LEDGER_REPLACED_ACTION, target: OLDER })).toEqual([]);
      } finally {
        await hub.app.db('nodes').where({ id: OLDER }).update({ enabled: false });
        await older.stop();
      }
      await expectExactlyOnce();
    });

    it('runs on its timer while the hub listens, enforces quotas right after billing, and stops on close', async () => {
      clock.now += 61_000;
      const timed = await joinHub(hub, { jobs_enabled: true, traffic_interval_s: 0.2, quota_interval_s: 3600, reconcile_interval_s: 3600 }, () => clock.now);
      await timed.listen({ host: '127.0.0.1', port: 0 });
      await append('bob', 2, 2);
      const deadline = Date.now() + 10_000;
      const runs = (job: string) => metricValue(timed, 'boxfleet_hub_job_runs_total', { name: job });
      while ((await runs('quota')) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await runs('traffic')).toBeGreaterThanOrEqual(1);
      expect(await runs('quota')).toBeGreaterThanOrEqual(1);
      expect(await metricValue(timed, 'boxfleet_hub_job_duration_seconds_total', { name: 'traffic' })).toBeGreaterThan(0);
      await leave(timed, hub);
      const trafficRuns = await runs('traffic');
      await new Promise((r) => setTimeout(r, 500));
      expect(await runs('traffic')).toBe(trafficRuns);
      expect(await hub.app.db('job_leases').where({ holder: timed.jobs.holder }).andWhere('expires_at', '>', 0)).toEqual([]);
      await expectExactlyOnce();
    });

    it("counts the fleet's traffic in /metrics from the nodes' running totals, which deleting a user does not lower", async () => {
      const scrape = async () => {
        const body = (await hub.app.inject({ method: 'GET', url: '/metrics' })).body;
        const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(body)?.[1]);
        return { applied: value('boxfleet_hub_traffic_bytes_applied_total'), billed: value('boxfleet_hub_traffic_billed_bytes_total') };
      };
      await append('alice', 100, 200);
      await runTraffic();
      const totals = await hub.app.db('nodes').sum({ up: 'upload_bytes_total', down: 'download_bytes_total', billed: 'billed_bytes_total' }).first();
      const before = await scrape();
      expect(before).toEqual({ applied: Number(totals!.up) + Number(totals!.down), billed: Number(totals!.billed) });
      expect(before.applied).toBeGreaterThan(0);
      const deleted = await hub.app.inject({ method: 'DELETE', url: `/api/v1/users/${alice.userId}`, headers: hub.auth });
      expect(deleted.statusCode).toBe(204);
      expect(await scrape()).toEqual(before);
    });

    // Last: the node's running totals keep a deleted user's bytes, its usage rows do not.
    it("drops a deleted user's pending usage at the roll-up, so they get no usage rows", async () => {
      await rollUp();
      const dora = await seedUser(hub.app.db, 'dora', { planId, now: clock.now });
      await append('dora', 50, 50, 2);
      await runTraffic();
      expect((await subscription(hub.app.db, dora.subscriptionId)).used).toBe(300);
      const deleted = await hub.app.inject({ method: 'DELETE', url: `/api/v1/users/${dora.userId}`, headers: hub.auth });
      expect(deleted.statusCode).toBe(204);
      expect(await rollUp()).toMatchObject({ pending_rows: 1, usage_rows: 0, dropped_cells: 1 });
      expect(await hub.app.db('usage_hourly').where({ user_id: dora.userId })).toEqual([]);
    });
  });
}
