// The hub's GET /metrics keeps every figure it exposed before prom-client wrote it: the same names,
// each with its HELP and TYPE lines, so dashboards, alert rules and PromQL that read them still work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
};

describe("the hub's /metrics", () => {
  let hub: TestHub;
  let body: string;

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    await hub.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: hub.auth });
    await hub.app.jobs.run('traffic');
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
    expect(body).toMatch(/^boxfleet_hub_nodes\{health="online"\} 0$/m);
    expect(body).toMatch(/^boxfleet_hub_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/nodes",status="200"\} 1$/m);
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
