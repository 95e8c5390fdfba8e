// <bf-batch>: one batch — its command, target and state, and every node's progress live (through
// the WebSocket's batch feed, whichever hub runs it), with each node's output or error. Cancelling
// skips the nodes not started yet; "Retry failed" starts a new batch on the failed nodes.
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import { cancelBatch, getBatch, isFinished, retryBatch, type BatchDetail, type BatchNodePublic, type BatchPublic } from '../data/batches.js';
import { watchFeed, type FeedMessage } from '../data/live.js';
import { t } from '../i18n.js';
import { Changes } from '../ui/changes.js';
import { commandResult, commandResultStyles } from '../ui/command-result.js';
import { formatDuration, formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';
import { countsText, statusBadge } from '../ui/status.js';
import { targetText } from '../ui/target.js';

export class BfBatch extends LocalizedElement {
  static override properties = { batchId: {}, adminRole: {}, live: { state: true } };
  batchId = 0;
  adminRole: Role = 'viewer';
  /** The feed's error, when live updates stopped. */
  live = '';
  private readonly batch = new Loader<BatchDetail>(this, () => getBatch(this.batchId));
  private readonly changes = new Changes(this);
  private stopWatching = () => {};

  static override styles = [
    screenStyles,
    commandResultStyles,
    css`
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; font-size: 14px; }
      dt { color: var(--bf-faint); }
      dd { margin: 0; word-break: break-word; }
      td.result { max-width: 28em; word-break: break-word; }
      summary { cursor: pointer; font-size: 13px; color: var(--bf-accent); }
      @media (max-width: 600px) { .started { display: none; } }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    // Watching before the first fetch, so no change falls between the two.
    this.stopWatching = watchFeed('batches', (message) => this.apply(message), (error) => (this.live = error));
  }

  override disconnectedCallback(): void {
    this.stopWatching();
    super.disconnectedCallback();
  }

  override willUpdate(changed: Map<string, unknown>) {
    if (changed.has('batchId')) void this.batch.load();
  }

  /** One change from the feed, if it is this batch's; once the batch ends, its final rows fetched again. */
  private apply(message: FeedMessage) {
    const batch = this.batch.value;
    if (!batch) return;
    if (message.type === 'batch' && message.batch.id === batch.id) {
      this.batch.value = { ...batch, ...message.batch };
      if (isFinished(message.batch.status)) void this.batch.load({ keep: true });
    } else if (message.type === 'batch-node' && message.batch_id === batch.id) {
      const nodes = batch.nodes.some((n) => n.node_id === message.node.node_id)
        ? batch.nodes.map((n) => (n.node_id === message.node.node_id ? message.node : n))
        : [...batch.nodes, message.node];
      this.batch.value = { ...batch, nodes };
    } else {
      return;
    }
    this.requestUpdate();
  }

  private cancel(batch: BatchPublic) {
    this.changes.confirm(t('batch.confirmCancel').replace('{id}', String(batch.id)), t('batch.cancel'), async () => {
      this.batch.value = { ...this.batch.value!, ...(await cancelBatch(batch.id)) };
    });
  }

  private retry(batch: BatchPublic) {
    void this.changes.run(async () => {
      location.hash = `#/batches/${(await retryBatch(batch.id, 'failed')).id}`;
    });
  }

  private actions(batch: BatchDetail) {
    if (!may(this.adminRole, 'operator')) return nothing;
    const finished = isFinished(batch.status);
    return html`<div class="row">
      ${finished
        ? nothing
        : html`<button class="danger" ?disabled=${this.changes.busy} @click=${() => this.cancel(batch)}>${t('batch.cancel')}</button>`}
      ${finished && batch.counts.failed > 0
        ? html`<button ?disabled=${this.changes.busy} @click=${() => this.retry(batch)}>${t('batch.retryFailed')}</button>`
        : nothing}
    </div>${this.changes.status()}`;
  }

  private node(n: BatchNodePublic) {
    return html`<tr data-batch-node=${n.node_id}>
      <td><a href="#/nodes/${encodeURIComponent(n.node_id)}">${n.node_name || n.node_id}</a></td>
      <td>${statusBadge(n.status)}</td>
      <td class="started">${n.started_at === null ? '—' : formatTime(n.started_at)}</td>
      <td>${n.duration_ms === null ? '—' : formatDuration(n.duration_ms)}</td>
      <td class="result">
        ${n.error ? html`<div class=${n.status === 'failed' ? 'error' : 'muted'} data-error>${n.error}</div>` : nothing}
        ${n.output !== null && n.output !== undefined
          ? html`<details data-output><summary>${t('batch.output')}</summary>${commandResult(n.output)}</details>`
          : nothing}
      </td>
    </tr>`;
  }

  private summary(batch: BatchDetail) {
    return html`<div class="card">
      <dl>
        <dt>${t('batches.status')}</dt><dd data-batch-status>${statusBadge(batch.status)}</dd>
        <dt>${t('batch.command')}</dt><dd><code>${batch.command}</code></dd>
        <dt>${t('batch.target')}</dt><dd>${targetText(batch.target)}</dd>
        <dt>${t('batches.nodes')}</dt><dd data-counts>${countsText(batch.counts)}</dd>
        <dt>${t('batches.created')}</dt><dd>${formatTime(batch.created_at)} · ${batch.created_by}</dd>
        ${batch.finished_at !== null ? html`<dt>${t('batch.finished')}</dt><dd>${formatTime(batch.finished_at)}</dd>` : nothing}
        <dt>${t('batch.concurrency')}</dt><dd>${batch.concurrency}</dd>
        ${batch.stop_after_failures ? html`<dt>${t('batch.stopAfter')}</dt><dd>${batch.stop_after_failures}</dd>` : nothing}
        ${batch.retry_of !== null ? html`<dt>${t('batch.retryOf')}</dt><dd><a href="#/batches/${batch.retry_of}">#${batch.retry_of}</a></dd>` : nothing}
        ${batch.schedule_id !== null ? html`<dt>${t('batches.scheduled')}</dt><dd>#${batch.schedule_id}</dd>` : nothing}
        <dt>${t('batch.input')}</dt><dd><pre class="json">${JSON.stringify(batch.input ?? {}, null, 2)}</pre></dd>
      </dl>
      ${this.actions(batch)}
    </div>`;
  }

  override render() {
    const batch = this.batch.value;
    return html`
      <p><a href="#/batches">← ${t('batches.title')}</a></p>
      <h2>${t('batch.title').replace('{id}', String(this.batchId))}</h2>
      ${this.batch.status()}
      ${this.live ? html`<p class="muted" role="status">${t('live.stopped')}: ${this.live}</p>` : nothing}
      ${batch
        ? html`${this.summary(batch)}
            <h3>${t('batches.nodes')}</h3>
            <div class="scroll"><table>
              <thead><tr><th>${t('firewall.node')}</th><th>${t('batches.status')}</th><th class="started">${t('batch.started')}</th>
                <th>${t('batch.duration')}</th><th>${t('batch.result')}</th></tr></thead>
              <tbody>${batch.nodes.map((n) => this.node(n))}</tbody>
            </table></div>`
        : nothing}
      ${this.changes.dialog()}
    `;
  }
}

customElements.define('bf-batch', BfBatch);
