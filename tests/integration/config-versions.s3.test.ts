// Config versions through a real S3 server (BOXFLEET_TEST_S3_URL, started by .ci/s3-server.sh:
// versitygw on loopback), with the same minio client the hub uses against MinIO in production.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openObjectStore, parseS3Url } from '../../hub/object-store.js';
import { canonicalJson } from '../../agent-core/common/canonical-json.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { joinHub, leave } from './jobs.suite.js';
import { s3ServerUrl } from '../support/real-components.js';

/** The S3 server for these tests; missing is a failure, not a skip. */
const CONFIG = { inbounds: [{ type: 'vless', tag: 'in', listen_port: 443 }], outbounds: [{ type: 'direct', tag: 'direct' }], log: { level: 'info' } };

describe('config versions in an S3 bucket', () => {
  let hub: TestHub;
  let app: FastifyInstance;
  let storeUrl: string;

  beforeAll(async () => {
    const url = new URL(s3ServerUrl());
    // A bucket of its own that does not exist yet: the hub creates it.
    url.pathname = `/boxfleet-t-${randomBytes(5).toString('hex')}/hub-a`;
    storeUrl = url.toString();
    hub = await startTestHub('sqlite', { config: { object_store_url: storeUrl } });
    app = hub.app;
  });

  afterAll(async () => {
    await hub?.close();
  });

  it('creates its bucket and keeps each version as canonical JSON under its sha256, read back through the API', async () => {
    const saved = await app.inject({ method: 'POST', url: '/api/v1/configs', headers: hub.auth, payload: { config: CONFIG, comment: 'in s3' } });
    expect(saved.statusCode).toBe(201);
    const canonical = canonicalJson(CONFIG);
    const hash = createHash('sha256').update(canonical).digest('hex');
    expect(saved.json()).toMatchObject({ hash, size: canonical.length, comment: 'in s3' });

    const where = parseS3Url(storeUrl);
    const client = new Client({ endPoint: where.endPoint, port: where.port, useSSL: false, accessKey: where.accessKey, secretKey: where.secretKey, region: where.region, pathStyle: true });
    expect(await client.bucketExists(where.bucket)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of await client.getObject(where.bucket, `hub-a/configs/${hash}.json`)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(canonical);

    const got = await app.inject({ method: 'GET', url: `/api/v1/configs/${saved.json().id}`, headers: hub.auth });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ hash, config: CONFIG });
  });

  it('serves the versions another hub replica saved, from the same bucket', async () => {
    const replica = await joinHub(hub, { object_store_url: storeUrl });
    try {
      const saved = await replica.inject({ method: 'POST', url: '/api/v1/configs', headers: hub.auth, payload: { config: { ...CONFIG, log: { level: 'debug' } } } });
      expect(saved.statusCode).toBe(201);
      const got = await app.inject({ method: 'GET', url: `/api/v1/configs/${saved.json().id}`, headers: hub.auth });
      expect(got.json().config).toEqual({ ...CONFIG, log: { level: 'debug' } });
    } finally {
      await leave(replica, hub);
    }
  });

  it('says which object is missing, and never shows the secret in the store location', async () => {
    const store = await openObjectStore(storeUrl, '/nonexistent');
    expect(store.location).not.toContain(parseS3Url(storeUrl).secretKey);
    await expect(store.get('configs/none.json')).rejects.toMatchObject({ code: 'HUB_ERR_NOT_FOUND', message: expect.stringContaining('configs/none.json') });
    expect(await store.exists('configs/none.json')).toBe(false);
  });
});
