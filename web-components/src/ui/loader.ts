// A screen's data from the hub, as a Lit controller: loading, the hub's error with a Retry button, or
// the value. Screens render `status()` where the state belongs and their content from `value`.
// With `refreshMs`, figures a dashboard left open shows stay current: fetched again on that period
// while the tab is visible, and at once when the admin comes back to the tab.
import { html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import { t } from '../i18n.js';

export class Loader<T> implements ReactiveController {
  value: T | undefined = undefined;
  error = '';
  /** Only the newest call may set the value: an older answer arriving late is dropped. */
  private generation = 0;

  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly fetch: () => Promise<T>,
    private readonly options: { refreshMs?: number } = {},
  ) {
    host.addController(this);
  }

  /** Fetches again, keeping what is shown, while the tab is visible and a value is there to refresh. */
  private readonly refresh = () => {
    if (document.visibilityState === 'visible' && this.value !== undefined) void this.load({ keep: true });
  };

  hostConnected(): void {
    if (!this.options.refreshMs) return;
    this.timer = setInterval(this.refresh, this.options.refreshMs);
    document.addEventListener('visibilitychange', this.refresh);
  }

  hostDisconnected(): void {
    clearInterval(this.timer);
    document.removeEventListener('visibilitychange', this.refresh);
  }

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
