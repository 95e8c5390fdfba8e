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
  static override properties = { adminRole: {}, offset: { state: true }, starting: { state: true } };
  adminRole: Role = 'viewer';
  offset = 0;
  /** Whether the New batch form is open. */
  starting = false;
  private readonly batches = new Loader(this, () => listBatches({ limit: PER_PAGE, offset: this.offset }));
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
    const page = this.batches.value;
    if (!page) return;
    const at = page.batches.findIndex((b) => b.id === batch.id);
    if (at >= 0) {
      const batches = [...page.batches];
      batches[at] = batch;
      this.batches.value = { ...page, batches };
      this.requestUpdate();
    } else if (this.offset === 0 && batch.id > (page.batches[0]?.id ?? 0)) {
      void this.batches.load({ keep: true });
    }
  }

  private page(offset: number) {
    this.offset = offset;
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
    const page = this.batches.value;
    return html`
      <div class="row heading">
        <h2>${t('batches.title')}</h2>
        ${this.starting ? nothing : html`<button @click=${() => (this.starting = true)}>${t('batches.new')}</button>`}
      </div>
      <p class="muted">${t('batches.intro')}</p>
      ${this.starting ? html`<bf-batch-form .adminRole=${this.adminRole} @bf-closed=${() => (this.starting = false)}></bf-batch-form>` : nothing}
      ${this.batches.status()}
      ${page?.total === 0 ? html`<p>${t('batches.empty')}</p>` : nothing}
      ${page?.batches.length ? this.table(page.batches) : nothing}
      ${page && page.total > PER_PAGE
        ? html`<div class="pager">
            <button class="secondary" ?disabled=${this.offset === 0} @click=${() => this.page(Math.max(0, this.offset - PER_PAGE))}>${t('common.previous')}</button>
            <span class="muted">${this.offset + 1}–${Math.min(this.offset + PER_PAGE, page.total)} / ${page.total}</span>
            <button class="secondary" ?disabled=${this.offset + PER_PAGE >= page.total} @click=${() => this.page(this.offset + PER_PAGE)}>${t('common.next')}</button>
          </div>`
        : nothing}
      <bf-batch-schedules .adminRole=${this.adminRole}></bf-batch-schedules>
    `;
  }
}

customElements.define('bf-batches', BfBatches);
