// The shipped Grafana dashboards load as Grafana JSON an operator can provision as they are: a
// schema version, unique panel ids that do not overlap on the grid, every panel querying through
// the `datasource` variable (so another Prometheus can be picked), every panel with a query, and
// only variables the dashboard defines. The e2e (dashboards.singbox.prometheus) runs the queries.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allPanels, dashboardFiles, variableQuery } from '../../support/promql.js';

const GRAFANA_BUILTINS = new Set(['__rate_interval', '__interval', '__range', '__interval_ms', '__range_s']);
const DATASOURCE = '${datasource}';
const provisioning = (file: string) => parse(readFileSync(path.resolve('deploy/grafana/provisioning', file), 'utf8'));

describe.each(dashboardFiles())('the Grafana dashboard $file', ({ dashboard }) => {
  const panels = allPanels(dashboard);
  const queried = panels.filter((p) => p.type !== 'row');

  it('has a uid, a title and a schema version Grafana 9 and later load', () => {
    expect(dashboard.uid).toMatch(/^boxfleet-[a-z-]+$/);
    expect(dashboard.title).toBeTruthy();
    expect(Number.isInteger(dashboard.schemaVersion)).toBe(true);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  });

  it('gives every panel its own id and its own place on the 24-column grid', () => {
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const boxes = panels.map((p) => ({ id: p.id, ...(p as unknown as { gridPos: { x: number; y: number; w: number; h: number } }).gridPos }));
    for (const a of boxes) {
      expect(a.x + a.w, `panel ${a.id}`).toBeLessThanOrEqual(24);
      for (const b of boxes) {
        if (a.id >= b.id) continue;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `panels ${a.id} and ${b.id} overlap`).toBe(false);
      }
    }
  });

  it('picks its Prometheus through a datasource variable, in every panel, target and query variable', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const panel of queried) {
      expect(panel.datasource, `panel ${panel.id}`).toEqual({ type: 'prometheus', uid: DATASOURCE });
      for (const target of panel.targets ?? []) expect(target.datasource?.uid ?? DATASOURCE, `panel ${panel.id}`).toBe(DATASOURCE);
    }
    for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) expect(v.datasource?.uid, v.name).toBe(DATASOURCE);
  });

  it('has a query in every panel, each with its own refId', () => {
    expect(queried.length).toBeGreaterThan(5);
    for (const panel of queried) {
      const targets = panel.targets ?? [];
      expect(targets.length, `panel ${panel.id} "${panel.title}"`).toBeGreaterThan(0);
      expect(targets.every((t) => (t.expr ?? '').trim().length > 0), `panel ${panel.id}`).toBe(true);
      const refIds = targets.map((t) => t.refId);
      expect(new Set(refIds).size, `panel ${panel.id}`).toBe(refIds.length);
    }
  });

  it('uses only variables it defines (or Grafana built-ins) in its queries', () => {
    const defined = new Set(dashboard.templating.list.map((v) => v.name));
    const texts = [...queried.flatMap((p) => (p.targets ?? []).map((t) => t.expr!)), ...dashboard.templating.list.map(variableQuery)];
    for (const text of texts) {
      for (const [, a, b] of text.matchAll(/\$\{(\w+)\}|\$(\w+)/g)) {
        const name = (a ?? b)!;
        expect(defined.has(name) || GRAFANA_BUILTINS.has(name), `$${name} in ${text}`).toBe(true);
      }
    }
  });

  it('links only to dashboards that ship beside it', () => {
    const uids = new Set(dashboardFiles().map((d) => d.dashboard.uid));
    const linked = [...JSON.stringify(dashboard).matchAll(/\/d\/([\w-]+)\//g)].map((m) => m[1]);
    for (const uid of linked) expect(uids.has(uid!), uid).toBe(true);
  });
});

describe('the Grafana provisioning files', () => {
  it('provide the data source the dashboards default to, its URL from the environment', () => {
    const { apiVersion, datasources } = provisioning('datasources/boxfleet.yml');
    expect(apiVersion).toBe(1);
    expect(datasources).toHaveLength(1);
    expect(datasources[0]).toMatchObject({ type: 'prometheus', access: 'proxy', url: '${PROMETHEUS_URL}' });
    for (const { dashboard } of dashboardFiles()) {
      const variable = dashboard.templating.list.find((v) => v.name === 'datasource') as unknown as { current: { value: string } };
      expect(variable.current.value).toBe(datasources[0].uid);
    }
  });

  it('load the dashboards from one folder', () => {
    const { apiVersion, providers } = provisioning('dashboards/boxfleet.yml');
    expect(apiVersion).toBe(1);
    expect(providers).toEqual([expect.objectContaining({ type: 'file', options: { path: '/var/lib/grafana/dashboards/boxfleet' } })]);
  });
});
