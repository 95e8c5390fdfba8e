// The changes an admin makes from a screen, as a Lit controller: `busy` while one runs, the hub's
// refusal kept for `status()` to show where the change was asked for, and destructive changes asked
// about first through the <bf-confirm> that `dialog()` renders.
import { html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import '../widgets/bf-confirm.js';

type Change = () => Promise<unknown>;

export class Changes implements ReactiveController {
  busy = false;
  error = '';
  /** The change waiting for the admin's answer, with the question and the confirming button's label. */
  private question: { message: string; label: string; change: Change } | null = null;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostConnected(): void {}

  /** Runs `change` now, keeping its error for `status()`. */
  readonly run = async (change: Change): Promise<void> => {
    this.busy = true;
    this.error = '';
    this.host.requestUpdate();
    try {
      await change();
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.busy = false;
      this.host.requestUpdate();
    }
  };

  /** Runs `change` once the admin confirms `message` with the button `label`; cancelling does nothing. */
  confirm(message: string, label: string, change: Change): void {
    this.question = { message, label, change };
    this.host.requestUpdate();
  }

  private answer(confirmed: boolean) {
    const question = this.question;
    this.question = null;
    this.host.requestUpdate();
    if (confirmed && question) void this.run(question.change);
  }

  /** The last change's refusal, or nothing. */
  status() {
    return this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing;
  }

  /** The question, while one is open; render it once anywhere in the screen (it covers the page). */
  dialog() {
    return html`<bf-confirm .message=${this.question?.message ?? ''} .confirmLabel=${this.question?.label ?? ''}
      @bf-confirmed=${() => this.answer(true)} @bf-cancelled=${() => this.answer(false)}></bf-confirm>`;
  }
}
