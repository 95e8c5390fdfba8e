// <bf-copy-button>: copies `value` and says so for a moment; where the browser refuses, says to
// select the text by hand.
import { html, nothing } from 'lit';
import { copyText } from '../ui/clipboard.js';
import { t } from '../i18n.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

export class BfCopyButton extends LocalizedElement {
  static override properties = { value: {}, state: { state: true } };
  value = '';
  state: 'idle' | 'copied' | 'failed' = 'idle';
  private timer: ReturnType<typeof setTimeout> | undefined;

  static override styles = screenStyles;

  override disconnectedCallback(): void {
    clearTimeout(this.timer);
    super.disconnectedCallback();
  }

  private async copy() {
    this.state = (await copyText(this.value)) ? 'copied' : 'failed';
    clearTimeout(this.timer);
    if (this.state === 'copied') this.timer = setTimeout(() => (this.state = 'idle'), 2000);
  }

  override render() {
    return html`<button class="secondary" @click=${this.copy}>${this.state === 'copied' ? `✓ ${t('common.copied')}` : t('common.copy')}</button>
      ${this.state === 'failed' ? html`<span class="error" role="status">${t('common.copyFailed')}</span>` : nothing}`;
  }
}

customElements.define('bf-copy-button', BfCopyButton);
