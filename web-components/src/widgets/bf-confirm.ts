// <bf-confirm>: asks before a destructive action. Shown while `message` is set; sends
// `bf-confirmed` or `bf-cancelled`.
import { css, html, nothing } from 'lit';
import { t } from '../i18n.js';
import { dialogFocus } from '../ui/dialog.js';
import { CANCELLED, CONFIRMED } from '../ui/events.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { dialogStyles, screenStyles } from '../ui/shared-styles.js';

export class BfConfirm extends LocalizedElement {
  static override properties = { message: {}, confirmLabel: { attribute: false } };
  message = '';
  confirmLabel = '';

  static override styles = [
    screenStyles,
    dialogStyles,
    css`
      .dialog p { margin: 0 0 16px; }
    `,
  ];

  private send(name: string) {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true }));
  }

  constructor() {
    super();
    // Cancel has focus first: Enter on a question asked by surprise does no harm.
    dialogFocus(this, {
      open: () => Boolean(this.message),
      close: () => this.send(CANCELLED),
      initial: () => this.renderRoot.querySelector<HTMLButtonElement>('button.secondary'),
    });
  }

  override render() {
    if (!this.message) return nothing;
    return html`<div class="backdrop">
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
