// Every PromQL expression the shipped Grafana dashboards and Prometheus alert rules hold, read from
// the files, runs against a real Prometheus (Debian's) that scrapes a real hub and a real agent
// supervising a real sing-box, through the shipped scrape config (the agent found through its
// file_sd file), and answers at least one series: a metric or label misspelt in a panel or a rule
// shows here. Alert conditions are asked with their comparisons made `bool`, so a healthy fleet
// answers 0 for each series instead of nothing; the conditions as written must parse too.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import { clientFromEnrollment, freePort, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';
import { comparisonsAsBool, dashboardExpressions, installPrometheusFiles, ruleExpressions, withVariables, type Expression } from '../support/promql.js';
import { prometheusPackageBin, singboxBin } from '../support/real-components.js';
import { makeNodeProfile, singboxNodePlugins } from '../support/singbox-peers.js';

const NODE = 'dash-node';
/** What Grafana would put for the dashboards' variables: this node, and a rate window of several 1 s scrapes. */
const VARIABLES = { node: NODE, __rate_interval: '15s' };

interface Answer {
  status: string;
  error?: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] } | string[];
}

describe('the dashboards and alert rules against a real Prometheus, hub and agent', { timeout: 90_000 }, () => {
  let work: string;
  let agent: AgentProcess;
  let client: AgentClient;
  let hub: TestHub;
  let prometheus: ChildProcess;
  let promUrl: string;
  let output = '';

  const ask = async (url: string): Promise<Answer> => JSON.parse(await (await fetch(`${promUrl}${url}`)).text()) as Answer;
  const instant = (expr: string) => ask(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  const labelValues = (label: string, selector: string) => ask(`/api/v1/label/${label}/values?match[]=${encodeURIComponent(selector)}`);

  /**
   * Asks each expression until it answers a series (a variable: until its label lists this node),
   * in rounds, for up to `ms`; returns those that never did, with their last answer.
   */
  async function unanswered(expressions: Expression[], ms: number): Promise<string[]> {
    let pending = expressions;
    const last = new Map<Expression, string>();
    const end = Date.now() + ms;
    while (pending.length > 0 && Date.now() < end) {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited (${prometheus.exitCode}):\n${output}`);
      const answered = await Promise.all(
        pending.map(async (e) => {
          const answer = e.label ? await labelValues(e.label, e.expr) : await instant(e.expr);
          last.set(e, JSON.stringify(answer).slice(0, 300));
          return answer.status === 'success' && (e.label ? (answer.data as string[]).includes(NODE) : (answer.data as { result: unknown[] }).result.length > 0);
        }),
      );
      pending = pending.filter((_, i) => !answered[i]);
      if (pending.length > 0) await new Promise((r) => setTimeout(r, 1000));
    }
    return pending.map((e) => `${e.where}: ${e.expr}\n  → ${last.get(e)}`);
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-dashboards-'));
    const bin = singboxBin();
    const profile = await makeNodeProfile();
    const plugins = await singboxNodePlugins(bin, { clash: { sample_interval_s: 1 } });
    const metricsPort = await freePort();
    agent = await startAgentProcess({
      nodeId: NODE,
      configure: (config, dir) => {
        config.reload_on_change = false;
        Object.assign(config.plugins, plugins(dir), {
          sysmetrics: { enabled: true, cpu_memory_interval_s: 1, disk_network_interval_s: 1, prometheus: { listen: `127.0.0.1:${metricsPort}` } },
        });
      },
    });
    client = await clientFromEnrollment(agent.enrollment);
    await client.execute('singbox-config.config.apply', { config: profile.baseConfig, comment: 'dashboards e2e' }, { timeoutMs: 60_000 });

    hub = await startTestHub('sqlite');
    const enrolled = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes', headers: hub.auth, payload: { enrollment: agent.enrollment } });
    expect(enrolled.statusCode, enrolled.body).toBe(201);
    await hub.app.jobs.run('traffic');
    // API answers for the latency and error panels: a success, and a refusal (no token).
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: hub.auth })).statusCode).toBe(200);
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/nodes' })).statusCode).toBe(401);
    await hub.app.listen({ host: '127.0.0.1', port: 0 });
    const hubPort = (hub.app.server.address() as { port: number }).port;

    // The shipped files as installed, with this hub and agent as targets and a 1 s cadence.
    const configFile = installPrometheusFiles(path.join(work, 'etc'));
    const config = parse(await readFile(configFile, 'utf8'));
    config.global = { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' };
    const job = (name: string) => config.scrape_configs.find((c: { job_name: string }) => c.job_name === name);
    job('boxfleet-hub').static_configs = [{ targets: [`127.0.0.1:${hubPort}`] }];
    await writeFile(configFile, stringify(config));
    await writeFile(path.join(work, 'etc', job('boxfleet-agent').file_sd_configs[0].files[0]), JSON.stringify([{ targets: [`127.0.0.1:${metricsPort}`] }]));

    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      prometheusPackageBin('prometheus'),
      [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(work, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout!.on('data', (c) => (output += c));
    prometheus.stderr!.on('data', (c) => (output += c));
    await until('Prometheus to be ready', async () => {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited (${prometheus.exitCode}):\n${output}`);
      return (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true;
    }, 20_000);
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    const status = (await client?.execute('singbox-config.status', {}).catch(() => undefined))?.result as { pid: number | null } | undefined;
    client?.close();
    await hub?.close();
    await agent?.stop();
    if (status?.pid) {
      try {
        process.kill(status.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('scrapes the hub, and the agent found through the file_sd file, with the alert rules loaded', async () => {
    expect(await unanswered([{ where: 'both targets', expr: 'count(up{job=~"boxfleet-hub|boxfleet-agent"} == 1) == 2' }], 30_000)).toEqual([]);
    const rules = await ask('/api/v1/rules');
    const loaded = (rules.data as unknown as { groups: { rules: { name: string; health: string }[] }[] }).groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(ruleExpressions().map((e) => e.where.split(' ')[1]).sort());
    expect(loaded.filter((r) => r.health === 'err')).toEqual([]);
  });

  it('answers a series for every query of the dashboards, with $node this node', async () => {
    const expressions = dashboardExpressions().map((e) => ({ ...e, expr: withVariables(e.expr, VARIABLES) }));
    expect(expressions.length).toBeGreaterThan(40);
    expect(await unanswered(expressions, 30_000)).toEqual([]);
    // And the figures say what this fleet is: one node, online, its sing-box running.
    const value = async (expr: string) => ((await instant(expr)).data as { result: { value: [number, string] }[] }).result.map((r) => r.value[1]);
    expect(await value('sum(boxfleet_hub_node_up)')).toEqual(['1']);
    expect(await value(`boxfleet_singbox_running{node="${NODE}"}`)).toEqual(['1']);
  });

  it('answers a series for every alert condition, none of them firing on this healthy fleet', async () => {
    const conditions = ruleExpressions();
    for (const { where, expr } of conditions) expect((await instant(expr)).status, where).toBe('success');
    expect(await unanswered(conditions.map((e) => ({ ...e, expr: comparisonsAsBool(e.expr) })), 30_000)).toEqual([]);
    const alerts = (await ask('/api/v1/alerts')).data as unknown as { alerts: { labels: { alertname: string }; state: string }[] };
    // The traffic job ran once before the scrapes began and never since (the test hub's scheduler is off): only that may show.
    expect(alerts.alerts.map((a) => a.labels.alertname).filter((name) => name !== 'BoxfleetTrafficJobStalled')).toEqual([]);
  });
});
