// Backup and restore of a hub whose config versions are in an S3 bucket (BOXFLEET_TEST_S3_URL,
// started by .ci/s3-server.sh): the archive holds every object of the bucket's prefix, and a
// restore puts them into the object store the restoring hub names — here another bucket.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupHub, restoreHub } from '../../hub/backup.js';
import { resolveHubConfig } from '../../hub/config.js';
import { openObjectStore } from '../../hub/object-store.js';
import { s3ServerUrl } from '../support/real-components.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { joinHub, leave } from './jobs.suite.js';

/** A bucket of its own and a prefix in it, on the test S3 server. */
function bucketUrl(prefix: string): string {
  const url = new URL(s3ServerUrl());
  url.pathname = `/boxfleet-t-${randomBytes(5).toString('hex')}/${prefix}`;
  return url.toString();
}

describe('hub backup and restore with the objects in S3', () => {
  let hub: TestHub;
  let dir: string;
  const configs = [1, 2, 3].map((i) => ({ inbounds: [{ type: 'vless', tag: `in-${i}`, listen_port: 443 + i }], outbounds: [{ type: 'direct', tag: 'direct' }] }));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-backup-s3-'));
    hub = await startTestHub('sqlite', { config: { object_store_url: bucketUrl('hub-a') } });
  });

  afterAll(async () => {
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('archives every object under the bucket prefix and restores them into another bucket', async () => {
    const ids: number[] = [];
    for (const config of configs) {
      const res = await hub.app.inject({ method: 'POST', url: '/api/v1/configs', headers: hub.auth, payload: { config } });
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id);
    }
    const file = path.join(dir, 'hub.jsonl.gz');
    expect((await backupHub(hub.config, file)).header.objects).toBe(3);

    const target = resolveHubConfig({ data_dir: path.join(dir, 'restored'), object_store_url: bucketUrl('hub-b'), log_level: 'error', jobs_enabled: false }, {});
    await restoreHub(target, file);
    const [source, restored] = await Promise.all([openObjectStore(hub.config.object_store_url, ''), openObjectStore(target.object_store_url, '')]);
    const keys = await source.list();
    expect(keys).toHaveLength(3);
    expect(await restored.list()).toEqual(keys);
    for (const key of keys) expect(await restored.get(key)).toEqual(await source.get(key));

    const app = await joinHub(hub, target);
    try {
      for (const [i, id] of ids.entries()) {
        const res = await app.inject({ method: 'GET', url: `/api/v1/configs/${id}`, headers: hub.auth });
        expect(res.json().config).toEqual(configs[i]);
      }
    } finally {
      await leave(app, hub);
    }
  });
});
