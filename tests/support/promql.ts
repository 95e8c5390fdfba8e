// The PromQL the shipped operations files hold, read from the files themselves (deploy/grafana
// dashboards and deploy/prometheus alert rules), so tests run what an operator installs.
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const GRAFANA_DASHBOARDS = path.resolve('deploy/grafana/dashboards');
export const PROMETHEUS_DIR = path.resolve('deploy/prometheus');

/**
 * Lays out deploy/prometheus/ in `dir` as the README installs it in /etc/prometheus:
 * prometheus.yml, and alerts.yml and agents.json in boxfleet/. Returns the config file.
 */
export function installPrometheusFiles(dir: string): string {
  mkdirSync(path.join(dir, 'boxfleet'), { recursive: true });
  copyFileSync(path.join(PROMETHEUS_DIR, 'prometheus.yml'), path.join(dir, 'prometheus.yml'));
  for (const file of ['alerts.yml', 'agents.json']) copyFileSync(path.join(PROMETHEUS_DIR, file), path.join(dir, 'boxfleet', file));
  return path.join(dir, 'prometheus.yml');
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; refId?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string }; datasource?: { uid?: string } }[] };
}

export interface Expression {
  /** Where it was found, to name it in a failure: file, panel or rule, target. */
  where: string;
  expr: string;
  /** For a `label_values(<expr>, <label>)` variable: the label whose values it lists. */
  label?: string;
}

export function dashboardFiles(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(GRAFANA_DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(path.join(GRAFANA_DASHBOARDS, file), 'utf8')) as Dashboard }));
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** A variable's query text (Grafana stores it as a string or as `{ query }`). */
export const variableQuery = (v: Dashboard['templating']['list'][number]) => (typeof v.query === 'object' ? v.query.query : (v.query ?? ''));

/**
 * Each panel target's expression, and each query variable's `label_values(<selector>, <label>)` as
 * its selector and label (Grafana asks Prometheus for the label's values among those series).
 */
export function dashboardExpressions(): Expression[] {
  return dashboardFiles().flatMap(({ file, dashboard }) => [
    ...allPanels(dashboard).flatMap((panel) =>
      (panel.targets ?? []).map((t) => ({ where: `${file} panel ${panel.id} "${panel.title}" ${t.refId}`, expr: t.expr ?? '' })),
    ),
    ...dashboard.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => {
        const [, expr, label] = /^label_values\((.+),\s*(\w+)\)$/.exec(variableQuery(v)) ?? [];
        if (!expr) throw new Error(`${file} variable ${v.name}: only label_values(<selector>, <label>) queries are read here, not ${variableQuery(v)}`);
        return { where: `${file} variable ${v.name}`, expr, label };
      }),
  ]);
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const file = parse(readFileSync(path.join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return file.groups.flatMap((g) => g.rules);
}

export function ruleExpressions(): Expression[] {
  return alertRules().map((r) => ({ where: `alerts.yml ${r.alert}`, expr: r.expr }));
}

/** Grafana's variables as a dashboard sends them: `$name`, `${name}`, `[[name]]`. */
export function withVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    if (!(name in values)) throw new Error(`no value for Grafana variable ${whole} in ${expr}`);
    return values[name]!;
  });
}

/**
 * The expression with every comparison made a `bool` one, outside label matchers and strings: an
 * alert's condition then answers 0 or 1 for each series it looks at instead of nothing while the
 * fleet is healthy, so a query that selects nothing (a misspelt metric or label) still shows.
 */
export function comparisonsAsBool(expr: string): string {
  let out = '';
  let braces = 0;
  let quote: string | null = null;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (quote) {
      out += c;
      if (c === '\\') out += expr[++i] ?? '';
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') braces++;
    else if (c === '}') braces--;
    const op = braces === 0 ? /^(==|!=|>=|<=|>|<)/.exec(expr.slice(i))?.[1] : undefined;
    if (op && !/^\s*bool\b/.test(expr.slice(i + op.length))) {
      out += `${op} bool`;
      i += op.length - 1;
      continue;
    }
    out += c;
  }
  return out;
}
