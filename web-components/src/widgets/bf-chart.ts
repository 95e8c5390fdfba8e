// <bf-chart>: one ECharts chart. ECharts itself is loaded with the first chart shown (a chunk of
// its own); the chart follows the element's size and is disposed when the element leaves the page.
// Give it `series` (and `axis`: 'time' for [time, value] points, 'category' for `categories`);
// `data-points` tells how many points it holds. It is drawn in ECharts' light or dark theme, as the
// page is (ui/theme.ts), and redrawn when that changes.
import { css, html, LitElement } from 'lit';
import type { EChartsType } from '../ui/echarts.js';
import { currentTheme, THEME_CHANGED } from '../ui/theme.js';

/** ECharts' built-in theme for the page's; light is its default. */
const chartTheme = () => (currentTheme() === 'dark' ? 'dark' : 'default');

export interface ChartSeries {
  name: string;
  type: 'line' | 'bar';
  /** [ISO time or category, value] for a time axis; values in the order of `categories` otherwise. */
  data: (number | null | [string, number | null])[];
  /** 0: the left axis, 1: the right one. */
  yAxisIndex?: number;
  stack?: string;
}

export interface ChartAxis {
  name: string;
  /** Formats the axis labels and tooltip values. */
  format?: (value: number) => string;
  max?: number;
}

export class BfChart extends LitElement {
  static override properties = { series: { attribute: false }, axis: {}, categories: { attribute: false }, yAxes: { attribute: false }, label: {} };
  series: ChartSeries[] = [];
  axis: 'time' | 'category' = 'time';
  categories: string[] = [];
  yAxes: ChartAxis[] = [{ name: '' }];
  label = '';

  private chart: EChartsType | null = null;
  private resizer: ResizeObserver | null = null;
  private connected = false;
  private readonly onThemeChanged = () => this.chart?.setTheme(chartTheme());

  static override styles = css`
    :host { display: block; }
    /* Only the container: ECharts adds divs of its own inside it. */
    .box { width: 100%; height: var(--bf-chart-height, 260px); }
  `;

  override connectedCallback(): void {
    super.connectedCallback();
    this.connected = true;
    window.addEventListener(THEME_CHANGED, this.onThemeChanged);
    // Back on the page after leaving it: a new chart (the old one was disposed).
    if (this.hasUpdated) void this.setup();
  }

  override firstUpdated() {
    void this.setup();
  }

  private loading = false;

  private async setup() {
    if (this.chart || this.loading) return;
    this.loading = true;
    try {
      const { init } = await import('../ui/echarts.js');
      if (!this.connected || this.chart) return;
      const box = this.renderRoot.querySelector<HTMLDivElement>('.box')!;
      this.chart = init(box, chartTheme());
      this.resizer = new ResizeObserver(() => this.chart?.resize());
      this.resizer.observe(box);
      this.draw();
    } finally {
      this.loading = false;
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.connected = false;
    window.removeEventListener(THEME_CHANGED, this.onThemeChanged);
    this.resizer?.disconnect();
    this.resizer = null;
    this.chart?.dispose();
    this.chart = null;
  }

  override updated(changed: Map<string, unknown>) {
    if (changed.has('series') || changed.has('categories') || changed.has('yAxes')) this.draw();
    this.dataset.points = String(this.series.reduce((n, s) => n + s.data.length, 0));
  }

  private draw() {
    if (!this.chart) return;
    const yAxes = this.yAxes;
    const fmt = (i: number) => yAxes[i]?.format ?? ((v: number) => String(v));
    this.chart.setOption(
      {
        animation: false,
        // The card's own background shows through, in either theme.
        backgroundColor: 'transparent',
        grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
        legend: { top: 0, type: 'scroll' },
        // Drawn on the canvas: ECharts builds its HTML tooltip with style attributes, which the CSP refuses.
        tooltip: { trigger: 'axis', renderMode: 'richText' },
        xAxis: this.axis === 'time' ? { type: 'time' } : { type: 'category', data: this.categories },
        yAxis: yAxes.map((a, i) => ({
          type: 'value',
          name: a.name,
          max: a.max,
          position: i === 0 ? 'left' : 'right',
          splitLine: { show: i === 0 },
          axisLabel: { formatter: (v: number) => fmt(i)(v) },
        })),
        series: this.series.map((s) => ({
          name: s.name,
          type: s.type,
          data: s.data,
          yAxisIndex: s.yAxisIndex ?? 0,
          stack: s.stack,
          showSymbol: false,
          connectNulls: false,
          tooltip: { valueFormatter: (v: unknown) => (typeof v === 'number' ? fmt(s.yAxisIndex ?? 0)(v) : '—') },
        })),
      },
      { notMerge: true },
    );
  }

  override render() {
    return html`<div class="box" role="img" aria-label=${this.label}></div>`;
  }
}

customElements.define('bf-chart', BfChart);
