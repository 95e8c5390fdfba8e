// The base of every screen: re-renders when the language changes.
import { LitElement } from 'lit';
import { LOCALE_CHANGED } from '../i18n.js';

export class LocalizedElement extends LitElement {
  private readonly rerender = () => this.requestUpdate();

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener(LOCALE_CHANGED, this.rerender);
  }

  override disconnectedCallback(): void {
    window.removeEventListener(LOCALE_CHANGED, this.rerender);
    super.disconnectedCallback();
  }
}
