// <bf-batches>: the batches run on the fleet, newest first, each with its nodes counted by state
// and updated live while it runs; "New batch" starts one on a tag or every node (the node list
// starts one on the nodes ticked there). Below: the schedules that start batches by cron.
import { css, html, nothing } from 'lit';
import type { Role } from '../../../agent-core/common/roles.js';
import { listBatches, type BatchPublic } from '../data/batches.js';
import { watchFeed } from '../data/live.js';
import { t } from '../i18n.js';
import '../widgets/bf-batch-form.js';
import '../widgets/bf-batch-schedules.js';
import { formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';
import { countsText, statusBadge } from '../ui/status.js';
import { targetText } from '../ui/target.js';

const PER_PAGE = 50;

export class BfBatches extends LocalizedElement {
  static override properties = { adminRole: {}, page: { state: true }, starting: { state: true } };
  adminRole: Role = 'viewer';
  page = 1;
  /** Whether the New batch form is open. */
  starting = false;
  private readonly batches = new Loader(this, () => listBatches({ page: this.page, per_page: PER_PAGE }));
  private stopWatching = () => {};

  static override styles = [
    screenStyles,
    css`
      .heading { justify-content: space-between; }
      .heading h2 { margin: 0; }
      @media (max-width: 600px) { .created, .target { display: none; } }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    this.stopWatching = watchFeed('batches', (message) => {
      if (message.type === 'batch') this.changed(message.batch);
    });
    void this.batches.load();
  }

  override disconnectedCallback(): void {
    this.stopWatching();
    super.disconnectedCallback();
  }

  /** A batch that changed: its row in place; a new one on the first page is fetched with the page. */
  private changed(batch: BatchPublic) {
    const list = this.batches.value;
    if (!list) return;
    const at = list.items.findIndex((b) => b.id === batch.id);
    if (at >= 0) {
      const items = [...list.items];
      items[at] = batch;
      this.batches.value = { ...list, items };
      this.requestUpdate();
    } else if (this.page === 1 && batch.id > (list.items[0]?.id ?? 0)) {
      void this.batches.load({ keep: true });
    }
  }

  private go(page: number) {
    this.page = page;
    void this.batches.load({ keep: true });
  }

  private table(batches: BatchPublic[]) {
    return html`<div class="scroll"><table>
      <thead><tr>
        <th>#</th><th>${t('batch.command')}</th><th class="target">${t('batch.target')}</th><th>${t('batches.status')}</th>
        <th>${t('batches.nodes')}</th><th class="created">${t('batches.created')}</th>
      </tr></thead>
      <tbody>
        ${batches.map(
          (b) => html`<tr data-batch=${b.id}>
            <td><a href="#/batches/${b.id}">${b.id}</a></td>
            <td><code>${b.command}</code>${b.schedule_id !== null ? html` <span class="muted">${t('batches.scheduled')}</span>` : nothing}</td>
            <td class="target">${targetText(b.target)}</td>
            <td>${statusBadge(b.status)}</td>
            <td data-counts>${countsText(b.counts)}</td>
            <td class="created">${formatTime(b.created_at)} <div class="muted">${b.created_by}</div></td>
          </tr>`,
        )}
      </tbody>
    </table></div>`;
  }

  override render() {
    const list = this.batches.value;
    const pages = list ? Math.max(1, Math.ceil(list.total / list.per_page)) : 1;
    return html`
      <div class="row heading">
        <h2>${t('batches.title')}</h2>
        ${this.starting ? nothing : html`<button @click=${() => (this.starting = true)}>${t('batches.new')}</button>`}
      </div>
      <p class="muted">${t('batches.intro')}</p>
      ${this.starting ? html`<bf-batch-form .adminRole=${this.adminRole} @bf-closed=${() => (this.starting = false)}></bf-batch-form>` : nothing}
      ${this.batches.status()}
      ${list?.total === 0 ? html`<p>${t('batches.empty')}</p>` : nothing}
      ${list?.items.length ? this.table(list.items) : nothing}
      ${list && pages > 1
        ? html`<div class="pager">
            <button class="secondary" ?disabled=${list.page <= 1} @click=${() => this.go(list.page - 1)}>${t('common.previous')}</button>
            <span class="muted">${t('common.page')} ${list.page} / ${pages} · ${list.total}</span>
            <button class="secondary" ?disabled=${list.page >= pages} @click=${() => this.go(list.page + 1)}>${t('common.next')}</button>
          </div>`
        : nothing}
      <bf-batch-schedules .adminRole=${this.adminRole}></bf-batch-schedules>
    `;
  }
}

customElements.define('bf-batches', BfBatches);
