// A real Prometheus (Debian's package; BOXFLEET_PROMETHEUS_BIN or /usr/bin/prometheus) scrapes a
// real agent's sysmetrics endpoint and the hub's /metrics; PromQL over its HTTP API then returns
// the node's CPU value and the hub's job counter; promtool (from the same package) lints both
// outputs. No skipping: without the binaries this fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { prometheusPackageBin } from '../support/real-components.js';

const NODE = 'prom-node';

/** `promtool check metrics` over an exposition: its exit code and what it said (empty when clean). */
async function promtoolCheck(text: string): Promise<{ code: number | null; report: string }> {
  const child = spawn(prometheusPackageBin('promtool'), ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let report = '';
  child.stdout.on('data', (c) => (report += c));
  child.stderr.on('data', (c) => (report += c));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  child.stdin.end(text);
  return { code: await exited, report };
}

describe('Prometheus scraping an agent and the hub', () => {
  let agent: AgentProcess;
  let hub: TestHub;
  let prometheus: ChildProcess;
  let dir: string;
  let promUrl: string;
  let agentMetricsPort: number;
  let hubPort: number;
  let output = '';

  beforeAll(async () => {
    const bin = prometheusPackageBin('prometheus');
    agentMetricsPort = await freePort();
    agent = await startAgentProcess({
      nodeId: NODE,
      configure: (config) => {
        config.reload_on_change = false;
        config.plugins.sysmetrics = { enabled: true, cpu_memory_interval_s: 1, prometheus: { listen: `127.0.0.1:${agentMetricsPort}` } };
      },
    });
    hub = await startTestHub('sqlite');
    const enrolled = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes', headers: hub.auth, payload: { enrollment: agent.enrollment } });
    expect(enrolled.statusCode, enrolled.body).toBe(201);
    // Two traffic ticks: the counter Prometheus must read is 2.
    await hub.app.jobs.run('traffic');
    await hub.app.jobs.run('traffic');
    await hub.app.listen({ host: '127.0.0.1', port: 0 });
    hubPort = (hub.app.server.address() as { port: number }).port;

    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-prometheus-'));
    await writeFile(
      path.join(dir, 'prometheus.yml'),
      `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: boxfleet-agent
    static_configs: [{ targets: ['127.0.0.1:${agentMetricsPort}'] }]
  - job_name: boxfleet-hub
    static_configs: [{ targets: ['127.0.0.1:${hubPort}'] }]
`,
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      bin,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (c) => (output += c));
    prometheus.stderr!.on('data', (c) => (output += c));
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await hub?.close();
    await agent?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Polls an instant query until it returns a series, for up to 30 s. */
  async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const end = Date.now() + 30_000;
    let last = '';
    while (Date.now() < end) {
      try {
        const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
        last = await res.text();
        const body = JSON.parse(last) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
        if (body.status === 'success' && body.data.result.length > 0) return body.data.result;
      } catch (error) {
        last = (error as Error).message;
      }
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited (${prometheus.exitCode}):\n${output}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`no result for ${promql} within 30 s: ${last}\n${output}`);
  }

  it("returns the node's CPU value", async () => {
    const [series] = await query(`boxfleet_node_cpu_percent{node="${NODE}"}`);
    expect(series!.metric).toMatchObject({ job: 'boxfleet-agent', node: NODE });
    const cpu = Number(series!.value[1]);
    expect(cpu).toBeGreaterThanOrEqual(0);
    expect(cpu).toBeLessThanOrEqual(100);
    const [memory] = await query(`boxfleet_node_memory_total_bytes{node="${NODE}"}`);
    expect(Number(memory!.value[1])).toBeGreaterThan(0);
    const [rss] = await query(`boxfleet_agent_resident_memory_bytes{node="${NODE}"}`);
    expect(Number(rss!.value[1])).toBeGreaterThan(10 * 1024 * 1024);
    // Both targets are up (each is scraped on its own schedule, so each is waited for).
    for (const job of ['boxfleet-agent', 'boxfleet-hub']) {
      expect(await query(`up{job="${job}"} == 1`)).toHaveLength(1);
    }
  });

  it("returns the hub's job counter", async () => {
    // The job's name is the `name` label: `job` is Prometheus' own (the scrape job).
    const [series] = await query('boxfleet_hub_job_runs_total{name="traffic"}');
    expect(series!.metric).toMatchObject({ job: 'boxfleet-hub', name: 'traffic' });
    expect(series!.metric.instance).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Number(series!.value[1])).toBe(2);
    const [latency] = await query('sum(boxfleet_hub_http_request_duration_seconds_count{route="/metrics"}) or vector(0)');
    // /metrics itself is not timed (scrapes would swamp the API figures).
    expect(Number(latency!.value[1])).toBe(0);
  });

  it('writes expositions that promtool finds nothing wrong with, on the agent and on the hub', async () => {
    for (const url of [`http://127.0.0.1:${agentMetricsPort}/metrics`, `http://127.0.0.1:${hubPort}/metrics`]) {
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      const text = await res.text();
      expect(text, url).toMatch(/^# TYPE boxfleet_/m);
      expect(await promtoolCheck(text), url).toEqual({ code: 0, report: '' });
    }
  });
});
