// <bf-login>: the sign-in form; sends `bf-signed-in` with the admin.
import { css, html } from 'lit';
import { changePasswordAndSignIn, signIn } from '../data/auth.js';
import { ApiError } from '../data/http.js';
import { t } from '../i18n.js';
import { SIGNED_IN } from '../ui/events.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { focusRing } from '../ui/shared-styles.js';

export class BfLogin extends LocalizedElement {
  static override properties = { error: { state: true }, busy: { state: true }, mustChange: { state: true } };
  error = '';
  busy = false;
  /** The hub refused the sign-in until this admin sets a new password (e.g. one brought over from Marzban). */
  mustChange = false;

  static override styles = [focusRing, css`
    form { display: grid; gap: 10px; max-width: 320px; margin: 48px auto; background: var(--bf-surface); padding: 24px; border-radius: 8px; box-shadow: 0 1px 4px var(--bf-shadow); }
    h2 { margin: 0 0 8px; font-size: 20px; }
    input, button { font: inherit; padding: 8px; border-radius: 4px; border: 1px solid var(--bf-input-border); }
    button { background: var(--bf-accent); color: var(--bf-on-accent); border: none; cursor: pointer; }
    button[disabled] { opacity: 0.6; }
    .error { color: var(--bf-danger); font-size: 14px; }
  `];


  private async submit(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    this.busy = true;
    this.error = '';
    try {
      const [username, password] = [String(form.get('username')), String(form.get('password'))];
      const admin = this.mustChange
        ? await changePasswordAndSignIn(username, password, String(form.get('new_password')))
        : await signIn(username, password);
      this.dispatchEvent(new CustomEvent(SIGNED_IN, { detail: admin, bubbles: true, composed: true }));
    } catch (error) {
      if (error instanceof ApiError && error.code === 'HUB_ERR_PASSWORD_CHANGE_REQUIRED') this.mustChange = true;
      this.error = (error as Error).message;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    return html`
      <form @submit=${this.submit}>
        <h2>${t('login.title')}</h2>
        <label>${t('login.username')} <input name="username" autocomplete="username" required /></label>
        <label>${t('login.password')} <input name="password" type="password" autocomplete="current-password" required /></label>
        ${this.mustChange
          ? html`<label>${t('login.newPassword')} <input name="new_password" type="password" autocomplete="new-password" minlength="10" required /></label>`
          : ''}
        ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : ''}
        <button type="submit" ?disabled=${this.busy}>${t(this.mustChange ? 'login.changeAndSignIn' : 'login.submit')}</button>
      </form>
    `;
  }
}

customElements.define('bf-login', BfLogin);
