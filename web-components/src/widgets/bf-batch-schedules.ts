// <bf-batch-schedules>: the Batches screen's schedules — each a batch started by a cron expression
// in a time zone, once per fire time across the hubs, with its last fires (a missed one among
// them). Admins create one (the batch form in schedule mode), pause and resume it, and delete it
// after asking.
import { html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import { deleteSchedule, getSchedule, listSchedules, updateSchedule, type BatchSchedule, type ScheduleFire } from '../data/batches.js';
import { t } from '../i18n.js';
import './bf-batch-form.js';
import { Changes } from '../ui/changes.js';
import { formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';
import { targetText } from '../ui/target.js';

/** The most a page lists (the API's limit). */
const SHOWN = 200;

const FIRE_TONES: Record<ScheduleFire['status'], string> = { ran: 'ok', missed: 'expired', failed: 'error' };

export class BfBatchSchedules extends LocalizedElement {
  static override properties = { adminRole: {}, creating: { state: true }, shown: { state: true } };
  adminRole: Role = 'viewer';
  /** Whether the New schedule form is open. */
  creating = false;
  /** The schedule whose fires are shown. */
  shown: BatchSchedule | null = null;
  private readonly schedules = new Loader<BatchSchedule[]>(this, () => listSchedules({ per_page: SHOWN }).then((r) => r.items));
  private readonly fires = new Loader<ScheduleFire[]>(this, () => getSchedule(this.shown!.id).then((s) => s.fires));
  private readonly changes = new Changes(this);

  static override styles = [screenStyles];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.schedules.load();
  }

  private created() {
    this.creating = false;
    void this.schedules.load({ keep: true });
  }

  private setEnabled(schedule: BatchSchedule, enabled: boolean) {
    void this.changes.run(async () => {
      await updateSchedule(schedule.id, { enabled });
      await this.schedules.load({ keep: true });
    });
  }

  private askDelete(schedule: BatchSchedule) {
    this.changes.confirm(t('schedules.confirmDelete').replace('{name}', schedule.name), t('edit.delete'), async () => {
      await deleteSchedule(schedule.id);
      if (this.shown?.id === schedule.id) this.shown = null;
      await this.schedules.load({ keep: true });
    });
  }

  private showFires(schedule: BatchSchedule) {
    this.shown = this.shown?.id === schedule.id ? null : schedule;
    if (this.shown) void this.fires.load();
  }

  private firesSection(schedule: BatchSchedule) {
    const fires = this.fires.value;
    return html`<section class="card" data-fires=${schedule.name}>
      <h3>${t('schedules.fires').replace('{name}', schedule.name)}</h3>
      ${this.fires.status()}
      ${fires?.length === 0 ? html`<p class="muted">${t('schedules.noFires')}</p>` : nothing}
      ${fires?.length
        ? html`<div class="scroll"><table>
            <tbody>
              ${fires.map(
                (f) => html`<tr>
                  <td>${formatTime(f.fire_at)}</td>
                  <td><span class="badge ${FIRE_TONES[f.status]}">${t(`schedules.fire.${f.status}` as const)}</span></td>
                  <td>${f.batch_id === null ? nothing : html`<a href="#/batches/${f.batch_id}">#${f.batch_id}</a>`}</td>
                  <td class="error">${f.error ?? ''}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : nothing}
    </section>`;
  }

  private table(schedules: BatchSchedule[], canEdit: boolean) {
    return html`<div class="scroll"><table>
      <thead><tr>
        <th>${t('schedules.name')}</th><th>${t('schedules.when')}</th><th>${t('batch.command')}</th><th>${t('batch.target')}</th>
        <th>${t('batches.status')}</th><th>${t('schedules.lastFire')}</th><th>${t('schedules.nextFire')}</th><th></th>
      </tr></thead>
      <tbody>
        ${schedules.map(
          (s) => html`<tr data-schedule=${s.name}>
            <td>${s.name}</td>
            <td><code>${s.cron}</code> <div class="muted">${s.timezone}</div></td>
            <td><code>${s.batch.command}</code></td>
            <td>${targetText(s.batch.target)}</td>
            <td><span class="badge ${s.enabled ? 'ok' : 'expired'}">${s.enabled ? t('schedules.active') : t('status.paused')}</span></td>
            <td>${s.last_fire_at === null ? '—' : formatTime(s.last_fire_at)}</td>
            <td>${s.next_fire_at === null ? '—' : formatTime(s.next_fire_at)}</td>
            <td class="actions">
              <button class="secondary" @click=${() => this.showFires(s)}>${t('schedules.showFires')}</button>
              ${canEdit
                ? html`<button class="secondary" ?disabled=${this.changes.busy} @click=${() => this.setEnabled(s, !s.enabled)}>${s.enabled ? t('schedules.pause') : t('schedules.resume')}</button>
                    <button class="danger" ?disabled=${this.changes.busy} @click=${() => this.askDelete(s)}>${t('edit.delete')}</button>`
                : nothing}
            </td>
          </tr>`,
        )}
      </tbody>
    </table></div>`;
  }

  override render() {
    const schedules = this.schedules.value;
    // A schedule runs as its creator: creating one takes at least an admin (the hub checks the command's role too).
    const canEdit = may(this.adminRole, 'admin');
    return html`
      <h3>${t('schedules.title')}</h3>
      <p class="muted">${t('schedules.intro')}</p>
      ${this.schedules.status()}
      ${schedules?.length === 0 ? html`<p>${t('schedules.empty')}</p>` : nothing}
      ${schedules?.length ? this.table(schedules, canEdit) : nothing}
      ${this.shown ? this.firesSection(this.shown) : nothing}
      ${this.changes.status()}
      ${canEdit && !this.creating ? html`<div class="row"><button class="secondary" @click=${() => (this.creating = true)}>${t('schedules.new')}</button></div>` : nothing}
      ${this.creating
        ? html`<bf-batch-form schedule .adminRole=${this.adminRole} @bf-changed=${this.created} @bf-closed=${() => (this.creating = false)}></bf-batch-form>`
        : nothing}
      ${this.changes.dialog()}
    `;
  }
}

customElements.define('bf-batch-schedules', BfBatchSchedules);
