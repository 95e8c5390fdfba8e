// <bf-modal>: a modal dialog around its children, on the browser's own <dialog>: shown with
// showModal(), so the page behind is inert (Tab stays inside) and Escape asks to close. Sends
// `bf-closed` when the admin asks to close; the parent removes it, and focus goes back to where it was.
import { LitElement, css, html } from 'lit';
import { CLOSED } from '../ui/events.js';

/** The element that has focus, through shadow roots. */
function focused(): HTMLElement | null {
  let element = document.activeElement;
  while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
  return element instanceof HTMLElement ? element : null;
}

export class BfModal extends LitElement {
  static override properties = { label: {}, wide: { type: Boolean } };
  /** The dialog's accessible name. */
  label = '';
  wide = false;
  private opener: HTMLElement | null = null;

  static override styles = css`
    dialog { border: none; border-radius: 8px; padding: 20px; width: calc(100% - 32px); max-width: 440px; box-sizing: border-box;
      max-height: calc(100vh - 32px); overflow-y: auto; box-shadow: 0 4px 24px #0004; color: inherit; }
    :host([wide]) dialog { max-width: 640px; }
    dialog::backdrop { background: #0006; }
  `;

  override firstUpdated(): void {
    this.opener = focused();
    this.renderRoot.querySelector('dialog')!.showModal();
    this.querySelector<HTMLElement>('[autofocus], input:not([type=hidden]), select, textarea, button')?.focus();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.opener?.isConnected) this.opener.focus();
  }

  private cancel(event: Event) {
    // The parent decides: it removes the dialog, or keeps it open while a change runs.
    event.preventDefault();
    this.dispatchEvent(new CustomEvent(CLOSED, { bubbles: true, composed: true }));
  }

  override render() {
    return html`<dialog aria-label=${this.label} @cancel=${this.cancel}><slot></slot></dialog>`;
  }
}

customElements.define('bf-modal', BfModal);
