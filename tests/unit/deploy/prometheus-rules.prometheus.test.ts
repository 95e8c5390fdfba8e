// deploy/prometheus/ as Debian's promtool sees it: the rules and the config (laid out as the README
// installs them) pass its checks, and prometheus-alerts.test.yml shows each alert firing on the
// series that should raise it and resolving after; an alert made wrong on purpose fails it.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alertRules, installPrometheusFiles, PROMETHEUS_DIR } from '../../support/promql.js';
import { prometheusPackageBin } from '../../support/real-components.js';

const TESTS = path.resolve('tests/unit/deploy/prometheus-alerts.test.yml');

interface RuleTests {
  rule_files: string[];
  tests: { name: string; alert_rule_test: { eval_time: string; alertname: string; exp_alerts: unknown[] }[] }[];
}

/** Runs promtool; its exit code and everything it printed. */
async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(prometheusPackageBin('promtool'), args);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

/** Prometheus durations as the tests use them (`90m`, `2h`), in seconds. */
const seconds = (d: string) => Number(/^(\d+)([smh])$/.exec(d)![1]) * { s: 1, m: 60, h: 3600 }[/([smh])$/.exec(d)![1] as 's' | 'm' | 'h'];

describe('the Prometheus files in deploy/prometheus', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-promtool-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('pass promtool check rules', async () => {
    const { code, output } = await promtool('check', 'rules', path.join(PROMETHEUS_DIR, 'alerts.yml'));
    expect(output).toContain(`SUCCESS: ${alertRules().length} rules found`);
    expect(code).toBe(0);
  });

  it('pass promtool check config, installed as the README says', async () => {
    const config = installPrometheusFiles(path.join(dir, 'etc'));
    const { code, output } = await promtool('check', 'config', config);
    expect(output).toContain('SUCCESS');
    expect(output).toContain('boxfleet/alerts.yml');
    expect(code).toBe(0);
  });

  it('pass promtool test rules', async () => {
    const { code, output } = await promtool('test', 'rules', TESTS);
    expect(output).toMatch(/SUCCESS/);
    expect(code).toBe(0);
  });

  it('have a promtool test for every alert that sees it fire and then resolve', async () => {
    const tests = parse(await readFile(TESTS, 'utf8')) as RuleTests;
    const names = alertRules().map((r) => r.alert);
    const tested = new Set(tests.tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)));
    expect([...tested].sort()).toEqual([...names].sort());
    for (const name of names) {
      const firesThenResolves = tests.tests.some(({ alert_rule_test: evals }) => {
        const mine = evals.filter((e) => e.alertname === name);
        const fired = mine.filter((e) => e.exp_alerts.length > 0).map((e) => seconds(e.eval_time));
        const quiet = mine.filter((e) => e.exp_alerts.length === 0).map((e) => seconds(e.eval_time));
        return fired.some((f) => quiet.some((q) => q > f));
      });
      expect(firesThenResolves, name).toBe(true);
    }
  });

  it('fail promtool test rules when an alert is wrong (a threshold moved)', async () => {
    const rules = (await readFile(path.join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8')).replace('boxfleet_node_disk_total_bytes > 0.9', 'boxfleet_node_disk_total_bytes > 0.99');
    await writeFile(path.join(dir, 'alerts.yml'), rules);
    const tests = (await readFile(TESTS, 'utf8')).replace('../../../deploy/prometheus/alerts.yml', path.join(dir, 'alerts.yml'));
    await writeFile(path.join(dir, 'alerts.test.yml'), tests);
    const { code, output } = await promtool('test', 'rules', path.join(dir, 'alerts.test.yml'));
    expect(code).not.toBe(0);
    expect(output).toContain('alertname: BoxfleetDiskAlmostFull');
  });
});
