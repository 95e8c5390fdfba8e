// <bf-install-commands>: the install commands no node has used yet, with who made them, what the
// node will get and until when, each revocable after asking. Fetched again when `changed` changes.
import { html, nothing } from 'lit';
import { listInstallCommands, revokeInstallCommand, type InstallCommandSummary } from '../data/install-commands.js';
import { t } from '../i18n.js';
import { Changes } from '../ui/changes.js';
import { formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

export class BfInstallCommands extends LocalizedElement {
  static override properties = { changed: { type: Number } };
  /** Raised by the parent after it created a command. */
  changed = 0;
  private readonly pending = new Loader<InstallCommandSummary[]>(this, () => listInstallCommands('pending'), { refreshMs: 30_000 });
  private readonly revoking = new Changes(this);

  static override styles = screenStyles;

  override willUpdate(changed: Map<string, unknown>) {
    if (changed.has('changed')) void this.pending.load({ keep: true });
  }

  private askRevoke(command: InstallCommandSummary) {
    const question = t('installs.confirmRevoke').replace('{admin}', command.created_by).replace('{time}', formatTime(command.created_at));
    this.revoking.confirm(question, t('installs.revoke'), async () => {
      await revokeInstallCommand(command.id);
      await this.pending.load({ keep: true });
    });
  }

  override render() {
    const commands = this.pending.value;
    if (this.pending.error) return this.pending.status();
    if (!commands?.length) return nothing;
    return html`<section class="card" data-install-commands>
      <h3>${t('installs.title')}</h3>
      <div class="scroll"><table>
        <thead><tr>
          <th>${t('installs.created')}</th><th>${t('installs.expires')}</th><th>${t('nodes.tags')}</th><th>${t('node.name')}</th><th></th>
        </tr></thead>
        <tbody>
          ${commands.map(
            (c) => html`<tr data-install-command-id=${c.id}>
              <td>${formatTime(c.created_at)}<div class="muted">${c.created_by}</div></td>
              <td>${formatTime(c.expires_at)}</td>
              <td>${c.tags.map((tag) => html`<span class="badge">${tag}</span> `)}</td>
              <td>${c.name ?? '—'}${c.multiplier === null ? nothing : html` <span class="muted">×${c.multiplier}</span>`}</td>
              <td class="actions"><button class="danger" ?disabled=${this.revoking.busy} @click=${() => this.askRevoke(c)}>${t('installs.revoke')}</button></td>
            </tr>`,
          )}
        </tbody>
      </table></div>
      ${this.revoking.status()}
      ${this.revoking.dialog()}
    </section>`;
  }
}

customElements.define('bf-install-commands', BfInstallCommands);
