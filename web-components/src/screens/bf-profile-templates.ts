// <bf-profile-templates>: the profile template of each format (sing-box JSON, Clash.Meta YAML) in an
// editor, with the slots it may use. Preview shows the profile a sample user gets and what the check
// says; Save stores it only when the check passes, else shows the hub's refusal (the checker's
// message with the template line). Viewers read; admins edit.
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import { getTemplate, previewTemplate, resetTemplate, saveTemplate, TEMPLATE_FORMATS, type TemplateCheck, type TemplateFormat } from '../data/profile-templates.js';
import { t } from '../i18n.js';
import { Changes } from '../ui/changes.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

export class BfProfileTemplates extends LocalizedElement {
  static override properties = { adminRole: {}, format: { state: true }, text: { state: true }, pattern: { state: true }, preview: { state: true } };
  adminRole: Role = 'viewer';
  format: TemplateFormat = 'singbox';
  /** The editor's text and name pattern; null until the saved ones arrive. */
  text: string | null = null;
  pattern = '';
  preview: { profile: string | null; check: TemplateCheck } | null = null;
  private readonly current = new Loader(this, () => getTemplate(this.format));
  private readonly changes = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      textarea { width: 100%; min-height: 28em; font-family: ui-monospace, monospace; font-size: 13px; box-sizing: border-box; }
      pre { max-height: 28em; overflow: auto; background: var(--bf-code-bg); padding: 8px; font-size: 12px; }
      .tabs button[aria-pressed='true'] { font-weight: bold; }
      .row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
      .row input { flex: 1; min-width: 12em; }
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 13px; }
      dt { font-family: ui-monospace, monospace; }
      .ok { color: var(--bf-ok); }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load() {
    this.text = null;
    this.preview = null;
    this.changes.error = '';
    await this.current.load();
    this.text = this.current.value?.template ?? null;
    this.pattern = this.current.value?.name_pattern ?? '';
  }

  private pick(format: TemplateFormat) {
    if (format === this.format) return;
    this.format = format;
    void this.load();
  }

  private input() {
    return { template: this.text ?? '', name_pattern: this.pattern };
  }

  private runPreview() {
    void this.changes.run(async () => {
      this.preview = await previewTemplate(this.format, this.input());
    });
  }

  private save() {
    void this.changes.run(async () => {
      const saved = await saveTemplate(this.format, this.input());
      this.preview = null;
      await this.current.load({ keep: true });
      this.text = saved.template;
    });
  }

  private askReset() {
    this.changes.confirm(t('templates.confirmReset'), t('templates.reset'), async () => {
      await resetTemplate(this.format);
      await this.load();
    });
  }

  private checkText(check: TemplateCheck) {
    if (check.ok) return html`<p class="ok" data-check="ok">${t('templates.checkPassed').replace('{checker}', check.checker)}</p>`;
    return html`<p class="error" role="alert" data-check="refused">${check.message}</p>`;
  }

  override render() {
    const current = this.current.value;
    const canEdit = may(this.adminRole, 'admin');
    return html`
      <h2>${t('templates.title')}</h2>
      <p>${t('templates.intro')}</p>
      <div class="row tabs" role="group">
        ${TEMPLATE_FORMATS.map(
          (f) => html`<button class="secondary" data-format=${f} aria-pressed=${String(f === this.format)} @click=${() => this.pick(f)}>${t(f === 'singbox' ? 'templates.singbox' : 'templates.clash')}</button>`,
        )}
      </div>
      ${this.current.status()}
      ${current
        ? html`<p>
              ${current.is_default
                ? t('templates.isDefault')
                : t('templates.savedBy').replace('{version}', String(current.version)).replace('{admin}', current.updated_by ?? '').replace('{time}', new Date(current.updated_at ?? 0).toLocaleString())}
            </p>
            <textarea aria-label=${t('templates.editor')} spellcheck="false" ?readonly=${!canEdit} .value=${this.text ?? ''}
              @input=${(e: Event) => (this.text = (e.target as HTMLTextAreaElement).value)}></textarea>
            <div class="row">
              <label for="pattern">${t('templates.namePattern')}</label>
              <input id="pattern" placeholder="{node} {type}" ?readonly=${!canEdit} .value=${this.pattern} @input=${(e: Event) => (this.pattern = (e.target as HTMLInputElement).value)} />
            </div>
            ${canEdit
              ? html`<div class="row">
                  <button class="secondary" data-action="preview" ?disabled=${this.changes.busy} @click=${this.runPreview}>${t('templates.preview')}</button>
                  <button data-action="save" ?disabled=${this.changes.busy} @click=${this.save}>${t('edit.save')}</button>
                  <button class="secondary" ?disabled=${this.changes.busy} @click=${() => (this.text = current.default_template)}>${t('templates.loadDefault')}</button>
                  ${current.is_default ? nothing : html`<button class="danger" ?disabled=${this.changes.busy} @click=${this.askReset}>${t('templates.reset')}</button>`}
                </div>`
              : nothing}
            ${this.changes.status()}
            ${this.preview ? html`${this.checkText(this.preview.check)}${this.preview.profile === null ? nothing : html`<pre data-preview>${this.preview.profile}</pre>`}` : nothing}
            <h3>${t('templates.slots')}</h3>
            <dl>${Object.entries(current.slots).map(([slot, meaning]) => html`<dt>${slot}</dt><dd>${meaning}</dd>`)}</dl>`
        : nothing}
      ${this.changes.dialog()}
    `;
  }
}

customElements.define('bf-profile-templates', BfProfileTemplates);
