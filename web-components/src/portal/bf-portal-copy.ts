// <bf-portal-copy>: a button that copies `value` and says so for a moment.
import { LitElement, css, html } from 'lit';
import { copyText } from '../ui/clipboard.js';
import { msg, type PortalLocale } from './messages.js';
import { focusRing } from '../ui/shared-styles.js';

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

  static override styles = [focusRing, css`
    :host { display: inline-flex; flex-direction: column; align-items: flex-start; vertical-align: middle; }
    button { font: inherit; font-size: 14px; min-height: 40px; padding: 8px 14px; border-radius: 8px; border: 1px solid var(--bf-input-border); background: var(--bf-surface); color: var(--bf-text); cursor: pointer; }
    button.primary { background: var(--bf-accent); border-color: var(--bf-accent); color: var(--bf-on-accent); }
    button:focus-visible { outline: 3px solid var(--bf-focus); outline-offset: 1px; }
    .note { font-size: 12px; color: var(--bf-danger); margin-top: 4px; max-width: 260px; }
    .note:empty { display: none; }
  `];

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
