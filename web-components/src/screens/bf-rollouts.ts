// <bf-rollouts>: the staged config rollouts, newest first, their state kept current by the
// WebSocket's rollout feed. A rollout starts from a node's config editor ("Roll out…").
import { html, nothing } from 'lit';
import { watchFeed } from '../data/live.js';
import { listRollouts, type RolloutPublic } from '../data/rollouts.js';
import { t } from '../i18n.js';
import { formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';
import { statusBadge } from '../ui/status.js';
import { targetText } from '../ui/target.js';

/** The newest shown; older rollouts stay in the API. */
const SHOWN = 50;

export class BfRollouts extends LocalizedElement {
  private readonly rollouts = new Loader<RolloutPublic[]>(this, () => listRollouts({ per_page: SHOWN }).then((r) => r.items));
  private stopWatching = () => {};

  static override styles = [screenStyles];

  override connectedCallback(): void {
    super.connectedCallback();
    this.stopWatching = watchFeed('rollouts', (message) => {
      const list = this.rollouts.value;
      if (message.type !== 'rollout' || !list) return;
      const known = list.some((r) => r.id === message.rollout.id);
      this.rollouts.value = known ? list.map((r) => (r.id === message.rollout.id ? message.rollout : r)) : [message.rollout, ...list].slice(0, SHOWN);
      this.requestUpdate();
    });
    void this.rollouts.load();
  }

  override disconnectedCallback(): void {
    this.stopWatching();
    super.disconnectedCallback();
  }

  override render() {
    const rollouts = this.rollouts.value;
    return html`
      <h2>${t('rollouts.title')}</h2>
      <p class="muted">${t('rollouts.intro')}</p>
      ${this.rollouts.status()}
      ${rollouts?.length === 0 ? html`<p>${t('rollouts.empty')}</p>` : nothing}
      ${rollouts?.length
        ? html`<div class="scroll"><table>
            <thead><tr><th>#</th><th>${t('config.version')}</th><th>${t('batch.target')}</th><th>${t('rollout.stages')}</th>
              <th>${t('batches.status')}</th><th>${t('batches.created')}</th></tr></thead>
            <tbody>
              ${rollouts.map(
                (r) => html`<tr data-rollout=${r.id}>
                  <td><a href="#/rollouts/${r.id}">${r.id}</a></td>
                  <td>${r.version}</td>
                  <td>${targetText(r.target)}</td>
                  <td>${r.stages.join(', ')}</td>
                  <td>${statusBadge(r.status)}</td>
                  <td>${formatTime(r.created_at)} <div class="muted">${r.created_by}</div></td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : nothing}
    `;
  }
}

customElements.define('bf-rollouts', BfRollouts);
