// <bf-overview>: the fleet at a glance — nodes online and offline, users with a live subscription.
import { css, html, nothing } from 'lit';
import { getDailyUsage, listNodes, listSubscriptions, listUsers, type DailyUsage } from '../data/api.js';
import { t } from '../i18n.js';
import './bf-chart.js';
import { formatBytes } from './format.js';
import { Loader } from './loader.js';
import { LocalizedElement } from './localized-element.js';
import { screenStyles } from './shared-styles.js';

interface Figures {
  online: number;
  offline: number;
  activeUsers: number;
  users: number;
  daily: DailyUsage[];
}

async function fleetFigures(): Promise<Figures> {
  // One active subscription per user at most, so the count of active subscriptions counts users.
  const [nodes, live, users, daily] = await Promise.all([
    listNodes(),
    listSubscriptions({ status: 'active', per_page: 1 }),
    listUsers({ per_page: 1 }),
    getDailyUsage(7),
  ]);
  const online = nodes.filter((n) => n.online).length;
  return { online, offline: nodes.length - online, activeUsers: live.total, users: users.total, daily };
}

export class BfOverview extends LocalizedElement {
  private readonly figures = new Loader<Figures>(this, fleetFigures);

  static override styles = [
    screenStyles,
    css`
      .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
      .tile { background: #fff; border-radius: 6px; box-shadow: 0 1px 3px #0001; padding: 16px; }
      .tile .n { font-size: 32px; font-weight: 600; }
      .tile a { text-decoration: none; color: inherit; }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.figures.load();
  }

  private tile(id: string, label: string, value: number, href: string, tone = '') {
    return html`<div class="tile" data-tile=${id}><a href=${href}><div class="n ${tone}">${value}</div><div>${label}</div></a></div>`;
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

  override render() {
    const c = this.figures.value;
    return html`
      <h2>${t('overview.title')}</h2>
      ${this.figures.status()}
      ${c
        ? html`<div class="tiles">
            ${this.tile('online', t('overview.nodesOnline'), c.online, '#/nodes', 'ok')}
            ${this.tile('offline', t('overview.nodesOffline'), c.offline, '#/nodes', c.offline ? 'error' : '')}
            ${this.tile('active-users', t('overview.activeUsers'), c.activeUsers, '#/subscriptions')}
            ${this.tile('users', t('overview.users'), c.users, '#/users')}
          </div>
          ${this.traffic(c.daily)}`
        : nothing}
    `;
  }
}

customElements.define('bf-overview', BfOverview);
