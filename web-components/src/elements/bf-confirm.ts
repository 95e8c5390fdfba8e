// <bf-confirm>: asks before a destructive action. Shown while `message` is set; sends
// `bf-confirmed` or `bf-cancelled`.
import { css, html, nothing } from 'lit';
import { t } from '../i18n.js';
import { CANCELLED, CONFIRMED } from './events.js';
import { LocalizedElement } from './localized-element.js';
import { screenStyles } from './shared-styles.js';

export class BfConfirm extends LocalizedElement {
  static override properties = { message: {}, confirmLabel: { attribute: false } };
  message = '';
  confirmLabel = '';

  static override styles = [
    screenStyles,
    css`
      .backdrop { position: fixed; inset: 0; background: #0006; display: grid; place-items: center; z-index: 10; padding: 16px; }
      .dialog { background: #fff; border-radius: 8px; padding: 20px; max-width: 420px; width: 100%; box-shadow: 0 4px 24px #0004; }
      .dialog p { margin: 0 0 16px; }
      .actions { display: flex; gap: 8px; justify-content: flex-end; }
    `,
  ];

  private send(name: string) {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true }));
  }

  override updated() {
    this.renderRoot.querySelector<HTMLButtonElement>('button.secondary')?.focus();
  }

  override render() {
    if (!this.message) return nothing;
    return html`<div class="backdrop" @keydown=${(e: KeyboardEvent) => e.key === 'Escape' && this.send(CANCELLED)}>
      <div class="dialog" role="alertdialog" aria-modal="true" aria-label=${t('confirm.title')}>
        <p>${this.message}</p>
        <div class="actions">
          <button class="secondary" @click=${() => this.send(CANCELLED)}>${t('confirm.cancel')}</button>
          <button class="danger" @click=${() => this.send(CONFIRMED)}>${this.confirmLabel || t('confirm.ok')}</button>
        </div>
      </div>
    </div>`;
  }
}

customElements.define('bf-confirm', BfConfirm);
