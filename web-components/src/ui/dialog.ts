// What every modal dialog does with the keyboard: while it is shown, Tab cycles inside its `.dialog`
// (across nested shadow roots), Escape asks it to close, and once it is gone focus goes back to what
// had it before (the button that opened it). focus-trap does the trapping; this only ties it to a
// Lit element's life. A dialog element calls, in its constructor,
//   dialogFocus(this, { open: () => …, close: () => … });
// and renders `.backdrop > .dialog` (dialogStyles).
import { createFocusTrap, type FocusTrap } from 'focus-trap';
import type { ReactiveController, ReactiveControllerHost } from 'lit';

type DialogHost = ReactiveControllerHost & HTMLElement & { renderRoot: HTMLElement | DocumentFragment };

export interface DialogFocusOptions {
  /** Whether the dialog is shown now; without it, shown while the element is on the page. */
  open?: () => boolean;
  /** What Escape does: the dialog's cancel or close. */
  close: () => void;
  /** What gets focus first; the first focusable element in the dialog without it. */
  initial?: () => HTMLElement | null;
}

class DialogFocus implements ReactiveController {
  private trap: FocusTrap | null = null;

  constructor(
    private readonly host: DialogHost,
    private readonly options: DialogFocusOptions,
  ) {
    host.addController(this);
  }

  hostUpdated(): void {
    const open = this.options.open?.() ?? true;
    const dialog = this.host.renderRoot.querySelector<HTMLElement>('.dialog');
    if (open && dialog && !this.trap) {
      this.trap = createFocusTrap(dialog, {
        tabbableOptions: { getShadowRoot: true },
        initialFocus: () => this.options.initial?.() ?? undefined,
        fallbackFocus: dialog,
        // Escape is the dialog's own close, which then takes it off the page (and ends the trap).
        escapeDeactivates: () => {
          this.options.close();
          return false;
        },
        allowOutsideClick: true,
      });
      this.trap.activate();
    } else if (!open) this.release();
  }

  hostDisconnected(): void {
    this.release();
  }

  private release() {
    this.trap?.deactivate();
    this.trap = null;
  }
}

/** Ties the keyboard behaviour of a modal dialog to `host` for as long as it lives. */
export function dialogFocus(host: DialogHost, options: DialogFocusOptions): void {
  new DialogFocus(host, options);
}
