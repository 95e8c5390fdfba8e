// <bf-users-import>: the Users screen's "Import…" dialog. A CSV or JSON file as Export writes it,
// the mode (all or nothing, or the good rows) and what to do with names that exist; then the counts
// and each row's error. Sends `bf-changed` when users were created or updated, `bf-closed` when closed.
import { css, html, nothing } from 'lit';
import { importUsers, type ImportMode, type ImportReport, type OnConflict } from '../data/users.js';
import { t } from '../i18n.js';
import { Changes } from '../ui/changes.js';
import { dialogFocus } from '../ui/dialog.js';
import { CHANGED, CLOSED } from '../ui/events.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { dialogStyles, screenStyles } from '../ui/shared-styles.js';

export class BfUsersImport extends LocalizedElement {
  static override properties = { report: { state: true } };
  /** The last import's answer. */
  report: ImportReport | null = null;
  private readonly changes = new Changes(this);

  constructor() {
    super();
    dialogFocus(this, { close: () => this.send(CLOSED) });
  }

  static override styles = [
    screenStyles,
    dialogStyles,
    css`
      form { display: grid; gap: 10px; margin-bottom: 12px; }
      label { display: grid; gap: 4px; font-size: 14px; }
      p { margin: 8px 0; font-size: 14px; }
    `,
  ];

  private send(name: string) {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true }));
  }

  private submit(event: SubmitEvent) {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const file = data.get('file');
    if (!(file instanceof File) || !file.name) return;
    void this.changes.run(async () => {
      this.report = null;
      this.report = await importUsers(file, { mode: data.get('mode') as ImportMode, on_conflict: data.get('on_conflict') as OnConflict });
      if (!this.report.refused && this.report.created + this.report.updated > 0) this.send(CHANGED);
    });
  }

  private result(report: ImportReport) {
    const counts = t('usersImport.counts')
      .replace('{created}', String(report.created))
      .replace('{updated}', String(report.updated))
      .replace('{skipped}', String(report.skipped))
      .replace('{failed}', String(report.failed));
    return html`<div data-import-report>
      ${report.refused ? html`<p class="error" role="alert">${report.refused}</p>` : nothing}
      <p role="status">${counts}</p>
      ${report.errors.length
        ? html`<div class="scroll"><table>
            <thead><tr><th>${t('usersImport.row')}</th><th>${t('usersImport.field')}</th><th>${t('usersImport.problem')}</th></tr></thead>
            <tbody>${report.errors.map((e) => html`<tr><td>${e.row}</td><td>${e.field}</td><td>${e.message}</td></tr>`)}</tbody>
          </table></div>`
        : nothing}
      ${report.failed > report.errors.length ? html`<p class="muted">${t('usersImport.moreErrors')}</p>` : nothing}
    </div>`;
  }

  override render() {
    return html`<div class="backdrop">
      <div class="dialog wide" role="dialog" aria-modal="true" aria-labelledby="users-import-title">
        <h3 id="users-import-title">${t('usersImport.title')}</h3>
        <p>${t('usersImport.intro')}</p>
        <form @submit=${this.submit}>
          <label>${t('usersImport.file')}<input type="file" name="file" accept=".csv,.json,text/csv,application/json" required /></label>
          <label>${t('usersImport.mode')}
            <select name="mode">
              <option value="all_or_nothing">${t('usersImport.allOrNothing')}</option>
              <option value="best_effort">${t('usersImport.bestEffort')}</option>
            </select>
          </label>
          <label>${t('usersImport.onConflict')}
            <select name="on_conflict">
              <option value="error">${t('usersImport.conflictError')}</option>
              <option value="skip">${t('usersImport.conflictSkip')}</option>
              <option value="update">${t('usersImport.conflictUpdate')}</option>
            </select>
          </label>
          <div class="actions">
            <button class="secondary" type="button" @click=${() => this.send(CLOSED)}>${t('common.close')}</button>
            <button type="submit" ?disabled=${this.changes.busy}>${t('usersImport.submit')}</button>
          </div>
        </form>
        ${this.changes.status()}
        ${this.report ? this.result(this.report) : nothing}
      </div>
    </div>`;
  }
}

customElements.define('bf-users-import', BfUsersImport);
