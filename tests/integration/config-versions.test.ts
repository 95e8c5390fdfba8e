// Config versions in the local object-store folder (the embedded default), and applying them to
// real agent processes whose singbox-config is the recording test double.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileSummary } from '../../hub/jobs/reconcile.js';
import { openObjectStore, parseS3Url } from '../../hub/object-store.js';
import { canonicalJson } from '../../agent-core/common/canonical-json.js';
import type { AgentProcess } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { enroll, nodeCommand, nodeRow, seedUnreachableNode, startFakeNode } from './jobs.suite.js';

const BASE = {
  log: { level: 'warn' },
  inbounds: [{ type: 'vless', tag: 'vless-in', listen: '::', listen_port: 443 }],
  outbounds: [{ type: 'direct', tag: 'direct' }],
};

describe('config versions, local object store', () => {
  let hub: TestHub;
  let agents: AgentProcess[] = [];
  let offset = 0;

  const save = (config: object, comment?: string, headers = hub.auth) =>
    hub.app.inject({ method: 'POST', url: '/api/v1/configs', headers, payload: { config, ...(comment ? { comment } : {}) } });
  const apply = (id: number, body: object) => hub.app.inject({ method: 'POST', url: `/api/v1/configs/${id}/apply`, headers: hub.auth, payload: body });
  const fakeState = (node: string) => nodeCommand<{ config: unknown; comment: string | null; applies: number }>(hub, node, 'singbox-config.state');

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { clock: () => Date.now() + offset });
    agents = await Promise.all([startFakeNode('cfg-1'), startFakeNode('cfg-2')]);
    await enroll(hub, agents[0]!, { tags: ['edge'] });
    await enroll(hub, agents[1]!, { tags: ['edge', 'asia'] });
  });

  afterAll(async () => {
    await hub?.close();
    await Promise.all(agents.map((a) => a.stop()));
  });

  it('saves every config as an immutable version: canonical JSON under its sha256 in data_dir/objects, and who saved it when', async () => {
    const first = await save(BASE, 'first cut');
    expect(first.statusCode).toBe(201);
    const canonical = canonicalJson(BASE);
    const hash = createHash('sha256').update(canonical).digest('hex');
    expect(first.json()).toMatchObject({ hash, size: Buffer.byteLength(canonical), comment: 'first cut', author: 'test-owner' });
    expect(await readFile(path.join(hub.config.data_dir, 'objects', 'configs', `${hash}.json`), 'utf8')).toBe(canonical);

    // The same config with its keys in another order is the same content: a new version, the same object.
    const reordered = { outbounds: BASE.outbounds, inbounds: BASE.inbounds, log: BASE.log };
    const second = await save(reordered, 'same again');
    expect(second.statusCode).toBe(201);
    expect(second.json().id).toBeGreaterThan(first.json().id);
    expect(second.json().hash).toBe(hash);

    const got = await hub.app.inject({ method: 'GET', url: `/api/v1/configs/${first.json().id}`, headers: await hub.as('viewer') });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ id: first.json().id, hash, comment: 'first cut', config: BASE });
  });

  it('lists versions newest first, a page at a time, to viewers', async () => {
    for (let i = 0; i < 3; i++) expect((await save({ ...BASE, log: { level: 'info' }, route: { final: `direct-${i}` } }, `v${i}`)).statusCode).toBe(201);
    const viewer = await hub.as('viewer');
    const page = await hub.app.inject({ method: 'GET', url: '/api/v1/configs?limit=2&offset=1', headers: viewer });
    expect(page.statusCode).toBe(200);
    const body = page.json();
    expect(body).toMatchObject({ total: 5, limit: 2, offset: 1 });
    expect(body.versions.map((v: { comment: string }) => v.comment)).toEqual(['v1', 'v0']);
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/configs?limit=500', headers: viewer })).json().message).toBe('querystring.limit: must be <= 200');
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/configs/999', headers: viewer })).statusCode).toBe(404);
  });

  it('refuses a config that carries what the agent manages, naming the field, and saves nothing', async () => {
    const before = (await hub.app.inject({ method: 'GET', url: '/api/v1/configs', headers: hub.auth })).json().total;
    const withUsers = await save({ inbounds: [{ type: 'trojan', tag: 't', users: [{ name: 'a', password: 'x' }] }] });
    expect(withUsers.statusCode).toBe(400);
    expect(withUsers.json()).toMatchObject({
      code: 'HUB_ERR_BAD_REQUEST',
      message: 'body.config.inbounds[0].users: users are managed by users.sync; remove them from the base config',
    });
    expect((await save({ experimental: { clash_api: { external_controller: '127.0.0.1:9090' } } })).json().message).toMatch(/^body\.config\.experimental\.clash_api: /);
    expect((await save({ services: [{ type: 'ssm-api', servers: {} }] })).json().message).toMatch(/^body\.config\.services\[0\]: /);
    expect((await hub.app.inject({ method: 'POST', url: '/api/v1/configs', headers: hub.auth, payload: { config: [] } })).statusCode).toBe(400);
    expect((await save(BASE, undefined, await hub.as('operator'))).statusCode).toBe(403);
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/configs', headers: hub.auth })).json().total).toBe(before);
  });

  it("applies a version to one node at once and records it as the node's applied version", async () => {
    const version = (await save({ ...BASE, route: { final: 'direct' } }, 'for cfg-1')).json();
    const res = await apply(version.id, { node_id: 'cfg-1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ node_id: 'cfg-1', status: 'applied', version: version.id, applied_config_version: version.id, error: null });
    expect(await fakeState('cfg-1')).toMatchObject({ config: { ...BASE, route: { final: 'direct' } }, comment: `boxfleet config version ${version.id}: for cfg-1` });
    expect(await nodeRow(hub.app.db, 'cfg-1')).toMatchObject({ desired_config_version: version.id, applied_config_version: version.id, last_error: null });
    const audit = await hub.app.db('audit_log').where({ action: 'config.apply' }).orderBy('id', 'desc').first();
    expect(audit).toMatchObject({ admin: 'test-owner', result: 'ok', target: `${version.id} cfg-1` });
  });

  it("answers a config the node refuses with the node's message, keeps it in last_error, and leaves the node as it was", async () => {
    const good = (await nodeRow(hub.app.db, 'cfg-1')).applied_config_version;
    const bad = (await save({ ...BASE, inbounds: [{ type: 'invalid', tag: 'x' }] }, 'broken')).json();
    const res = await apply(bad.id, { node_id: 'cfg-1' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'HUB_ERR_BAD_REQUEST',
      message: `node cfg-1 refused config version ${bad.id}: sing-box check failed: inbounds[0]: unknown inbound type: invalid`,
    });
    const node = await nodeRow(hub.app.db, 'cfg-1');
    expect(node).toMatchObject({ desired_config_version: good, applied_config_version: good, health: 'online' });
    expect(node.last_error).toBe(`config: version ${bad.id}: sing-box check failed: inbounds[0]: unknown inbound type: invalid`);
    const tick = await hub.app.jobs.run('reconcile');
    expect(tick.ran && (tick.result as ReconcileSummary).results.map((r) => r.node_id)).not.toContain('cfg-1');
  });

  it("applies a version to every node with a tag and lists each node's result; an offline node gets it when it returns", async () => {
    const version = (await save({ ...BASE, log: { level: 'error' } }, 'edge-wide')).json();
    await agents[1]!.kill9();
    const res = await apply(version.id, { tag: 'edge' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ version: version.id, tag: 'edge', applied: 1, pending: 1, refused: 0 });
    expect(res.json().results).toEqual([
      { node_id: 'cfg-1', status: 'applied', version: version.id, applied_config_version: version.id, error: null },
      { node_id: 'cfg-2', status: 'pending', version: version.id, applied_config_version: null, error: expect.stringContaining('node cfg-2: ') },
    ]);
    expect(await nodeRow(hub.app.db, 'cfg-2')).toMatchObject({ desired_config_version: version.id, applied_config_version: null, health: 'offline' });

    await agents[1]!.restart();
    for (let attempt = 0; attempt < 40 && (await nodeRow(hub.app.db, 'cfg-2')).applied_config_version !== version.id; attempt++) {
      offset += 5 * 60_000; // past the node's backoff
      await hub.app.jobs.run('reconcile');
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await nodeRow(hub.app.db, 'cfg-2')).toMatchObject({ applied_config_version: version.id, health: 'online', last_error: null });
    expect((await fakeState('cfg-2')).config).toEqual({ ...BASE, log: { level: 'error' } });

    expect((await apply(version.id, { tag: 'nobody' })).statusCode).toBe(404);
    expect((await apply(version.id, { node_id: 'cfg-1', tag: 'edge' })).json().message).toBe('body: give exactly one of node_id or tag');
  });

  it('rolls a node back to the version it applied before the current one', async () => {
    const v1 = (await save({ ...BASE, route: { final: 'one' } }, 'one')).json();
    const v2 = (await save({ ...BASE, route: { final: 'two' } }, 'two')).json();
    expect((await apply(v1.id, { node_id: 'cfg-2' })).statusCode).toBe(200);
    expect((await apply(v2.id, { node_id: 'cfg-2' })).statusCode).toBe(200);
    const res = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes/cfg-2/config/rollback', headers: hub.auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ node_id: 'cfg-2', status: 'applied', version: v1.id, applied_config_version: v1.id });
    expect((await fakeState('cfg-2')).config).toEqual({ ...BASE, route: { final: 'one' } });
    // Rolling back again goes back to what it ran before that.
    expect((await hub.app.inject({ method: 'POST', url: '/api/v1/nodes/cfg-2/config/rollback', headers: hub.auth })).json()).toMatchObject({ version: v2.id });
    const history = (await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/cfg-2/config/history?limit=3', headers: hub.auth })).json();
    expect(history.pushes).toMatchObject([
      { action: 'rollback', version: v2.id, hash: v2.hash },
      { action: 'rollback', version: v1.id, hash: v1.hash },
      { action: 'apply', version: v2.id },
    ]);

    await seedUnreachableNode(hub.app.db, 'cfg-new');
    const none = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes/cfg-new/config/rollback', headers: hub.auth });
    expect(none.statusCode).toBe(409);
    expect(none.json().message).toBe('node cfg-new has no applied config version to roll back from');
  });

  it("lists every push to a node newest first, with who pushed it and the node's refusal, to viewers", async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/cfg-1/config/history?limit=3', headers: await hub.as('viewer') });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const applied = (await nodeRow(hub.app.db, 'cfg-1')).applied_config_version;
    expect(body).toMatchObject({ node_id: 'cfg-1', applied_config_version: applied, desired_config_version: applied });
    // edge-wide (applied), broken (refused with sing-box's message), for cfg-1 (applied).
    const hash = expect.stringMatching(/^[0-9a-f]{64}$/);
    expect(body.pushes).toEqual([
      { version: applied, hash, action: 'apply', time: expect.any(String), by: 'test-owner', applied: true, error: null },
      { version: applied - 1, hash, action: 'apply', time: expect.any(String), by: 'test-owner', applied: false, error: 'sing-box check failed: inbounds[0]: unknown inbound type: invalid' },
      { version: applied - 2, hash, action: 'apply', time: expect.any(String), by: 'test-owner', applied: true, error: null },
    ]);
    expect(Date.parse(body.pushes[0].time)).toBeGreaterThanOrEqual(Date.parse(body.pushes[1].time));
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/nobody/config/history', headers: hub.auth })).statusCode).toBe(404);
  });
});

