// <bf-node-metrics>: a node's CPU, memory and network in one chart — the last hour from the hub's
// stored samples, then every new sample as the hub relays it over the WebSocket.
import { css, html, nothing } from 'lit';
import { getNodeMetrics, type MetricSample } from '../data/metrics.js';
import { watchNode } from '../data/live.js';
import { t } from '../i18n.js';
import type { ChartAxis, ChartSeries } from './bf-chart.js';
import './bf-chart.js';
import { formatBytes } from '../ui/format.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

const HISTORY_MS = 3_600_000;
/** Points kept per line; older ones fall off the left. */
const MAX_POINTS = 3_600;

type Point = [string, number | null];

export class BfNodeMetrics extends LocalizedElement {
  static override properties = { nodeId: {}, version: { state: true }, error: { state: true } };
  nodeId = '';
  /** Bumped when the lines change, to draw again. */
  version = 0;
  error = '';

  private lines = { cpu: [] as Point[], memory: [] as Point[], rx: [] as Point[], tx: [] as Point[] };
  private stop: (() => void) | null = null;
  private watching = '';
  /** Which start() the answers belong to: a late answer of an earlier one is dropped. */
  private generation = 0;

  static override styles = [screenStyles, css`.card { padding: 12px; }`];

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.nodeId && !this.stop) this.start();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stop?.();
    this.stop = null;
    this.generation++;
  }

  override updated(changed: Map<string, unknown>) {
    if (changed.has('nodeId') && this.nodeId !== this.watching && this.isConnected) this.start();
  }

  private start() {
    this.stop?.();
    this.watching = this.nodeId;
    this.error = '';
    this.lines = { cpu: [], memory: [], rx: [], tx: [] };
    const nodeId = this.nodeId;
    const generation = ++this.generation;
    // Live samples that arrive before the history are kept and placed after it.
    const early: MetricSample[] = [];
    let loaded = false;
    this.stop = watchNode(nodeId, {
      sample: (sample) => {
        if (!loaded) return void early.push(sample);
        this.add(sample);
        this.publish();
      },
      error: (message) => (this.error = message),
    });
    const to = new Date();
    getNodeMetrics(nodeId, new Date(to.getTime() - HISTORY_MS).toISOString(), to.toISOString())
      .catch((error: Error) => {
        this.error = error.message;
        return [] as MetricSample[];
      })
      .then((samples) => {
        if (this.generation !== generation) return;
        loaded = true;
        for (const s of samples) this.add(s);
        const last = samples.at(-1)?.time ?? '';
        for (const s of early) if (s.time > last) this.add(s);
        this.publish();
      });
  }

  private add(sample: MetricSample) {
    const push = (line: Point[], value: number | null | undefined) => {
      line.push([sample.time, value ?? null]);
      if (line.length > MAX_POINTS) line.shift();
    };
    const v = sample.values;
    if (sample.kind === 'cpu-memory') {
      push(this.lines.cpu, v.cpu_percent);
      const total = v.memory_total_bytes;
      push(this.lines.memory, total && v.memory_used_bytes != null ? (v.memory_used_bytes / total) * 100 : null);
    } else if (sample.kind === 'disk-network') {
      push(this.lines.rx, v.net_rx_per_s);
      push(this.lines.tx, v.net_tx_per_s);
    }
  }

  private publish() {
    this.version++;
  }

  override render() {
    const l = this.lines;
    const series: ChartSeries[] = [
      { name: t('metrics.cpu'), type: 'line', data: [...l.cpu] },
      { name: t('metrics.memory'), type: 'line', data: [...l.memory] },
      { name: t('metrics.rx'), type: 'line', data: [...l.rx], yAxisIndex: 1 },
      { name: t('metrics.tx'), type: 'line', data: [...l.tx], yAxisIndex: 1 },
    ];
    const axes: ChartAxis[] = [
      { name: '%', max: 100, format: (v) => `${Math.round(v)}%` },
      { name: t('metrics.perSecond'), format: (v) => `${formatBytes(v)}/s` },
    ];
    return html`<section class="card" data-metrics>
      <h3>${t('metrics.title')}</h3>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <bf-chart .series=${series} .yAxes=${axes} label=${t('metrics.title')}></bf-chart>
    </section>`;
  }
}

customElements.define('bf-node-metrics', BfNodeMetrics);
