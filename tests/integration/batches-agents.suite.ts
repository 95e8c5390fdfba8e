// Batch commands on four real agent processes (tags east: e1, e2; west: w1, w2), the hub driving
// them over gRPC as in production; run on SQLite by batches-agents.test.ts and on MariaDB by
// batches-agents.mariadb.test.ts. Each agent runs the tally test plugin, which counts on the node
// every run it got, so "reached exactly these nodes" and "ran once" are read from the nodes
// themselves; e1 also has the slow plugin, which the others lack. The runner is the `batches` job,
// run here by the test (app.jobs.run) instead of by a timer. batches-restart.test.ts kills a hub
// process mid-batch.
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import { BATCH_OUTPUT_MAX_BYTES } from '../../hub/batches/runner.js';
import { clientFromEnrollment, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { ownerApi, startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';

const fixture = (name: string) => path.resolve('tests/fixtures/plugins', name);
const NODES = { e1: ['east'], e2: ['east'], w1: ['west'], w2: ['west'] } as const;
type NodeName = keyof typeof NODES;
const NAMES = Object.keys(NODES) as NodeName[];

interface BatchNode {
  node_id: string;
  status: string;
  output: any;
  error: string | null;
  duration_ms: number | null;
}

export function batchesAgentsSuite(kind: DatabaseKind): void {
  describe(`batch commands on four real agents, hub on ${kind}`, () => {
    let hub: TestHub;
    const agents = new Map<NodeName, AgentProcess>();
    const clients = new Map<NodeName, AgentClient>();
    /** Runs of tally.run each node counted before the current test. */
    let before: Record<NodeName, number>;

    const runsOnNodes = async () =>
      Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, ((await clients.get(n)!.execute('tally.count', {})).result as { runs: number }).runs]))) as Record<NodeName, number>;
    /** Runs each node got since the test started. */
    const ranSince = async () => {
      const now = await runsOnNodes();
      return Object.fromEntries(NAMES.map((n) => [n, now[n] - before[n]]));
    };
    const detail = (id: number) => ownerApi(hub, 'GET', `/api/v1/batches/${id}`);
    const byNode = (nodes: BatchNode[]) => Object.fromEntries(nodes.map((n) => [n.node_id, n]));
    /** Creates the batch as `role`, runs the `batches` job to the end, and answers the batch with its nodes. */
    const runBatch = async (spec: object, role: 'owner' | 'operator' = 'owner') => {
      const res = await hub.app.inject({ method: 'POST', url: '/api/v1/batches', headers: await hub.as(role), payload: spec });
      expect(res.statusCode, res.body).toBe(201);
      expect(await hub.app.jobs.run('batches')).toMatchObject({ ran: true });
      return detail(res.json().id);
    };

    beforeAll(async () => {
      const started = await Promise.all(
        NAMES.map((name) =>
          startAgentProcess({
            nodeId: name,
            configure: (config) => {
              config.plugins = { tally: { module: fixture('tally.js') }, ...(name === 'e1' ? { slow: { module: fixture('slow.js') } } : {}) };
              config.reload_on_change = false;
            },
          }),
        ),
      );
      NAMES.forEach((name, i) => agents.set(name, started[i]!));
      hub = await startTestHub(kind);
      for (const name of NAMES) {
        await ownerApi(hub, 'POST', '/api/v1/nodes', { enrollment: agents.get(name)!.enrollment, tags: [...NODES[name]] });
        clients.set(name, await clientFromEnrollment(agents.get(name)!.enrollment));
      }
    });

    afterAll(async () => {
      for (const client of clients.values()) client.close();
      await hub?.close();
      await Promise.all([...agents.values()].map((a) => a.stop()));
    });

    beforeEach(async () => {
      before = await runsOnNodes();
    });

    it('runs a command on one tag: exactly those nodes get it, once each, every call audited under the batch id', async () => {
      const batch = await runBatch({ target: { tags: ['east'] }, command: 'tally.run', input: { ms: 10 } });
      expect(batch).toMatchObject({ status: 'succeeded', counts: { succeeded: 2, pending: 0, running: 0, failed: 0, skipped: 0 } });
      // ISO times, as everywhere in the API.
      expect(new Date(batch.started_at).toISOString()).toBe(batch.started_at);
      expect(Date.parse(batch.finished_at)).toBeGreaterThanOrEqual(Date.parse(batch.started_at));
      const nodes = byNode(batch.nodes);
      expect(Object.keys(nodes)).toEqual(['e1', 'e2']);
      expect(nodes.e1).toMatchObject({ node_name: 'e1', status: 'succeeded', output: { node: 'e1' }, error: null });
      expect(nodes.e1!.duration_ms).toBeGreaterThanOrEqual(10);
      expect(await ranSince()).toEqual({ e1: 1, e2: 1, w1: 0, w2: 0 });
      const audit = await hub.app.db('audit_log').where({ action: 'batch.command' }).orderBy('target').select('target', 'input', 'result', 'admin');
      expect(audit.map((a) => [a.target, JSON.parse(a.input), a.result, a.admin])).toEqual([
        ['e1 tally.run', { batch_id: batch.id, input: { ms: 10 } }, 'ok', 'test-owner'],
        ['e2 tally.run', { batch_id: batch.id, input: { ms: 10 } }, 'ok', 'test-owner'],
      ]);
    });

    it('skips the nodes that do not offer the command, saying so', async () => {
      const batch = await runBatch({ target: { all: true }, command: 'slow.work', input: { ms: 1 } });
      expect(batch).toMatchObject({ status: 'succeeded', counts: { succeeded: 1, skipped: 3 } });
      const nodes = byNode(batch.nodes);
      expect(nodes.e1).toMatchObject({ status: 'succeeded', output: { slept_ms: 1 } });
      for (const name of ['e2', 'w1', 'w2']) expect(nodes[name]).toMatchObject({ status: 'skipped', error: `no command slow.work on node ${name}`, output: null });
    });

    it('fails a node whose agent is stopped with its error; the others succeed and the batch is failed', async () => {
      await agents.get('w2')!.kill9();
      try {
        const batch = await runBatch({ target: { all: true }, command: 'tally.run' });
        expect(batch).toMatchObject({ status: 'failed', counts: { succeeded: 3, failed: 1 } });
        const w2 = byNode(batch.nodes).w2!;
        expect(w2.status).toBe('failed');
        expect(w2.error).toMatch(/^node w2: /);
      } finally {
        await agents.get('w2')!.restart();
      }
      expect(await ranSince()).toEqual({ e1: 1, e2: 1, w1: 1, w2: 0 });
    });

    it('with stop_after_failures 1 and concurrency 1, skips every node after the first failure', async () => {
      const batch = await runBatch({ target: { all: true }, command: 'tally.run', input: { fail_on: ['e1'] }, concurrency: 1, stop_after_failures: 1 });
      expect(batch).toMatchObject({ status: 'failed', counts: { failed: 1, skipped: 3 } });
      const nodes = byNode(batch.nodes);
      expect(nodes.e1).toMatchObject({ status: 'failed', error: 'tally refuses to run on e1' });
      for (const name of ['e2', 'w1', 'w2']) expect(nodes[name]).toMatchObject({ status: 'skipped', error: 'not run: 1 node failed (stop_after_failures 1)' });
      expect(await ranSince()).toEqual({ e1: 1, e2: 0, w1: 0, w2: 0 });
    });

    it('cancelled mid-batch: the running node finishes, the pending ones are skipped and never run', async () => {
      const res = await hub.app.inject({ method: 'POST', url: '/api/v1/batches', headers: hub.auth, payload: { target: { all: true }, command: 'tally.run', input: { ms: 3000 }, concurrency: 1 } });
      const { id } = res.json();
      const run = hub.app.jobs.run('batches');
      await until('a node running', async () => (await detail(id)).counts.running === 1, 10_000);
      const cancelled = await ownerApi(hub, 'POST', `/api/v1/batches/${id}/cancel`);
      expect(cancelled).toMatchObject({ status: 'running', counts: { running: 1, pending: 0, skipped: 3 } });
      await run;
      const batch = await detail(id);
      expect(batch).toMatchObject({ status: 'cancelled', counts: { succeeded: 1, skipped: 3 } });
      expect(byNode(batch.nodes).e1).toMatchObject({ status: 'succeeded' });
      for (const name of ['e2', 'w1', 'w2']) expect(byNode(batch.nodes)[name]).toMatchObject({ status: 'skipped', error: 'cancelled' });
      expect(await ranSince()).toEqual({ e1: 1, e2: 0, w1: 0, w2: 0 });
    });

    it('refuses a viewer an operator command batch, and no node runs it; an operator may', async () => {
      const refused = await hub.app.inject({ method: 'POST', url: '/api/v1/batches', headers: await hub.as('viewer'), payload: { target: { all: true }, command: 'tally.run' } });
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ code: 'HUB_ERR_FORBIDDEN', message: 'tally.run needs the operator role; test-viewer is viewer' });
      await hub.app.jobs.run('batches');
      expect(await ranSince()).toEqual({ e1: 0, e2: 0, w1: 0, w2: 0 });
      const batch = await runBatch({ target: { node_ids: ['w1'] }, command: 'tally.run' }, 'operator');
      expect(batch).toMatchObject({ status: 'succeeded', created_by: 'test-operator' });
    });

    it('keeps at most 64 KiB of an answer, cut with a marker and the full size', async () => {
      const batch = await runBatch({ target: { node_ids: ['e2'] }, command: 'tally.run', input: { bytes: 200_000 } });
      const { output } = byNode(batch.nodes).e2!;
      expect(output._truncated).toBe(true);
      expect(output.bytes).toBeGreaterThan(200_000);
      expect(output.head.startsWith('{"node":"e2"')).toBe(true);
      expect(output.head).toMatch(/…\[truncated \d+ bytes\]$/);
      expect(Buffer.byteLength(JSON.stringify(output))).toBeLessThanOrEqual(BATCH_OUTPUT_MAX_BYTES);
    });

    it('pushes batch and node changes to WebSocket watchers, outputs only to roles that may run the command', async () => {
      await hub.app.listen({ host: '127.0.0.1', port: 0 });
      const url = `ws://127.0.0.1:${(hub.app.server.address() as { port: number }).port}/api/v1/ws`;
      const watch = async (headers: { authorization: string }) => {
        const messages: any[] = [];
        const socket = new WebSocket(`${url}?token=${headers.authorization.replace(/^Bearer /, '')}`);
        socket.on('message', (data) => messages.push(JSON.parse(String(data))));
        await until('signed in', () => messages.some((m) => m.type === 'ready'), 10_000);
        socket.send(JSON.stringify({ watch: 'batches' }));
        await until('watching', () => messages.some((m) => m.type === 'watching'), 10_000);
        expect(messages.find((m) => m.type === 'watching')).toEqual({ type: 'watching', feeds: ['batches'] });
        return { messages, socket };
      };
      const owner = await watch(hub.auth);
      const viewer = await watch(await hub.as('viewer'));
      const batch = await runBatch({ target: { tags: ['west'] }, command: 'tally.run' });
      const done = (m: any) => m.type === 'batch' && m.batch.id === batch.id && m.batch.status === 'succeeded';
      await until('the finished batch on both sockets', () => owner.messages.some(done) && viewer.messages.some(done), 10_000);
      const nodeMessages = (messages: any[]) => messages.filter((m) => m.type === 'batch-node' && m.batch_id === batch.id && m.node.status === 'succeeded');
      await until('both nodes on both sockets', () => nodeMessages(owner.messages).length === 2 && nodeMessages(viewer.messages).length === 2, 10_000);
      expect(nodeMessages(owner.messages).map((m) => m.node.output.node).sort()).toEqual(['w1', 'w2']);
      expect(nodeMessages(viewer.messages).map((m) => m.node.output)).toEqual(['[redacted]', '[redacted]']);
      // Each change once, not once per poll.
      expect(owner.messages.filter(done)).toHaveLength(1);
      // The feed's batches and nodes are the API's, times as ISO strings.
      const { nodes, ...shown } = batch;
      expect(owner.messages.find(done).batch).toEqual(shown);
      expect(nodeMessages(owner.messages).map((m) => m.node).sort((a, b) => a.node_id.localeCompare(b.node_id))).toEqual(nodes);
      owner.socket.send(JSON.stringify({ unwatch: 'batches' }));
      await until('unwatched', () => owner.messages.some((m) => m.type === 'watching' && m.feeds.length === 0), 10_000);
      owner.socket.close();
      viewer.socket.close();
    });
  });
}
