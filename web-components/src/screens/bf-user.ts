// <bf-user>: one user's page — their subscription (the same card as beside the users list) and their
// traffic over the last days: a chart per day (upload and download stacked, billed as a line), the
// days with traffic as a table, and a table per node. Days are the hub's reset time zone's.
import { css, html, nothing } from 'lit';
import type { Role } from '../../../agent-core/common/roles.js';
import { getUserUsageByDay, getUserUsageByNode, type DayUsage, type NodeUsage, type UsageBytes, type UserUsage } from '../data/users.js';
import { t } from '../i18n.js';
import { formatBytes } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';
import '../widgets/bf-chart.js';
import '../widgets/bf-user-detail.js';

/** The periods offered, in days; the first is what the hub answers without a range. */
const PERIODS = [30, 7, 90, 365] as const;

/** The calendar date `days` after `day` (both YYYY-MM-DD). */
const shiftDay = (day: string, days: number) => new Date(Date.parse(day) + days * 86_400_000).toISOString().slice(0, 10);

interface Usage {
  days: UserUsage<DayUsage>;
  nodes: UserUsage<NodeUsage>;
}

export class BfUser extends LocalizedElement {
  static override properties = { userId: { type: Number }, adminRole: {}, period: { state: true } };
  userId = 0;
  adminRole: Role = 'viewer';
  period: number = PERIODS[0];
  private readonly usage = new Loader<Usage>(this, async () => {
    // The hub knows today in its zone: the first answer's last day anchors the other periods.
    const last = this.usage.value?.days.to;
    const days = await getUserUsageByDay(this.userId, last ? { from: shiftDay(last, -(this.period - 1)), to: last } : {});
    return { days, nodes: await getUserUsageByNode(this.userId, { from: days.from, to: days.to }) };
  });

  static override styles = [
    screenStyles,
    css`
      .totals { display: flex; gap: 16px; flex-wrap: wrap; margin: 4px 0 8px; }
      .totals b { font-size: 16px; }
      td.n, th.n { text-align: right; white-space: nowrap; }
    `,
  ];

  override willUpdate(changed: Map<string, unknown>) {
    if (!changed.has('userId')) return;
    this.period = PERIODS[0];
    void this.usage.load();
  }

  private choose(event: Event) {
    this.period = Number((event.target as HTMLSelectElement).value);
    void this.usage.load({ keep: true });
  }

  private bytesCells(b: UsageBytes) {
    return html`<td class="n">${formatBytes(b.upload_bytes)}</td><td class="n">${formatBytes(b.download_bytes)}</td><td class="n">${formatBytes(b.billed_bytes)}</td>`;
  }

  private bytesHeads() {
    return html`<th class="n">${t('overview.upload')}</th><th class="n">${t('overview.download')}</th><th class="n">${t('userUsage.billed')}</th>`;
  }

  private byDay(usage: UserUsage<DayUsage>) {
    const days = usage.buckets;
    const used = days.filter((d) => d.upload_bytes + d.download_bytes + d.billed_bytes > 0).reverse();
    return html`<bf-chart
        axis="category"
        .categories=${days.map((d) => d.day.slice(5))}
        .yAxes=${[{ name: '', format: formatBytes }]}
        .series=${[
          { name: t('overview.upload'), type: 'bar', stack: 'traffic', data: days.map((d) => d.upload_bytes) },
          { name: t('overview.download'), type: 'bar', stack: 'traffic', data: days.map((d) => d.download_bytes) },
          { name: t('userUsage.billed'), type: 'line', data: days.map((d) => d.billed_bytes) },
        ]}
        label=${t('userUsage.chart')}
      ></bf-chart>
      <h4>${t('userUsage.days')}</h4>
      ${used.length === 0
        ? html`<p class="muted">${t('userUsage.none')}</p>`
        : html`<div class="scroll"><table data-days>
            <thead><tr><th>${t('userUsage.day')}</th>${this.bytesHeads()}</tr></thead>
            <tbody>${used.map((d) => html`<tr data-day=${d.day}><td>${d.day}</td>${this.bytesCells(d)}</tr>`)}</tbody>
          </table></div>`}`;
  }

  private byNode(usage: UserUsage<NodeUsage>) {
    if (usage.buckets.length === 0) return nothing;
    return html`<h4>${t('userUsage.nodes')}</h4>
      <div class="scroll"><table data-nodes>
        <thead><tr><th>${t('userUsage.node')}</th>${this.bytesHeads()}</tr></thead>
        <tbody>
          ${usage.buckets.map(
            (n) => html`<tr data-node=${n.node_id}><td><a href="#/nodes/${encodeURIComponent(n.node_id)}">${n.node_name}</a></td>${this.bytesCells(n)}</tr>`,
          )}
        </tbody>
      </table></div>`;
  }

  override render() {
    const usage = this.usage.value;
    return html`
      <p><a href="#/users/${this.userId}">← ${t('nav.users')}</a></p>
      <bf-user-detail .userId=${this.userId} .adminRole=${this.adminRole}></bf-user-detail>
      <section class="card" data-usage>
        <div class="row">
          <h3>${t('userUsage.title')}</h3>
          <label>${t('userUsage.period')}
            <select ?disabled=${!usage} @change=${this.choose}>
              ${PERIODS.map((p) => html`<option value=${p} ?selected=${p === this.period}>${t('userUsage.lastDays').replace('{days}', String(p))}</option>`)}
            </select></label>
        </div>
        ${this.usage.status()}
        ${usage
          ? html`<p class="muted">${t('userUsage.range').replace('{from}', usage.days.from).replace('{to}', usage.days.to).replace('{zone}', usage.days.time_zone)}</p>
              <div class="totals" data-totals>
                <span>${t('overview.upload')} <b>${formatBytes(usage.days.totals.upload_bytes)}</b></span>
                <span>${t('overview.download')} <b>${formatBytes(usage.days.totals.download_bytes)}</b></span>
                <span>${t('userUsage.billed')} <b>${formatBytes(usage.days.totals.billed_bytes)}</b></span>
              </div>
              ${this.byDay(usage.days)} ${this.byNode(usage.nodes)}`
          : nothing}
      </section>
    `;
  }
}

customElements.define('bf-user', BfUser);
