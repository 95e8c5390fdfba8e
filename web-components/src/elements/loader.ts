// A screen's data from the hub, as a Lit controller: loading, the hub's error with a Retry button, or
// the value. Screens render `status()` where the state belongs and their content from `value`.
import { html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import { t } from '../i18n.js';

export class Loader<T> implements ReactiveController {
  value: T | undefined = undefined;
  error = '';
  /** Only the newest call may set the value: an older answer arriving late is dropped. */
  private generation = 0;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly fetch: () => Promise<T>,
  ) {
    host.addController(this);
  }

  hostConnected(): void {}

  /**
   * Fetches afresh. By default the old value is cleared so the screen shows "Loading…"; after a
   * change the admin made, `keep` leaves it in place until the new one arrives.
   */
  readonly load = async ({ keep = false } = {}): Promise<void> => {
    const generation = ++this.generation;
    this.error = '';
    if (!keep) this.value = undefined;
    this.host.requestUpdate();
    try {
      const value = await this.fetch();
      if (generation === this.generation) this.value = value;
    } catch (error) {
      if (generation === this.generation) this.error = (error as Error).message;
    } finally {
      if (generation === this.generation) this.host.requestUpdate();
    }
  };

  /** "Loading…" before the first value, the error with Retry after a failure, else nothing. */
  status() {
    if (this.error) return html`<p class="error" role="alert">${this.error} <button @click=${() => this.load()}>${t('common.retry')}</button></p>`;
    if (this.value === undefined) return html`<p>${t('common.loading')}</p>`;
    return nothing;
  }
}
