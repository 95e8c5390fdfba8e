// Batch commands without live agents (hub on SQLite): what a target resolves to, what creating a
// batch refuses (a role below the command's, hub-owned commands, a target matching nothing), cancel
// and retry, and the runner's restart rule: a row a dead hub left running is failed, never sent
// again. The nodes are rows whose agents do not answer; their commands come from stored Describes,
// as createBatch reads them. tests/integration/batches.suite.ts runs batches on real agents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatch } from '../../hub/batches/index.js';
import { ORPHANED_ERROR } from '../../hub/batches/runner.js';
import { resolveTarget } from '../../hub/batches/target.js';
import { storeDescription } from '../../hub/node-status.js';
import { tallyDescription } from '../support/described.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { seedUnreachableNode } from './jobs.suite.js';


describe('batch commands, hub on SQLite (no agents)', () => {
  let hub: TestHub;
  const post = async (role: 'viewer' | 'operator' | 'admin' | 'owner', url: string, payload: object) =>
    hub.app.inject({ method: 'POST', url, headers: await hub.as(role), payload });

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    const db = hub.app.db;
    for (const [id, tags] of [['e1', ['east']], ['e2', ['east', 'edge']], ['w1', ['west']], ['w2', ['west', 'edge']], ['off', ['east']]] as const) {
      await seedUnreachableNode(db, id, [...tags]);
      await storeDescription(db, id, tallyDescription(id, [{ name: 'tally.run', role: 'operator' }, { name: 'tally.wipe', role: 'admin' }]), Date.now());
    }
    await db('nodes').where({ id: 'off' }).update({ enabled: false });
  });

  afterAll(async () => {
    await hub?.close();
  });

  it('resolves a target by any of its tags, by ids or to all nodes, listing disabled and unknown nodes as skipped', async () => {
    const ids = async (target: object) => {
      const { nodes, skipped } = await resolveTarget(hub.app.db, target);
      return { nodes: nodes.map((n) => n.id), skipped };
    };
    expect(await ids({ tags: ['edge'] })).toEqual({ nodes: ['e2', 'w2'], skipped: [] });
    expect(await ids({ tags: ['east'] })).toEqual({ nodes: ['e1', 'e2'], skipped: [{ node_id: 'off', reason: 'the node is disabled' }] });
    expect(await ids({ node_ids: ['w1', 'gone'] })).toEqual({ nodes: ['w1'], skipped: [{ node_id: 'gone', reason: 'no such node' }] });
    expect((await ids({ all: true })).nodes).toEqual(['e1', 'e2', 'w1', 'w2']);
    await expect(resolveTarget(hub.app.db, {})).rejects.toThrow('target: give exactly one of tags, node_ids or all (got none)');
    await expect(resolveTarget(hub.app.db, { tags: ['east'], all: true })).rejects.toThrow('(got tags and all)');
    await expect(resolveTarget(hub.app.db, { tags: ['north'] })).rejects.toThrow('target: no node matches tags north');
  });

  it('records a batch with a pending row per enabled node and the disabled one skipped, input redacted in the answer', async () => {
    const res = await post('operator', '/api/v1/batches', { target: { tags: ['east'] }, command: 'tally.run', input: { ms: 5, password: 'hunter2' } });
    expect(res.statusCode, res.body).toBe(201);
    const batch = res.json();
    expect(batch).toMatchObject({
      command: 'tally.run',
      input: { ms: 5, password: '[redacted]' },
      target: { tags: ['east'] },
      concurrency: 4,
      stop_after_failures: 0,
      status: 'pending',
      created_by: 'test-operator',
      started_at: null,
      retry_of: null,
      counts: { pending: 2, running: 0, succeeded: 0, failed: 0, skipped: 1 },
    });
    const detail = await ownerApi(hub, 'GET', `/api/v1/batches/${batch.id}`);
    expect(detail.nodes.map((n: { node_id: string; status: string; error: string | null }) => [n.node_id, n.status, n.error])).toEqual([
      ['e1', 'pending', null],
      ['e2', 'pending', null],
      ['off', 'skipped', 'the node is disabled'],
    ]);
    // The runner gets the input as it was sent.
    expect(JSON.parse((await hub.app.db('batches').where({ id: batch.id }).first()).input)).toEqual({ ms: 5, password: 'hunter2' });
    await ownerApi(hub, 'POST', `/api/v1/batches/${batch.id}/cancel`);
  });

  it("refuses a command above the caller's role, a hub-owned command, a command no node offers and a bad target", async () => {
    const refused = async (role: 'viewer' | 'operator', body: object) => {
      const res = await post(role, '/api/v1/batches', body);
      return [res.statusCode, res.json().message];
    };
    expect(await refused('viewer', { target: { all: true }, command: 'tally.run' })).toEqual([403, 'tally.run needs the operator role; test-viewer is viewer']);
    expect(await refused('operator', { target: { all: true }, command: 'tally.wipe' })).toEqual([403, 'tally.wipe needs the admin role; test-operator is operator']);
    expect(await refused('operator', { target: { all: true }, command: 'singbox-config.config.apply' })).toEqual([
      409,
      'singbox-config.config.apply is not run directly: save the config with POST /api/v1/configs, then POST /api/v1/configs/:id/apply',
    ]);
    expect(await refused('operator', { target: { all: true }, command: 'tally.nothing' })).toEqual([
      400,
      'command: no node of the target offers tally.nothing (as the nodes last described themselves)',
    ]);
    expect(await refused('operator', { target: { tags: ['east'], node_ids: ['e1'] }, command: 'tally.run' })).toEqual([
      400,
      'target: give exactly one of tags, node_ids or all (got tags and node_ids)',
    ]);
    expect(await refused('operator', { target: { tags: ['north'] }, command: 'tally.run' })).toEqual([400, 'target: no node matches tags north']);
    expect((await refused('operator', { target: { all: true }, command: 'tally.run', concurrency: 33 }))[0]).toBe(400);
    expect(await hub.app.db('batches').where({ created_by: 'test-viewer' }).count({ n: '*' })).toEqual([{ n: 0 }]);
  });

  it('cancels a batch not yet run: its pending nodes are skipped and it is cancelled at once; only operators and up may', async () => {
    const batch = await ownerApi(hub, 'POST', '/api/v1/batches', { target: { tags: ['west'] }, command: 'tally.run' });
    expect((await post('viewer', `/api/v1/batches/${batch.id}/cancel`, {})).statusCode).toBe(403);
    const cancelled = await ownerApi(hub, 'POST', `/api/v1/batches/${batch.id}/cancel`);
    expect(cancelled).toMatchObject({ status: 'cancelled', counts: { pending: 0, skipped: 2 } });
    // An ISO time, as every time in the API.
    expect(new Date(cancelled.finished_at).toISOString()).toBe(cancelled.finished_at);
    expect(Date.parse(cancelled.finished_at)).toBeGreaterThanOrEqual(Date.parse(cancelled.created_at));
    const detail = await ownerApi(hub, 'GET', `/api/v1/batches/${batch.id}`);
    expect(detail.nodes.map((n: { status: string; error: string }) => `${n.status}: ${n.error}`)).toEqual(['skipped: cancelled', 'skipped: cancelled']);
    const again = await post('owner', `/api/v1/batches/${batch.id}/cancel`, {});
    expect([again.statusCode, again.json().message]).toEqual([409, `batch ${batch.id} is cancelled already`]);
  });

  it('runs a batch: a node whose agent does not answer fails with the error and the batch is failed', async () => {
    const batch = await ownerApi(hub, 'POST', '/api/v1/batches', { target: { node_ids: ['w1', 'w2'] }, command: 'tally.run', input: { ms: 1 } });
    const run = await hub.app.jobs.run('batches');
    expect(run).toMatchObject({ ran: true, result: { orphaned: 0, ran: 2 } });
    const detail = await ownerApi(hub, 'GET', `/api/v1/batches/${batch.id}`);
    expect(detail).toMatchObject({ status: 'failed', counts: { failed: 2, pending: 0, running: 0 } });
    for (const node of detail.nodes) {
      expect(node.error).toMatch(new RegExp(`^node ${node.node_id}: `));
      expect(node.duration_ms).toBeGreaterThanOrEqual(0);
    }
    // The batch's creation is audited under its id (each call to a node is too: batches.suite.ts).
    expect(await hub.app.db('audit_log').where({ action: 'batch.create', target: `${batch.id} tally.run` })).toHaveLength(1);
  });

  it('retries the failed nodes of a batch as a new batch naming it', async () => {
    const first = await ownerApi(hub, 'POST', '/api/v1/batches', { target: { all: true }, command: 'tally.run', input: { ms: 2 }, concurrency: 2 });
    await hub.app.db('batch_nodes').where({ batch_id: first.id }).whereIn('node_id', ['e1', 'w2']).update({ status: 'failed', error: 'x' });
    await hub.app.db('batch_nodes').where({ batch_id: first.id }).whereIn('node_id', ['e2', 'w1']).update({ status: 'succeeded' });
    await hub.app.db('batches').where({ id: first.id }).update({ status: 'failed' });
    const retry = await ownerApi(hub, 'POST', `/api/v1/batches/${first.id}/retry`);
    expect(retry).toMatchObject({ retry_of: first.id, target: { node_ids: ['e1', 'w2'] }, concurrency: 2, counts: { pending: 2 } });
    const all = await ownerApi(hub, 'POST', `/api/v1/batches/${first.id}/retry`, { nodes: 'all' });
    // Every node of it, the disabled one skipped again.
    expect(all).toMatchObject({ retry_of: first.id, target: { node_ids: ['e1', 'e2', 'off', 'w1', 'w2'] }, counts: { pending: 4, skipped: 1 } });
    // A viewer may not re-run an operator command either.
    expect((await post('viewer', `/api/v1/batches/${first.id}/retry`, {})).statusCode).toBe(403);
    for (const id of [retry.id, all.id]) await ownerApi(hub, 'POST', `/api/v1/batches/${id}/cancel`);
  });

  it('after a restart, fails the rows a dead hub left running (never re-sent) and runs the pending ones', async () => {
    const batch = await createBatch({ db: hub.app.db, now: Date.now }, { target: { tags: ['west'] }, command: 'tally.run' }, { id: null, name: 'root', role: 'owner' });
    // What a hub killed mid-call leaves: one node running, one still pending.
    await hub.app.db('batches').where({ id: batch.id }).update({ status: 'running', started_at: Date.now() });
    await hub.app.db('batch_nodes').where({ batch_id: batch.id, node_id: 'w1' }).update({ status: 'running', started_at: Date.now() });
    const run = await hub.app.jobs.run('batches');
    expect(run).toMatchObject({ ran: true, result: { orphaned: 1, ran: 1 } });
    const detail = await ownerApi(hub, 'GET', `/api/v1/batches/${batch.id}`);
    expect(detail.status).toBe('failed');
    expect(detail.nodes.find((n: { node_id: string }) => n.node_id === 'w1')).toMatchObject({ status: 'failed', error: ORPHANED_ERROR });
    // w2 was run: its creator has no admin account, so it failed with that reason and was not sent.
    expect(detail.nodes.find((n: { node_id: string }) => n.node_id === 'w2')).toMatchObject({ status: 'failed' });
  });

  it('lists batches newest first, a page at a time, filtered by status', async () => {
    const all = await ownerApi(hub, 'GET', '/api/v1/batches?per_page=2');
    expect(all).toMatchObject({ page: 1, per_page: 2 });
    expect(all.items).toHaveLength(2);
    expect(all.items[0].id).toBeGreaterThan(all.items[1].id);
    const second = await ownerApi(hub, 'GET', '/api/v1/batches?page=2&per_page=2');
    expect(second).toMatchObject({ page: 2, total: all.total });
    expect(second.items[0].id).toBeLessThan(all.items[1].id);
    const cancelled = await ownerApi(hub, 'GET', '/api/v1/batches?status=cancelled');
    expect(cancelled.total).toBeGreaterThanOrEqual(2);
    expect(cancelled.items.every((b: { status: string }) => b.status === 'cancelled')).toBe(true);
  });
});
