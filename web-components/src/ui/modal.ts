// A modal dialog on the browser's own <dialog>, as a Lit controller: shown with showModal() once
// rendered, so the page behind is inert (Tab stays inside) and Escape asks to close; when the host
// goes away, focus goes back to where it was when the dialog opened. The host renders `render()`.
import { css, html, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';

/** The element that has focus, through shadow roots. */
function focused(): HTMLElement | null {
  let element = document.activeElement;
  while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
  return element instanceof HTMLElement ? element : null;
}

export const modalStyles = css`
  dialog { border: none; border-radius: 8px; padding: 20px; width: calc(100% - 32px); max-width: 440px; box-sizing: border-box;
    max-height: calc(100vh - 32px); overflow-y: auto; box-shadow: 0 4px 24px #0004; color: inherit; }
  dialog.wide { max-width: 640px; }
  dialog::backdrop { background: #0006; }
  dialog h3 { margin-top: 0; }
  dialog .actions { display: flex; gap: 8px; justify-content: flex-end; flex-wrap: wrap; margin-top: 12px; }
`;

export class Modal implements ReactiveController {
  private opener: HTMLElement | null = null;

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement,
    /** Called when the admin asks to close (Escape); the host decides whether it goes. */
    private readonly onClose: () => void,
  ) {
    host.addController(this);
  }

  hostUpdated(): void {
    const dialog = this.host.shadowRoot?.querySelector('dialog');
    if (!dialog || dialog.open) return;
    this.opener = focused();
    dialog.showModal();
  }

  hostDisconnected(): void {
    if (this.opener?.isConnected) this.opener.focus();
  }

  private readonly cancel = (event: Event) => {
    event.preventDefault();
    this.onClose();
  };

  render(label: string, content: TemplateResult, { wide = false } = {}): TemplateResult {
    return html`<dialog class=${wide ? 'wide' : ''} aria-label=${label} @cancel=${this.cancel}>${content}</dialog>`;
  }
}
