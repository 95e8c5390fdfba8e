// Stored node metrics on the hub: hourly averages beyond 24 h, retention, the API's range. Run on
// SQLite by metrics.store.test.ts and on MariaDB by metrics.store.mariadb.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downsample, runMetricsJob, storeSamples } from '../../hub/jobs/metrics.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-03-10T12:30:00Z');

export function metricsStoreSuite(kind: DatabaseKind): void {
  describe(`node metrics storage, hub on ${kind}`, () => {
    let hub: TestHub;

    beforeAll(async () => {
      hub = await startTestHub(kind, { clock: () => NOW });
      await hub.app.db('nodes').insert({ id: 'n1', name: 'n1', address: '127.0.0.1:1', insecure: true, token: 't'.repeat(20), tags: '[]', created_at: NOW, updated_at: NOW, enabled: false });
    });
    afterAll(() => hub?.close());

    const sample = (time: number, cpu: number | null) => ({ node: 'n1', kind: 'cpu-memory' as const, time: new Date(time).toISOString(), values: { cpu_percent: cpu } });

    it('keeps a sample once however often it arrives', async () => {
      await storeSamples(hub.app.db, [sample(NOW - HOUR, 5), sample(NOW - HOUR, 5)]);
      await storeSamples(hub.app.db, [sample(NOW - HOUR, 5)]);
      const row = await hub.app.db('node_metrics').where({ node_id: 'n1' }).count({ n: '*' }).first();
      expect(Number(row?.n)).toBe(1);
    });

    it('averages raw samples older than 24 h into hourly rows, ignoring nulls, and keeps recent ones raw', async () => {
      const oldHour = Math.floor((NOW - 30 * HOUR) / HOUR) * HOUR;
      await storeSamples(hub.app.db, [sample(oldHour + 1000, 10), sample(oldHour + 2000, 20), sample(oldHour + 3000, null), sample(oldHour + HOUR + 5, 40)]);
      expect(await downsample(hub.app.db, NOW)).toBe(4);
      const res = await hub.app.inject({ method: 'GET', url: `/api/v1/nodes/n1/metrics?from=${new Date(NOW - 48 * HOUR).toISOString()}`, headers: hub.auth });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().samples).toEqual([
        { time: new Date(oldHour).toISOString(), kind: 'cpu-memory', resolution: 'hour', values: { cpu_percent: 15 } },
        { time: new Date(oldHour + HOUR).toISOString(), kind: 'cpu-memory', resolution: 'hour', values: { cpu_percent: 40 } },
        { time: new Date(NOW - HOUR).toISOString(), kind: 'cpu-memory', resolution: 'raw', values: { cpu_percent: 5 } },
      ]);
      // The default range is the last 24 h.
      const recent = (await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/n1/metrics', headers: hub.auth })).json();
      expect(recent.samples).toHaveLength(1);
    });

    it('deletes rows older than the retention', async () => {
      await storeSamples(hub.app.db, [sample(NOW - 40 * 24 * HOUR, 1)]);
      const result = await runMetricsJob({ db: hub.app.db, agents: hub.app.agents, now: () => NOW, logger: { debug() {} } as never, retentionDays: 30 });
      expect(result).toMatchObject({ nodes: 0, expired: 1 });
    });

    it('refuses a range that ends before it starts', async () => {
      const res = await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/n1/metrics?from=2026-03-10T00:00:00Z&to=2026-03-09T00:00:00Z', headers: hub.auth });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_BAD_REQUEST', message: 'querystring.from: must not be after to' });
    });
  });
}
