// <bf-portal-copy>: a button that copies `value` and says so for a moment.
import { LitElement, css, html } from 'lit';
import { copyText } from '../ui/clipboard.js';
import { msg, type PortalLocale } from './messages.js';

export class BfPortalCopy extends LitElement {
  static override properties = {
    value: { type: String },
    label: { type: String },
    locale: { type: String },
    primary: { type: Boolean },
    state: { state: true },
  };
  value = '';
  label = '';
  locale: PortalLocale = 'en';
  primary = false;
  state: 'idle' | 'copied' | 'failed' = 'idle';
  private timer: ReturnType<typeof setTimeout> | undefined;

  static override styles = css`
    :host { display: inline-flex; flex-direction: column; align-items: flex-start; vertical-align: middle; }
    button { font: inherit; font-size: 14px; min-height: 40px; padding: 8px 14px; border-radius: 8px; border: 1px solid #c9ced8; background: #fff; color: #1d2330; cursor: pointer; }
    button.primary { background: #2f6fed; border-color: #2f6fed; color: #fff; }
    button:focus-visible { outline: 3px solid #9bbcff; outline-offset: 1px; }
    .note { font-size: 12px; color: #b3261e; margin-top: 4px; max-width: 260px; }
    .note:empty { display: none; }
  `;

  override disconnectedCallback(): void {
    clearTimeout(this.timer);
    super.disconnectedCallback();
  }

  private async onClick() {
    const ok = await copyText(this.value);
    this.state = ok ? 'copied' : 'failed';
    clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.state = 'idle'), ok ? 2000 : 6000);
  }

  override render() {
    return html`<button class=${this.primary ? 'primary' : ''} @click=${this.onClick}>
        ${this.state === 'copied' ? `✓ ${msg(this.locale, 'copied')}` : this.label || msg(this.locale, 'copy')}</button
      ><span role="status" class="note">${this.state === 'failed' ? msg(this.locale, 'copy.failed') : ''}</span>`;
  }
}

customElements.define('bf-portal-copy', BfPortalCopy);
