// <bf-overview>: the fleet at a glance — nodes online and offline, users with a live subscription,
// traffic today and over the last 7 days, and the alerts firing now.
import { css, html, nothing } from 'lit';
import { listAlerts, type Alert } from '../data/alerts.js';
import { getDailyUsage, getOverview, type DailyUsage, type Overview } from '../data/overview.js';
import { listUsers } from '../data/users.js';
import { t, type MessageKey } from '../i18n.js';
import '../widgets/bf-chart.js';
import { formatBytes, formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

/** The firing alerts listed; the tile counts them all. */
const ALERTS_SHOWN = 20;

interface Figures {
  overview: Overview;
  users: number;
  daily: DailyUsage[];
  alerts: Alert[];
}

async function fleetFigures(): Promise<Figures> {
  const [overview, users, daily, alerts] = await Promise.all([
    getOverview(),
    listUsers({ per_page: 1 }),
    getDailyUsage(7),
    listAlerts({ state: 'firing', per_page: ALERTS_SHOWN }),
  ]);
  return { overview, users: users.total, daily, alerts: alerts.items };
}

const RULE_LABEL: Record<Alert['rule'], MessageKey> = {
  cpu: 'alerts.cpu',
  memory: 'alerts.memory',
  disk: 'alerts.disk',
  offline: 'alerts.offline',
  ledger_backlog: 'alerts.ledgerBacklog',
  unreachable: 'alerts.unreachable',
  plugin_unhealthy: 'alerts.pluginUnhealthy',
};

/** An alert's value as its rule measures it. */
function measured(alert: Alert, value: number): string {
  if (alert.rule === 'offline' || alert.rule === 'unreachable') return `${Math.round(value / 60)} min`;
  if (alert.rule === 'ledger_backlog' || alert.rule === 'plugin_unhealthy') return String(Math.round(value));
  return `${value.toFixed(0)} %`;
}

export class BfOverview extends LocalizedElement {
  private readonly figures = new Loader<Figures>(this, fleetFigures, { refreshMs: 30_000 });

  static override styles = [
    screenStyles,
    css`
      .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
      .tile { background: var(--bf-surface); border-radius: 6px; box-shadow: 0 1px 3px var(--bf-shadow); padding: 16px; }
      .tile .n { font-size: 32px; font-weight: 600; }
      .tile a { text-decoration: none; color: inherit; }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.figures.load();
  }

  /** A figure, leading to the screen behind it when there is one. */
  private tile(id: string, label: string, value: number | string, href: string | null, tone = '') {
    const body = html`<div class="n ${tone}">${value}</div><div>${label}</div>`;
    return html`<div class="tile" data-tile=${id}>${href ? html`<a href=${href}>${body}</a>` : body}</div>`;
  }

  private traffic(daily: DailyUsage[]) {
    return html`<section class="card" data-traffic>
      <h3>${t('overview.traffic')}</h3>
      <bf-chart
        axis="category"
        .categories=${daily.map((d) => d.day.slice(5))}
        .yAxes=${[{ name: '', format: formatBytes }]}
        .series=${[
          { name: t('overview.upload'), type: 'bar', stack: 'traffic', data: daily.map((d) => d.upload_bytes) },
          { name: t('overview.download'), type: 'bar', stack: 'traffic', data: daily.map((d) => d.download_bytes) },
        ]}
        label=${t('overview.traffic')}
      ></bf-chart>
    </section>`;
  }

  private alerts(alerts: Alert[]) {
    return html`<section class="card" data-alerts>
      <h3>${t('alerts.open')}</h3>
      ${alerts.length === 0
        ? html`<p class="muted">${t('alerts.none')}</p>`
        : html`<div class="scroll"><table>
            <thead><tr><th>${t('alerts.node')}</th><th>${t('alerts.rule')}</th><th>${t('alerts.value')}</th><th>${t('alerts.since')}</th></tr></thead>
            <tbody>
              ${alerts.map(
                (a) => html`<tr data-alert=${a.rule}>
                  <td><a href="#/nodes/${encodeURIComponent(a.node_id)}">${a.node_id}</a></td>
                  <td>${t(RULE_LABEL[a.rule])}</td>
                  <td class="error">${measured(a, a.last_value)} <span class="muted">(${t('alerts.threshold')} ${measured(a, a.threshold)})</span></td>
                  <td>${formatTime(a.fired_at)}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`}
    </section>`;
  }

  override render() {
    const c = this.figures.value;
    const o = c?.overview;
    return html`
      <h2>${t('overview.title')}</h2>
      ${this.figures.status()}
      ${c && o
        ? html`<div class="tiles">
            ${this.tile('online', t('overview.nodesOnline'), o.nodes_online, '#/nodes', 'ok')}
            ${this.tile('offline', t('overview.nodesOffline'), o.nodes_offline, '#/nodes', o.nodes_offline ? 'error' : '')}
            ${this.tile('active-users', t('overview.activeUsers'), o.active_users, '#/subscriptions')}
            ${this.tile('users', t('overview.users'), c.users, '#/users')}
            ${this.tile('traffic-today', t('overview.trafficToday'), formatBytes(o.traffic_today_bytes), null)}
            ${this.tile('open-alerts', t('alerts.open'), o.open_alerts, null, o.open_alerts ? 'error' : '')}
          </div>
          ${this.alerts(c.alerts)}
          ${this.traffic(c.daily)}`
        : nothing}
    `;
  }
}

customElements.define('bf-overview', BfOverview);