describe('object stores', () => {
  it('reads an s3:// URL: credentials (URL-encoded), endpoint, bucket, key prefix, TLS and region', () => {
    expect(parseS3Url('s3://AK%2Fx:S%40cret@minio.example:9000/boxfleet/configs/prod?ssl=false&region=eu-1')).toEqual({
      endPoint: 'minio.example',
      port: 9000,
      useSSL: false,
      accessKey: 'AK/x',
      secretKey: 'S@cret',
      bucket: 'boxfleet',
      region: 'eu-1',
      prefix: 'configs/prod/',
    });
    expect(parseS3Url('s3://a:b@s3.example/bucket')).toMatchObject({ port: 443, useSSL: true, prefix: '', region: 'us-east-1' });
    expect(() => parseS3Url('s3://a:b@host/Bad_Bucket')).toThrow('object_store_url: "Bad_Bucket" is not a valid bucket name');
    expect(() => parseS3Url('s3://host:9000/bucket')).toThrow('object_store_url: s3:// needs credentials');
    expect(() => parseS3Url('s3://a:b@host/bucket?ssl=maybe')).toThrow('object_store_url: ssl must be true or false, not maybe');
  });

  it('keeps objects in a folder, written whole, and refuses keys that leave it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-objects-'));
    try {
      const store = await openObjectStore('', dir);
      expect(store.location).toBe(path.join(dir, 'objects'));
      await store.put('configs/abc.json', Buffer.from('{"a":1}'));
      expect((await store.get('configs/abc.json')).toString()).toBe('{"a":1}');
      expect(await store.exists('configs/abc.json')).toBe(true);
      expect(await readdir(path.join(dir, 'objects', 'configs'))).toEqual(['abc.json']);
      await expect(store.get('configs/none.json')).rejects.toMatchObject({ code: 'HUB_ERR_NOT_FOUND' });
      await expect(store.put('../escape.json', Buffer.from('x'))).rejects.toThrow('object key "../escape.json" is not a plain relative path');
      await expect(openObjectStore('ftp://x', dir)).rejects.toThrow('object_store_url must be empty, file:///path or s3://');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
