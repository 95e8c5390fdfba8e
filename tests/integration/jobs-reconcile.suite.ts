// The reconciler against a real agent process whose singbox-config is the recording test double:
// users pushed to a node that is behind with the ledger position they were computed at (but not to
// a node whose singbox-config predates it), a node that was offline catching up when it returns,
// and a quota suspension travelling from the ledger to the node. Run on SQLite by
// jobs-reconcile.test.ts, on MariaDB by jobs-reconcile.mariadb.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { touchNodes } from '../../hub/fleet.js';
import { recordNodeSeen } from '../../hub/jobs/common.js';
import type { ReconcileSummary } from '../../hub/jobs/reconcile.js';
import { clientFromEnrollment, type AgentProcess } from '../support/agent-process.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { enroll, nodeCommand, nodeRow, seedPlan, seedUser, startFakeNode, subscription, type SeededSubscription } from './jobs.suite.js';

interface FakeState {
  revision: number | null;
  users: { name: string; remaining_bytes: number | null }[];
  ledger_seq: number | null;
  syncs: number;
  config: unknown;
  applies: number;
}

export function reconcileSuite(kind: DatabaseKind): void {
  describe(`reconciler, hub on ${kind}`, () => {
    const NODE = `reconcile-${kind}`;
    const clock = { now: Date.UTC(2033, 1, 1) };
    let agent: AgentProcess;
    let olderAgent: AgentProcess | undefined;
    let hub: TestHub;
    let alice: SeededSubscription;
    let bob: SeededSubscription;

    const state = (node = NODE) => nodeCommand<FakeState>(hub, node, 'singbox-config.state');
    const reconcile = async (): Promise<ReconcileSummary> => {
      const run = await hub.app.jobs.run('reconcile');
      if (!run.ran) throw new Error('the reconcile lease was held elsewhere');
      return run.result as ReconcileSummary;
    };
    const audits = () => hub.app.db('audit_log').where({ action: 'node.users.sync', target: NODE }).orderBy('id');

    beforeAll(async () => {
      [agent, hub] = await Promise.all([startFakeNode(NODE), startTestHub(kind, { clock: () => clock.now })]);
      await enroll(hub, agent, { tags: ['r'], multiplier: 2 });
      const plan = await seedPlan(hub.app.db, 'reconcile-plan', { tags: ['r'] });
      alice = await seedUser(hub.app.db, 'alice', { planId: plan, now: clock.now, total: 10_000, used: 1_000 });
      bob = await seedUser(hub.app.db, 'bob', { planId: plan, now: clock.now, total: 5_000 });
    });

    afterAll(async () => {
      await hub?.close();
      await agent?.stop();
      await olderAgent?.stop();
    });

    it('pushes the users that belong on a node that is behind and records the revision it applied', async () => {
      const desired = (await nodeRow(hub.app.db, NODE)).desired_revision;
      const result = await reconcile();
      expect(result).toMatchObject({ behind: 1, synced: 1, failed: 0 });
      expect(result.results[0]).toMatchObject({ node_id: NODE, config: null, users: { status: 'applied', revision: desired, users: 2 }, ok: true });
      expect(await state()).toMatchObject({
        revision: desired,
        // Raw bytes left on this node: the quota left divided by its multiplier of 2.
        users: [
          { name: 'alice', remaining_bytes: 4_500 },
          { name: 'bob', remaining_bytes: 2_500 },
        ],
        ledger_seq: 0,
        syncs: 1,
      });
      expect(await nodeRow(hub.app.db, NODE)).toMatchObject({ applied_revision: desired, health: 'online', last_error: null, last_seen_at: clock.now });
      expect(await audits()).toMatchObject([{ admin: 'reconciler', result: 'ok', status_code: 200 }]);
      expect(JSON.parse((await audits())[0].input)).toEqual({ revision: desired, users: 2, ledger_seq: 0 });

      expect(await reconcile()).toMatchObject({ behind: 0, synced: 0 });
      expect((await state()).syncs).toBe(1);
    });

    it('backs off from a node that is offline and catches it up when it returns', async () => {
      await agent.kill9();
      await hub.app.db('subscriptions').where({ id: bob.subscriptionId }).update({ status: 'suspended', suspended_reason: 'admin' });
      await touchNodes(hub.app.db, ['r']);
      const desired = (await nodeRow(hub.app.db, NODE)).desired_revision;

      const failed = await reconcile();
      expect(failed).toMatchObject({ behind: 1, synced: 0, failed: 1 });
      expect(failed.results[0]!.users).toMatchObject({ status: 'failed', unreachable: true, code: 'HUB_ERR_AGENT_UNREACHABLE' });
      const offline = await nodeRow(hub.app.db, NODE);
      expect(offline).toMatchObject({ health: 'offline', applied_revision: desired - 1 });
      expect(offline.last_error).toMatch(new RegExp(`^users.sync: revision ${desired}: node ${NODE}: `));

      // Within the backoff (5 s, then 10 s, ...) the node is not tried at all.
      const tried = (await audits()).length;
      expect((await reconcile()).results[0]!.users).toMatchObject({ status: 'waiting', retry_at: new Date(clock.now + 5_000).toISOString() });
      expect(await audits()).toHaveLength(tried);
      clock.now += 5_000;
      expect((await reconcile()).results[0]!.users).toMatchObject({ status: 'failed' });
      clock.now += 9_999;
      expect((await reconcile()).results[0]!.users).toMatchObject({ status: 'waiting' });

      await agent.restart();
      let result: ReconcileSummary | undefined;
      for (let attempt = 0; attempt < 40 && !result?.results[0]?.ok; attempt++) {
        clock.now += 5 * 60_000; // past any backoff; the gRPC channel reconnects on its own schedule
        result = await reconcile();
        if (!result.results[0]?.ok) await new Promise((r) => setTimeout(r, 250));
      }
      expect(result?.results[0]).toMatchObject({ ok: true, users: { status: 'applied', revision: desired } });
      expect(await state()).toMatchObject({ revision: desired, users: [{ name: 'alice', remaining_bytes: 4_500 }] });
      expect(await nodeRow(hub.app.db, NODE)).toMatchObject({ applied_revision: desired, health: 'online', last_error: null });
    });

    it('tries a node it backed off from again as soon as another job has reached it, not when the backoff ends', async () => {
      await agent.kill9();
      await touchNodes(hub.app.db, ['r']);
      const desired = (await nodeRow(hub.app.db, NODE)).desired_revision;
      // Three tries while the node is away: the next one would be 20 s after the last.
      for (const wait of [0, 5_000, 10_000]) {
        clock.now += wait;
        expect((await reconcile()).results[0]!.users).toMatchObject({ status: 'failed', unreachable: true });
      }
      const lastTry = clock.now;
      expect((await reconcile()).results[0]!.users).toMatchObject({ status: 'waiting', retry_at: new Date(lastTry + 20_000).toISOString() });

      await agent.restart();
      let result: ReconcileSummary | undefined;
      for (let attempt = 0; attempt < 40 && !result?.results[0]?.ok; attempt++) {
        // Another job (a traffic drain, the status poll) got an answer from the node: it is back.
        clock.now += 1;
        await recordNodeSeen(hub.app.db, NODE, 'traffic', clock.now);
        result = await reconcile();
        if (!result.results[0]?.ok) await new Promise((r) => setTimeout(r, 250));
      }
      expect(result?.results[0]).toMatchObject({ ok: true, users: { status: 'applied', revision: desired } });
      expect(clock.now - lastTry).toBeLessThan(20_000);
      expect(await state()).toMatchObject({ revision: desired });
    });

    it('sends with the users the ledger position their remaining bytes were computed at', async () => {
      await nodeCommand(hub, NODE, 'clash-stats.traffic.append', { user: 'alice', upload_bytes: 100, download_bytes: 100, count: 3 });
      clock.now += 61_000;
      expect(await hub.app.jobs.run('traffic')).toMatchObject({ ran: true, result: { entries: 3 } });
      const committed = (await nodeRow(hub.app.db, NODE)).ledger_seq;
      expect(committed).toBe(3);
      // Recorded on the node but not drained: neither in remaining_bytes nor in the position sent.
      await nodeCommand(hub, NODE, 'clash-stats.traffic.append', { user: 'alice', upload_bytes: 1, download_bytes: 1 });

      await touchNodes(hub.app.db, ['r']);
      expect(await reconcile()).toMatchObject({ behind: 1, synced: 1 });
      // alice used 1 000 + 600 raw bytes billed 1 200 at multiplier 2: (10 000 − 2 200) / 2 left.
      expect(await state()).toMatchObject({ ledger_seq: committed, users: [{ name: 'alice', remaining_bytes: 3_900 }] });

      clock.now += 61_000;
      expect(await hub.app.jobs.run('traffic')).toMatchObject({ ran: true, result: { entries: 1 } });
    });

    it('takes a subscription that crossed its quota off its node: traffic, then quota, then the next reconcile tick', async () => {
      await hub.app.db('subscriptions').where({ id: alice.subscriptionId }).update({ traffic_used_bytes: 9_990 });
      await nodeCommand(hub, NODE, 'clash-stats.traffic.append', { user: 'alice', upload_bytes: 3, download_bytes: 4 });
      clock.now += 61_000;
      expect(await hub.app.jobs.run('traffic')).toMatchObject({ ran: true, result: { entries: 1 } });
      expect((await subscription(hub.app.db, alice.subscriptionId)).used).toBe(10_004);

      clock.now += 61_000;
      const quota = await hub.app.jobs.run('quota');
      expect(quota).toMatchObject({ ran: true, result: { suspended: 1, touched_nodes: [NODE] } });
      expect(await subscription(hub.app.db, alice.subscriptionId)).toMatchObject({ status: 'suspended', suspended_reason: 'quota' });

      expect(await reconcile()).toMatchObject({ behind: 1, synced: 1 });
      expect((await state()).users).toEqual([]);
    });

    it('leaves a disabled node alone', async () => {
      await hub.app.db('nodes').where({ id: NODE }).update({ enabled: false });
      await touchNodes(hub.app.db, ['r']);
      const syncs = (await state()).syncs;
      expect(await reconcile()).toMatchObject({ behind: 0 });
      expect((await state()).syncs).toBe(syncs);
      await hub.app.db('nodes').where({ id: NODE }).update({ enabled: true });
      expect(await reconcile()).toMatchObject({ behind: 1, synced: 1 });
    });

    it('sends no ledger_seq to a node whose singbox-config predates it, which would refuse the field', async () => {
      const OLDER = `reconcile-older-${kind}`;
      olderAgent = await startFakeNode(OLDER, { singbox: 'fake-singbox-0.2.js' });
      await enroll(hub, olderAgent, { tags: ['r'] });
      await touchNodes(hub.app.db, ['r']);
      const result = await reconcile();
      expect(result).toMatchObject({ behind: 2, synced: 2, failed: 0 });
      const desired = (await nodeRow(hub.app.db, OLDER)).desired_revision;
      expect(await state(OLDER)).toMatchObject({ revision: desired, ledger_seq: null, syncs: 1 });
      expect((await state()).ledger_seq).toBe((await nodeRow(hub.app.db, NODE)).ledger_seq);
    });

    it('shows a config rolled back on the node outside the hub as drift, leaves the node out of /sub, and an apply from the hub ends it', async () => {
      const api = async (method: 'GET' | 'POST', url: string, payload?: object) => {
        const res = await hub.app.inject({ method, url, headers: hub.auth, ...(payload ? { payload } : {}) });
        if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
        return res.json();
      };
      const inbound = (port: number) => ({ inbounds: [{ type: 'vless', tag: 'vless-in', listen: '::', listen_port: port }] });
      const v1 = await api('POST', '/api/v1/configs', { config: inbound(10001), comment: 'v1' });
      const v2 = await api('POST', '/api/v1/configs', { config: inbound(10002), comment: 'v2' });
      await api('POST', `/api/v1/configs/${v1.id}/apply`, { node_id: NODE });
      await api('POST', `/api/v1/configs/${v2.id}/apply`, { node_id: NODE });
      const plan = await seedPlan(hub.app.db, 'drift-plan', { tags: ['r'] });
      const carol = await seedUser(hub.app.db, 'carol', { planId: plan, now: clock.now });
      const token = (await api('GET', `/api/v1/users/${carol.userId}/credentials`)).sub_token as string;
      const links = async () => (await hub.app.inject({ method: 'GET', url: `/sub/${token}?format=singbox` })).json().outbounds.filter((o: { type: string }) => o.type === 'vless');
      const live = async () => expect(await hub.app.jobs.run('live')).toMatchObject({ ran: true });

      await live();
      expect((await api('GET', `/api/v1/nodes/${NODE}`)).config_drift).toBeNull();
      expect(await links()).toMatchObject([{ server_port: 10002 }]);

      // An operator on the node, straight to its agent: the hub hears of it only through status.
      const onNode = await clientFromEnrollment(agent.enrollment);
      try {
        expect((await onNode.execute('singbox-config.config.rollback', {})).result).toMatchObject({ restored: 1, hash: v1.hash });
      } finally {
        onNode.close();
      }
      await live();
      const drifted = await api('GET', `/api/v1/nodes/${NODE}`);
      expect(drifted).toMatchObject({ applied_config_version: v2.id, config_drift: { served_hash: v1.hash, expected_hash: v2.hash, since: new Date(clock.now).toISOString() } });
      expect((await api('GET', '/api/v1/nodes')).nodes.find((n: { id: string }) => n.id === NODE).config_drift).toMatchObject({ served_hash: v1.hash });
      expect(await links()).toEqual([]);
      // The reconciler leaves it as it is: the node is not behind what the hub applied.
      const applies = (await state()).applies;
      await touchNodes(hub.app.db, ['r']);
      expect((await reconcile()).results.find((r) => r.node_id === NODE)).toMatchObject({ config: null });
      await live();
      expect((await state()).applies).toBe(applies);
      expect((await api('GET', `/api/v1/nodes/${NODE}/config/history`)).pushes).toMatchObject([
        { action: 'drift-detected', version: v1.id, hash: v1.hash, by: 'live', applied: false },
        { action: 'apply', version: v2.id, hash: v2.hash, applied: true, error: null },
        { action: 'apply', version: v1.id, applied: true },
      ]);

      await api('POST', `/api/v1/configs/${v2.id}/apply`, { node_id: NODE });
      expect((await state()).applies).toBe(applies + 1);
      expect((await api('GET', `/api/v1/nodes/${NODE}`)).config_drift).toBeNull();
      await live();
      expect((await api('GET', `/api/v1/nodes/${NODE}`)).config_drift).toBeNull();
      expect(await links()).toMatchObject([{ server_port: 10002 }]);
      expect((await api('GET', `/api/v1/nodes/${NODE}/config/history`)).pushes[0]).toMatchObject({ action: 'apply', version: v2.id, by: 'test-owner', applied: true });
    });
  });
}
