// The rollouts job step by step on a real hub database, against stand-in nodes: a reconciler whose
// nodes take a version at once (or refuse it, or do not answer) and agents whose sing-box runs what
// they took and whose traffic the test sets. The clock is the test's. What the real nodes do is
// tests/e2e/rollout.singbox.test.ts; this covers what that test cannot reach in its time: pause and
// resume, a second hub carrying on from the tables, a node left half-applied by a hub that died,
// refusals, unreachable nodes, the traffic gate, the WebSocket feed, and the requests refused at
// creation. Run on SQLite by rollouts.test.ts and on MariaDB by rollouts.mariadb.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Node } from '../../hub/db/models.js';
import { rolloutsJob, type RolloutRunnerDeps } from '../../hub/rollouts/runner.js';
import { type DatabaseKind, ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';

type Json = Record<string, any>;
const IDS = ['a', 'b', 'c', 'd'];

export function rolloutsSuite(kind: DatabaseKind): void {
  describe(`rollouts job, hub on ${kind}`, { timeout: 60_000 }, () => {
    const clock = { now: Date.UTC(2031, 0, 1) };
    let hub: TestHub;
    let versions: { id: number; hash: string }[];
    /** Versions the nodes refuse (as sing-box check would), and nodes that do not answer. */
    const refused = new Set<number>();
    const unreachable = new Set<string>();
    /** Nodes whose clash-stats does not answer. */
    const noStats = new Set<string>();
    /** Each node's proxy bytes per second from now on (its Clash API totals grow by it). */
    const rate = new Map<string, { since: number; base: number; perS: number }>();
    const pushes: { node: string; version: number; action: string }[] = [];

    const api = (method: 'GET' | 'POST', url: string, payload?: object) => ownerApi(hub, method, url, payload);
    const bytes = (id: string) => {
      const r = rate.get(id) ?? { since: 0, base: 0, perS: 0 };
      return r.base + Math.round(((clock.now - r.since) / 1000) * r.perS);
    };
    const setRate = (id: string, perS: number) => rate.set(id, { since: clock.now, base: bytes(id), perS });

    /** A hub's runner: a new one stands for another hub (or this one restarted), sharing only the database. */
    const runner = () => rolloutsJob({
      db: hub.app.db,
      objects: hub.app.objects,
      config: { inbound_check_timeout_s: 1 },
      now: () => clock.now,
      logger: hub.app.log as never,
      reconciler: {
        async reconcileNode(node: Node, options = {}) {
          const { desired_config_version: version } = await hub.app.db('nodes').where({ id: node.id }).first();
          pushes.push({ node: node.id, version, action: options.action ?? 'apply' });
          if (unreachable.has(node.id)) return { node_id: node.id, ok: false, users: null, config: { version, status: 'failed', unreachable: true, error: `node ${node.id} is unreachable` } };
          if (refused.has(version)) return { node_id: node.id, ok: false, users: null, config: { version, status: 'failed', error: 'sing-box check: unknown field' } };
          await hub.app.db('nodes').where({ id: node.id }).update({ applied_config_version: version });
          return { node_id: node.id, ok: true, users: null, config: { version, status: 'applied' } };
        },
      },
      agents: {
        async execute(node: Node, command: string) {
          if (command === 'clash-stats.summary' && noStats.has(node.id)) throw new Error(`plugin clash-stats is disabled on node ${node.id}`);
          if (command === 'clash-stats.summary') return { result: { upload_total: 0, download_total: bytes(node.id) } } as never;
          const { applied_config_version: applied } = await hub.app.db('nodes').where({ id: node.id }).first();
          return { result: { running: true, config: { hash: versions.find((v) => v.id === applied)?.hash ?? null } } } as never;
        },
      },
    } satisfies RolloutRunnerDeps);
    let job: ReturnType<typeof runner>;
    const tick = async (seconds = 1) => {
      clock.now += seconds * 1000;
      await job();
    };
    const rollout = (id: number) => api('GET', `/api/v1/rollouts/${id}`);
    const start = (body: Json) => api('POST', '/api/v1/rollouts', { target: { all: true }, ...body });
    const statuses = async (id: number) => Object.fromEntries((await rollout(id)).nodes.map((n: Json) => [n.node_id, n.status]));
    const applied = async () => Object.fromEntries((await hub.app.db('nodes').orderBy('id').select('id', 'applied_config_version')).map((n) => [n.id, n.applied_config_version]));

    beforeAll(async () => {
      hub = await startTestHub(kind, { clock: () => clock.now });
      versions = [];
      for (const level of ['warn', 'error', 'info', 'debug']) {
        const config = { log: { level }, inbounds: [], outbounds: [{ type: 'direct', tag: 'direct' }] };
        versions.push(await api('POST', '/api/v1/configs', { config }));
      }
      for (const id of IDS) {
        await hub.app.db('nodes').insert({ id, name: id, address: '127.0.0.1:1', token: 'x'.repeat(32), tags: '[]', created_at: clock.now, updated_at: clock.now });
      }
    });
    afterAll(async () => hub?.close());

    beforeEach(async () => {
      refused.clear();
      unreachable.clear();
      noStats.clear();
      pushes.length = 0;
      job = runner();
      await hub.app.db('nodes').update({ applied_config_version: versions[0]!.id, desired_config_version: versions[0]!.id });
    });

    it('stops while paused, re-runs the gate from its start on resume, and is finished by another hub from the tables', async () => {
      const v = versions[1]!.id;
      const { id } = await start({ version: v, stages: [1, '100%'], gate: { soak_s: 10, inbound_check: false } });
      await tick(); // stage 1 starts
      await tick(); // a gets it, the gate passes: the soak starts
      expect(await statuses(id)).toEqual({ a: 'applied', b: 'pending', c: 'pending', d: 'pending' });
      expect((await api('POST', `/api/v1/rollouts/${id}/pause`)).status).toBe('paused');
      await tick(60);
      expect(await statuses(id)).toEqual({ a: 'applied', b: 'pending', c: 'pending', d: 'pending' });
      expect((await rollout(id)).status).toBe('paused');
      expect((await api('POST', `/api/v1/rollouts/${id}/resume`)).status).toBe('running');
      await tick(); // the soak starts again
      await tick(9);
      expect((await rollout(id)).current_stage).toBe(1);
      // Another hub from here on.
      job = runner();
      await tick(1); // soak over: stage 1 passes, stage 2 starts
      expect((await rollout(id)).current_stage).toBe(2);
      await tick(); // b, c, d get it
      await tick(); // their soak starts
      await tick(10);
      const done = await rollout(id);
      expect(done).toMatchObject({ status: 'succeeded', stage_plan: [{ stage: 1, nodes: 1, status: 'passed' }, { stage: 2, nodes: 3, status: 'passed' }] });
      // Times are ISO strings, as everywhere in the API.
      expect(done.finished_at).toBe(new Date(clock.now).toISOString());
      expect(new Date(done.nodes[0].checks.at).toISOString()).toBe(done.nodes[0].checks.at);
      expect(await applied()).toEqual({ a: v, b: v, c: v, d: v });
      // Listed a page at a time, newest first, as the API's other lists.
      const list = await api('GET', '/api/v1/rollouts?status=succeeded&per_page=1');
      expect(list).toMatchObject({ page: 1, per_page: 1, items: [{ id, status: 'succeeded', finished_at: done.finished_at }] });
    });

    it('pushes again to a node a dead hub marked applying before it pushed', async () => {
      const v = versions[2]!.id;
      const { id } = await start({ version: v, stages: ['100%'], gate: { soak_s: 0, inbound_check: false } });
      await tick();
      // As a hub leaves it that died between recording the previous version and the push.
      await hub.app.db('rollout_nodes').where({ rollout_id: id, node_id: 'b' }).update({ status: 'applying', previous_version: versions[0]!.id });
      await tick();
      expect((await rollout(id)).status).toBe('succeeded');
      expect(pushes.filter((p) => p.node === 'b')).toEqual([{ node: 'b', version: v, action: 'apply' }]);
      expect((await rollout(id)).nodes.find((n: Json) => n.node_id === 'b').previous_version).toBe(versions[0]!.id);
    });

    it('fails at once on a version a node refuses and puts back what it changed; later stages never get it', async () => {
      const v = versions[3]!.id;
      const { id } = await start({ version: v, stages: [2, '100%'], gate: { soak_s: 0, inbound_check: false } });
      refused.add(v);
      await tick();
      await tick();
      const done = await rollout(id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe('stage 1 gate failed: node a: refused version 4: sing-box check: unknown field; node b: refused version 4: sing-box check: unknown field');
      expect(await statuses(id)).toEqual({ a: 'rolled_back', b: 'rolled_back', c: 'pending', d: 'pending' });
      expect(pushes.filter((p) => p.node === 'c' || p.node === 'd')).toEqual([]);
      // The rollbacks run side by side (a few nodes at once), so they arrive in either order.
      const rollbacks = pushes.filter((p) => p.action === 'rollback').sort((x, y) => x.node.localeCompare(y.node));
      expect(rollbacks).toEqual([{ node: 'a', version: versions[0]!.id, action: 'rollback' }, { node: 'b', version: versions[0]!.id, action: 'rollback' }]);
      expect(await applied()).toEqual({ a: versions[0]!.id, b: versions[0]!.id, c: versions[0]!.id, d: versions[0]!.id });
    });

    it('fails a stage whose node does not confirm in time, and says a rollback could not reach it', async () => {
      const v = versions[1]!.id;
      const { id } = await start({ version: v, stages: [1, '100%'], gate: { soak_s: 0, timeout_s: 5, inbound_check: false } });
      unreachable.add('a');
      await tick();
      await tick();
      expect(await statuses(id)).toMatchObject({ a: 'applying' });
      await tick(5);
      const done = await rollout(id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe(`stage 1 gate failed: node a: did not apply version ${v} within 5 s (node a is unreachable)`);
      expect(done.nodes[0]).toMatchObject({
        node_id: 'a',
        status: 'rollback_failed',
        error: `not reached (node a is unreachable); version ${versions[0]!.id} is its desired version and reaches it when it returns`,
      });
      expect((await hub.app.db('nodes').where({ id: 'a' }).first()).desired_config_version).toBe(versions[0]!.id);
      const audit = (await api('GET', '/api/v1/audit?action=rollout.rollback')).items as Json[];
      expect(audit[0]).toMatchObject({ target: `rollout ${id} a`, result: 'error' });
    });

    it('measures traffic for a soak before the apply, and fails a node whose traffic fell by more than allowed', async () => {
      const v = versions[2]!.id;
      for (const node of IDS) setRate(node, 1000);
      const { id } = await start({ version: v, stages: [1, '100%'], gate: { soak_s: 10, inbound_check: false, max_traffic_drop_pct: 50 } });
      await tick(); // stage 1 starts
      await tick(); // the window before: starts
      await tick(5);
      expect(await statuses(id)).toMatchObject({ a: 'pending' });
      await tick(5); // the window before ends: a gets the version
      expect(await statuses(id)).toMatchObject({ a: 'applied' });
      setRate('a', 100);
      await tick(); // the soak starts
      await tick(10);
      const done = await rollout(id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe('stage 1 gate failed: node a: traffic fell by 90 % (at most 50 % allowed)');
      expect(done.nodes[0].checks.traffic).toMatchObject({ drop_pct: 90, after_to: { at: new Date(clock.now).toISOString() } });
      expect(await applied()).toMatchObject({ a: versions[0]!.id });
    });

    it('pushes each change to a dashboard watching "rollouts" over the WebSocket', async () => {
      const address = await hub.app.listen({ host: '127.0.0.1', port: 0 });
      const socket = new WebSocket(`${address.replace('http', 'ws')}/api/v1/ws?token=${hub.auth.authorization.slice('Bearer '.length)}`);
      const received: Json[] = [];
      socket.on('message', (data) => received.push(JSON.parse(String(data))));
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ watch: 'rollouts' }));
      await until('watching', () => received.some((m) => m.type === 'watching'));
      const { id } = await start({ version: versions[3]!.id, stages: [1, '100%'], gate: { soak_s: 0, inbound_check: false } });
      const seen = (status: string) => () => received.find((m) => m.type === 'rollout' && m.rollout.id === id && m.rollout.status === status)?.rollout;
      await until('the new rollout on the socket', seen('running'), 5000);
      await tick();
      await tick();
      await tick();
      const done = await until('the finished rollout on the socket', seen('succeeded'), 5000);
      expect(done.nodes.map((n: Json) => [n.node_id, n.status])).toEqual(IDS.map((n) => [n, 'passed']));
      // The rollout as GET /:id shows it, times as ISO strings.
      expect(done).toEqual(await rollout(id));
      socket.close();
    });

    it('fails a node whose traffic the gate cannot read, before it gets the version', async () => {
      noStats.add('a');
      const { id } = await start({ version: versions[1]!.id, stages: [1, '100%'], gate: { soak_s: 5, inbound_check: false, max_traffic_drop_pct: 20 } });
      await tick();
      await tick();
      const done = await rollout(id);
      expect([done.status, done.error]).toEqual(['failed', 'stage 1 gate failed: node a: traffic not measured: plugin clash-stats is disabled on node a']);
      expect(pushes).toEqual([]);
      expect(done.nodes[0]).toMatchObject({ node_id: 'a', status: 'pending', error: 'traffic not measured: plugin clash-stats is disabled on node a' });
    });

    it('refuses a rollout on a node another unfinished one holds, and stages that leave nodes out', async () => {
      const { id } = await start({ version: versions[1]!.id, target: { node_ids: ['c'] } });
      const busy = await hub.app.inject({ method: 'POST', url: '/api/v1/rollouts', headers: hub.auth, payload: { version: versions[2]!.id, target: { all: true } } });
      expect([busy.statusCode, busy.json().message]).toEqual([409, `node c is in rollout ${id}, which has not finished`]);
      await api('POST', `/api/v1/rollouts/${id}/abort`);
      await tick();
      expect((await rollout(id)).status).toBe('aborted');

      const refuse = async (payload: Json) => {
        const res = await hub.app.inject({ method: 'POST', url: '/api/v1/rollouts', headers: hub.auth, payload: { version: versions[1]!.id, target: { all: true }, ...payload } });
        return [res.statusCode, res.json().message];
      };
      expect(await refuse({ stages: [1, '50%'] })).toEqual([400, 'body.stages: the last stage must cover every node ("100%"), not 50%']);
      expect(await refuse({ stages: [1, 2] })).toEqual([400, 'body.stages: the last stage covers 2 node(s) but the target has 4; end with "100%"']);
      expect(await refuse({ gate: { soak_s: 0, max_traffic_drop_pct: 10 } })).toEqual([400, 'body.gate.max_traffic_drop_pct: needs a soak (gate.soak_s of 1 or more)']);
      expect(await refuse({ version: 999 })).toEqual([404, 'no config version 999']);
      expect((await refuse({ target: { tags: ['hk'], all: true } }))[0]).toBe(400);
    });
  });
}
