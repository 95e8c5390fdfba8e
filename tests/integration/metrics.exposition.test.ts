// The hub's GET /metrics keeps every figure it exposed before prom-client wrote it: the same names,
// each with its HELP and TYPE lines, so dashboards, alert rules and PromQL that read them still work.
import selfsigned from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateFingerprint } from '../../agent-core/common/fingerprint.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const HUB_METRICS: Record<string, 'counter' | 'gauge' | 'histogram'> = {
  boxfleet_hub_http_request_duration_seconds: 'histogram',
  boxfleet_hub_job_runs_total: 'counter',
  boxfleet_hub_job_failures_total: 'counter',
  boxfleet_hub_job_skipped_total: 'counter',
  boxfleet_hub_job_duration_seconds_total: 'counter',
  boxfleet_hub_job_last_duration_seconds: 'gauge',
  boxfleet_hub_job_running: 'gauge',
  boxfleet_hub_traffic_last_entries: 'gauge',
  boxfleet_hub_traffic_last_failed_nodes: 'gauge',
  boxfleet_hub_traffic_bytes_applied_total: 'counter',
  boxfleet_hub_traffic_billed_bytes_total: 'counter',
  boxfleet_hub_nodes: 'gauge',
  boxfleet_hub_nodes_up: 'gauge',
  boxfleet_hub_watch_streams: 'gauge',
  boxfleet_hub_node_up: 'gauge',
  boxfleet_hub_node_traffic_bytes_total: 'counter',
  boxfleet_hub_node_billed_bytes_total: 'counter',
  boxfleet_hub_node_certificate_expiry_timestamp_seconds: 'gauge',
};

const EXPIRES = new Date('2031-05-01T00:00:00Z');

/** Two enabled nodes (one online with a pinned certificate, one offline and insecure) and a disabled one, with applied traffic. */
async function seedNodes(hub: TestHub) {
  const { cert } = await selfsigned.generate([{ name: 'commonName', value: 'boxfleet-agent n1' }], { keyType: 'ec', curve: 'P-256', notAfterDate: EXPIRES });
  const node = { address: '127.0.0.1:1', token: 't'.repeat(20), tags: '[]', created_at: 1, updated_at: 1, insecure: true, enabled: true };
  const traffic = (up: number, down: number, billed: number) => ({ upload_bytes_total: up, download_bytes_total: down, billed_bytes_total: billed });
  await hub.app.db('nodes').insert({
    ...node, id: 'n1', name: 'n1', insecure: false, certificate: cert, fingerprint: certificateFingerprint(cert), health: 'online', ...traffic(100, 900, 1500),
  });
  await hub.app.db('nodes').insert({ ...node, id: 'n2', name: 'n2', health: 'offline', ...traffic(5, 0, 5) });
  await hub.app.db('nodes').insert({ ...node, id: 'n3', name: 'n3', health: 'online', enabled: false, ...traffic(0, 0, 0) });
}

describe("the hub's /metrics", () => {
  let hub: TestHub;
  let body: string;

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    await hub.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: hub.auth });
    await hub.app.jobs.run('traffic');
    // After the tick: it would find these addresses unreachable and mark the nodes offline.
    await seedNodes(hub);
    const res = await hub.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    body = res.body;
  });

  afterAll(() => hub?.close());

  it.each(Object.entries(HUB_METRICS))('exposes %s as a %s with its HELP and TYPE', (name, type) => {
    expect(body).toMatch(new RegExp(`^# HELP ${name} \\S.*$`, 'm'));
    expect(body).toMatch(new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
    const sample = type === 'histogram' ? `${name}_count` : name;
    expect(body).toMatch(new RegExp(`^${sample}(\\{[^}]*\\})? [0-9.e+-]+$`, 'm'));
  });

  it('exposes nothing else, and keeps its label names', () => {
    const declared = [...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(declared.sort()).toEqual(Object.keys(HUB_METRICS).sort());
    expect(body).toMatch(/^boxfleet_hub_job_runs_total\{name="traffic"\} 1$/m);
    expect(body).toMatch(/^boxfleet_hub_job_running\{name="quota"\} 0$/m);
    expect(body).toMatch(/^boxfleet_hub_nodes\{health="online"\} 1$/m);
    expect(body).toMatch(/^boxfleet_hub_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/nodes",status="200"\} 1$/m);
  });

  it('gives each node its own series, labelled node as the agent labels its own', () => {
    const lines = (name: string) => body.split('\n').filter((l) => l.startsWith(`${name}{`)).sort();
    expect(lines('boxfleet_hub_node_up')).toEqual(['boxfleet_hub_node_up{node="n1"} 1', 'boxfleet_hub_node_up{node="n2"} 0']);
    expect(lines('boxfleet_hub_node_traffic_bytes_total')).toEqual([
      'boxfleet_hub_node_traffic_bytes_total{node="n1",direction="download"} 900',
      'boxfleet_hub_node_traffic_bytes_total{node="n1",direction="upload"} 100',
      'boxfleet_hub_node_traffic_bytes_total{node="n2",direction="download"} 0',
      'boxfleet_hub_node_traffic_bytes_total{node="n2",direction="upload"} 5',
      'boxfleet_hub_node_traffic_bytes_total{node="n3",direction="download"} 0',
      'boxfleet_hub_node_traffic_bytes_total{node="n3",direction="upload"} 0',
    ]);
    expect(lines('boxfleet_hub_node_billed_bytes_total')).toContain('boxfleet_hub_node_billed_bytes_total{node="n1"} 1500');
    // Only the node with a pinned certificate has an expiry: the certificate's own notAfter.
    expect(lines('boxfleet_hub_node_certificate_expiry_timestamp_seconds')).toEqual([
      `boxfleet_hub_node_certificate_expiry_timestamp_seconds{node="n1"} ${EXPIRES.getTime() / 1000}`,
    ]);
  });

  it('keeps apart the figures of two apps in one process', async () => {
    const other = await startTestHub('sqlite');
    try {
      await other.app.jobs.run('traffic');
      await other.app.jobs.run('traffic');
      const scrape = async (app: TestHub['app']) => (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(await scrape(other.app)).toMatch(/^boxfleet_hub_job_runs_total\{name="traffic"\} 2$/m);
      expect(await scrape(hub.app)).toMatch(/^boxfleet_hub_job_runs_total\{name="traffic"\} 1$/m);
    } finally {
      await other.close();
    }
  });
});
