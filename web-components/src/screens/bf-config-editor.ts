// <bf-config-editor>: a node's sing-box base config. The JSON editor marks the line of a syntax
// error as you type, and the line a refusal names (the hub's rule or sing-box's own message); saving
// makes a new immutable version, applying pushes it to this node and shows what sing-box said. Also:
// every saved version, every push to this node, a diff between any two versions (or a version and
// the editor), and rollback. Applying and rolling back ask first. "Roll out…" sends a saved version
// to this node, a tag or every node in stages behind health gates (<bf-rollout-form>). Admins get
// shortcuts on VLESS and REALITY inbounds: REALITY keys from the hub, the Vision flow on or off.
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import { applyConfigVersion, applyConfigVersionToTag, generateRealityKeyPair, getConfigVersion, getNodeConfigHistory, listConfigVersions, rollBackNodeConfig, saveConfigVersion, type ApplyResult, type TagApplyResult } from '../data/configs.js';
import { getNode } from '../data/nodes.js';
import { inboundTools, withRealityKeys, withVisionFlow } from '../ui/inbound-tools.js';
import { lineOfPath, parseJson, pathInMessage, prettyJson } from '../ui/json-text.js';
import { t } from '../i18n.js';
import '../widgets/bf-config-diff.js';
import '../widgets/bf-copy-button.js';
import '../widgets/bf-json-editor.js';
import '../widgets/bf-rollout-form.js';
import type { BfJsonEditor } from '../widgets/bf-json-editor.js';
import { Changes } from '../ui/changes.js';
import { formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

const PER_PAGE = 20;
/** What a node without any config starts from: sing-box's smallest useful config. */
const STARTER = { log: { level: 'warn' }, inbounds: [], outbounds: [{ type: 'direct', tag: 'direct' }], route: { final: 'direct' } };
const TAG_STATUS = { applied: 'config.pushApplied', pending: 'config.pending', refused: 'config.pushRefused' } as const;
/** The diff's "to" side may be the editor's text instead of a saved version. */
const EDITOR = 'editor';

export class BfConfigEditor extends LocalizedElement {
  static override properties = {
    nodeId: {},
    adminRole: {},
    opened: { state: true },
    text: { state: true },
    savedText: { state: true },
    editing: { state: true },
    comment: { state: true },
    notice: { state: true },
    offset: { state: true },
    diffFrom: { state: true },
    diffTo: { state: true },
    diffTexts: { state: true },
    tagResult: { state: true },
    tag: { state: true },
    rollingOut: { state: true },
    generated: { state: true },
  };
  nodeId = '';
  adminRole: Role = 'viewer';
  /** Whether the editor holds the node's config yet (it is not shown before). */
  opened = false;
  /** The editor's text, and the text of the version it was opened from (to tell unsaved edits). */
  text = '';
  savedText = '';
  /** The version the editor was opened from; null for a new config. */
  editing: number | null = null;
  comment = '';
  /** What the last action did, in words. */
  notice = '';
  offset = 0;
  diffFrom = 0;
  diffTo: number | typeof EDITOR = EDITOR;
  /** Saved versions' texts, fetched once each (versions never change). */
  diffTexts = new Map<number, string>();
  /** Each node's answer to the last apply to a tag. */
  tagResult: TagApplyResult | null = null;
  /** The tag picked for that (the node's first until another is picked). */
  tag = '';
  /** Whether the Roll out… form is open (for the open version). */
  rollingOut = false;
  /** The public key of the REALITY keys last generated into an inbound (by its index), for the admin to see. */
  generated: { index: number; public_key: string } | null = null;

  private readonly history = new Loader(this, () => getNodeConfigHistory(this.nodeId));
  private readonly versions = new Loader(this, () => listConfigVersions(PER_PAGE, this.offset));
  /** The node, for its tags: a version can go to every node that shares one. */
  private readonly node = new Loader(this, () => getNode(this.nodeId));
  /** Busy while a change runs; its error is the hub's or the node's refusal (sing-box's message), verbatim. */
  private readonly changes = new Changes(this);

  static override styles = [
    screenStyles,
    css`
      .grid { display: grid; gap: 0 16px; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); }
      @media (max-width: 900px) { .grid { grid-template-columns: minmax(0, 1fr); } }
      @media (max-width: 600px) { .saved { display: none; } }
      pre.refusal { white-space: pre-wrap; word-break: break-word; background: var(--bf-danger-bg); padding: 8px; border-radius: 4px; font-size: 13px; margin: 8px 0; }
      .line-error { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
      .line-error button { padding: 2px 8px; }
      input[name='comment'] { flex: 1; min-width: 160px; }
      td.error { max-width: 320px; word-break: break-word; font-size: 13px; }
      label { font-size: 14px; }
    `,
  ];

  private readonly warnBeforeLeaving = (event: BeforeUnloadEvent) => {
    if (this.dirty) event.preventDefault();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('beforeunload', this.warnBeforeLeaving);
  }

  override disconnectedCallback(): void {
    window.removeEventListener('beforeunload', this.warnBeforeLeaving);
    super.disconnectedCallback();
  }

  override updated(changed: Map<string, unknown>) {
    if (changed.has('nodeId')) void this.start();
  }

  private get dirty() {
    return this.text !== this.savedText;
  }

  private get canChange() {
    return may(this.adminRole, 'admin');
  }

  /** Loads the lists, then opens what the node runs (or what the hub wants on it, or a starter). */
  private async start() {
    this.opened = false;
    this.tagResult = null;
    // The admin may open a version from the lists while the node's own is still loading: theirs stays.
    const shownBefore = this.shown;
    const untouched = () => this.shown === shownBefore;
    await Promise.all([this.history.load(), this.versions.load(), this.node.load()]);
    const history = this.history.value;
    const current = history?.applied_config_version ?? history?.desired_config_version ?? null;
    if (current !== null) {
      await this.act(async () => {
        const text = await this.textOf(current);
        if (untouched()) this.show(current, text);
      });
    } else if (untouched()) this.show(null, prettyJson(STARTER));
  }

  /** How many times the editor was given a text: start() leaves one the admin opened meanwhile. */
  private shown = 0;

  private show(version: number | null, text: string) {
    this.shown++;
    this.opened = true;
    this.rollingOut = false;
    this.generated = null;
    this.editing = version;
    this.text = this.savedText = text;
    this.changes.error = '';
    this.diffFrom = version ?? this.diffFrom;
    this.diffTo = EDITOR;
  }

  private async textOf(version: number): Promise<string> {
    const known = this.diffTexts.get(version);
    if (known !== undefined) return known;
    const text = prettyJson((await getConfigVersion(version)).config);
    this.diffTexts = new Map(this.diffTexts).set(version, text);
    return text;
  }

  /** Opens a saved version in the editor; unsaved edits are only dropped after asking. */
  private open(version: number) {
    const open = this.change(async () => this.show(version, await this.textOf(version)));
    if (this.dirty) this.changes.confirm(t('config.confirmDiscard'), t('config.discard'), open);
    else void this.changes.run(open);
  }

  /** A change for `changes` to run: what it did goes to `notice`, its refusal to `changes.error`. */
  private change(body: () => Promise<void>) {
    return async () => {
      this.notice = '';
      await body();
    };
  }

  private act(body: () => Promise<void>) {
    return this.changes.run(this.change(body));
  }

  /** After a change on the hub: the lists afresh, keeping what is shown until they arrive. */
  private refresh() {
    return Promise.all([this.history.load({ keep: true }), this.versions.load({ keep: true })]);
  }

  private async save(): Promise<number | null> {
    const parsed = parseJson(this.text);
    if (!parsed.ok) return null;
    const version = await saveConfigVersion(parsed.value, this.comment);
    this.editing = version.id;
    this.savedText = this.text;
    this.comment = '';
    this.notice = t('config.saved').replace('{version}', String(version.id));
    return version.id;
  }

  private describe(result: ApplyResult): string {
    const key = result.status === 'applied' ? 'config.applied' : 'config.pendingApply';
    return t(key).replace('{version}', String(result.version)).replace('{node}', result.node_id);
  }

  private saveOnly() {
    void this.act(async () => {
      await this.save();
      await this.refresh();
    });
  }

  private saveAndApply() {
    this.changes.confirm(t('config.confirmSaveApply').replace('{node}', this.nodeId), t('config.saveApply'),
      this.change(async () => {
        try {
          const version = this.dirty || this.editing === null ? await this.save() : this.editing;
          if (version !== null) this.notice = this.describe(await applyConfigVersion(version, this.nodeId));
        } finally {
          await this.refresh();
        }
      }),
    );
  }

  private applyVersion(version: number) {
    this.changes.confirm(t('config.confirmApply').replace('{version}', String(version)).replace('{node}', this.nodeId), t('config.apply'),
      this.change(async () => {
        try {
          this.notice = this.describe(await applyConfigVersion(version, this.nodeId));
        } finally {
          await this.refresh();
        }
      }),
    );
  }

  private applyToTag(version: number, tag: string) {
    const message = t('config.confirmApplyTag').replace('{version}', String(version)).replace('{tag}', tag);
    this.changes.confirm(message, t('config.applyTag'),
      this.change(async () => {
        try {
          this.tagResult = await applyConfigVersionToTag(version, tag);
        } finally {
          await this.refresh();
        }
      }),
    );
  }

  /** Sending the open version to every node with one of this node's tags, and how each answered. */
  private tagSection() {
    const tags = this.node.value?.tags ?? [];
    const version = this.editing;
    const result = this.tagResult;
    if (!this.canChange || tags.length === 0 || version === null || this.dirty) return nothing;
    const tag = tags.includes(this.tag) ? this.tag : tags[0]!;
    return html`<div class="row" data-apply-tag>
        <label>${t('config.applyToTag').replace('{version}', String(version))}
          <select aria-label=${t('config.tag')} @change=${(e: Event) => (this.tag = (e.target as HTMLSelectElement).value)}>
            ${tags.map((name) => html`<option ?selected=${name === tag}>${name}</option>`)}
          </select></label>
        <button class="secondary" ?disabled=${this.changes.busy} @click=${() => this.applyToTag(version, tag)}>${t('config.applyTag')}</button>
      </div>
      ${result
        ? html`<p data-tag-summary>${t('config.tagSummary')
            .replace('{tag}', result.tag)
            .replace('{applied}', String(result.applied))
            .replace('{pending}', String(result.pending))
            .replace('{refused}', String(result.refused))}</p>
          <div class="scroll"><table data-tag-results>
            <tbody>
              ${result.results.map(
                (r) => html`<tr>
                  <td><a href="#/nodes/${encodeURIComponent(r.node_id)}/config">${r.node_id}</a></td>
                  <td><span class="badge ${r.status === 'applied' ? 'ok' : r.status === 'refused' ? 'error' : ''}">${t(TAG_STATUS[r.status])}</span></td>
                  <td class="error">${r.error ?? ''}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : nothing}`;
  }

  /** "Roll out…" for the open saved version, or its form. */
  private rolloutSection() {
    const version = this.editing;
    if (!this.canChange || version === null || this.dirty) return nothing;
    if (!this.rollingOut) {
      return html`<div class="row"><button class="secondary" ?disabled=${this.changes.busy} @click=${() => (this.rollingOut = true)}>${t('config.rollOut')}</button></div>`;
    }
    return html`<bf-rollout-form .version=${version} .nodeId=${this.nodeId} .tags=${this.node.value?.tags ?? []}
      @bf-closed=${() => (this.rollingOut = false)}></bf-rollout-form>`;
  }

  private rollBack(current: number) {
    this.changes.confirm(t('config.confirmRollback').replace('{node}', this.nodeId).replace('{version}', String(current)), t('config.rollback'),
      this.change(async () => {
        try {
          const result = await rollBackNodeConfig(this.nodeId);
          this.notice = this.describe(result);
          if (!this.dirty) this.show(result.version, await this.textOf(result.version));
        } finally {
          await this.refresh();
        }
      }),
    );
  }

  private format() {
    const parsed = parseJson(this.text);
    if (parsed.ok) this.text = prettyJson(parsed.value);
  }

  /** Puts a new REALITY key pair from the hub into inbound `index` of the editor's config. */
  private generateReality(index: number) {
    void this.act(async () => {
      const keys = await generateRealityKeyPair();
      const parsed = parseJson(this.text);
      if (!parsed.ok) return;
      this.text = prettyJson(withRealityKeys(parsed.value, index, keys));
      this.generated = { index, public_key: keys.public_key };
    });
  }

  private setVision(index: number, on: boolean) {
    const parsed = parseJson(this.text);
    if (parsed.ok) this.text = prettyJson(withVisionFlow(parsed.value, index, on));
  }

  /** The shortcuts on VLESS and REALITY inbounds (admins, on a config that parses). */
  private inboundSection(config: unknown) {
    const tools = inboundTools(config);
    if (tools.length === 0) return nothing;
    return html`<div data-inbound-tools>
      ${tools.map(
        (tool) => html`<div class="row" data-inbound=${tool.label}>
            <strong>${tool.label}</strong>
            <button class="secondary" ?disabled=${this.changes.busy} @click=${() => this.generateReality(tool.index)}>${t('config.generateReality')}</button>
            ${tool.vless
              ? html`<label><input type="checkbox" .checked=${tool.vision} ?disabled=${!tool.vision && !tool.visionAllowed}
                    @change=${(e: Event) => this.setVision(tool.index, (e.target as HTMLInputElement).checked)} />
                  ${t('config.visionFlow')}</label>
                ${tool.visionAllowed ? nothing : html`<span class="muted">${t('config.visionNeeds')}</span>`}`
              : nothing}
          </div>
          ${this.generated?.index === tool.index
            ? html`<p class="row" data-public-key>${t('config.realityPublicKey')} <code>${this.generated.public_key}</code>
                <bf-copy-button .value=${this.generated.public_key}></bf-copy-button></p>`
            : nothing}`,
      )}
    </div>`;
  }

  private goTo(line: number) {
    this.renderRoot.querySelector<BfJsonEditor>('bf-json-editor')?.goToLine(line);
  }

  private async compare(from: number, to: number | typeof EDITOR) {
    this.diffFrom = from;
    this.diffTo = to;
    await this.act(async () => {
      await Promise.all([from, to].filter((v): v is number => v !== EDITOR).map((v) => this.textOf(v)));
    });
  }

  private editorSection() {
    if (!this.opened) return html`<section class="card"><p>${t('common.loading')}</p>${this.changes.status()}</section>`;
    const parsed = parseJson(this.text);
    const refusal = this.changes.error;
    const refusedPath = refusal ? pathInMessage(refusal) : null;
    const refusedLine = refusedPath && parsed.ok ? lineOfPath(this.text, refusedPath) : null;
    const marked = parsed.ok ? (refusedLine ?? 0) : parsed.at.line;
    const canChange = this.canChange;
    return html`<section class="card">
      <h3>${t('config.editor')}
        <span class="muted">${this.editing === null ? t('config.newConfig') : t('config.fromVersion').replace('{version}', String(this.editing))}
          ${this.dirty ? html` · <span data-unsaved>${t('config.unsaved')}</span>` : nothing}</span></h3>
      <bf-json-editor .value=${this.text} .label=${t('config.editor')} .markedLine=${marked} ?readonly=${!canChange}
        @input=${(e: Event) => (this.text = (e.currentTarget as BfJsonEditor).value)}></bf-json-editor>
      ${parsed.ok
        ? nothing
        : html`<p class="error line-error" role="alert" data-parse-error>
            ${t('config.lineColumn').replace('{line}', String(parsed.at.line)).replace('{column}', String(parsed.at.column))}: ${parsed.message}
            <button class="secondary" @click=${() => this.goTo(parsed.at.line)}>${t('config.goToLine')}</button></p>`}
      ${refusal
        ? html`<div role="alert" data-refusal>
            ${refusedLine ? html`<p class="error line-error">${t('config.refusedAt').replace('{line}', String(refusedLine))}
              <button class="secondary" @click=${() => this.goTo(refusedLine)}>${t('config.goToLine')}</button></p>` : nothing}
            <pre class="refusal">${refusal}</pre></div>`
        : nothing}
      ${this.notice ? html`<p class="ok" role="status" data-notice>${this.notice}</p>` : nothing}
      ${canChange && parsed.ok ? this.inboundSection(parsed.value) : nothing}
      ${canChange
        ? html`<div class="row">
            <input name="comment" aria-label=${t('config.comment')} placeholder=${t('config.comment')} maxlength="500"
              .value=${this.comment} @input=${(e: Event) => (this.comment = (e.target as HTMLInputElement).value)} />
            <button class="secondary" ?disabled=${this.changes.busy || !parsed.ok} @click=${this.format}>${t('config.format')}</button>
            <button class="secondary" ?disabled=${this.changes.busy || !parsed.ok || !this.dirty} @click=${this.saveOnly}>${t('config.save')}</button>
            <button ?disabled=${this.changes.busy || !parsed.ok} @click=${this.saveAndApply}>${t('config.saveApply')}</button>
          </div>`
        : nothing}
      ${this.tagSection()}
      ${this.rolloutSection()}
    </section>`;
  }

  private versionsSection(applied: number | null, desired: number | null) {
    const page = this.versions.value;
    const canChange = this.canChange;
    return html`<section class="card">
      <h3>${t('config.versions')}</h3>
      ${this.versions.status()}
      ${page?.total === 0 ? html`<p class="muted">${t('config.noVersions')}</p>` : nothing}
      ${page?.versions.length
        ? html`<div class="scroll"><table>
            <thead><tr><th>#</th><th class="saved">${t('config.savedAt')}</th><th>${t('config.comment')}</th><th></th></tr></thead>
            <tbody>
              ${page.versions.map(
                (v) => html`<tr data-version=${v.id}>
                  <td>${v.id}<div class="muted" title=${v.hash}>${v.hash.slice(0, 12)}</div></td>
                  <td class="saved">${formatTime(v.created_at)}<div class="muted">${v.author}</div></td>
                  <td>${v.comment || '—'}
                    ${v.id === applied ? html`<span class="badge ok" data-running>${t('config.running')}</span>` : nothing}
                    ${v.id === desired && desired !== applied ? html`<span class="badge" data-wanted>${t('config.wanted')}</span>` : nothing}</td>
                  <td><div class="row">
                    <button class="secondary" ?disabled=${this.changes.busy} @click=${() => this.open(v.id)}>${t('config.open')}</button>
                    <button class="secondary" ?disabled=${this.changes.busy} @click=${() => this.compare(v.id, EDITOR)}>${t('config.compare')}</button>
                    ${canChange && v.id !== applied
                      ? html`<button class="secondary" ?disabled=${this.changes.busy} @click=${() => this.applyVersion(v.id)}>${t('config.apply')}</button>`
                      : nothing}
                  </div></td>
                </tr>`,
              )}
            </tbody>
          </table></div>
          <div class="pager">
            <button class="secondary" ?disabled=${this.offset === 0} @click=${() => this.page(-1)}>${t('common.previous')}</button>
            <span>${this.offset + 1}–${this.offset + page.versions.length} / ${page.total}</span>
            <button class="secondary" ?disabled=${this.offset + PER_PAGE >= page.total} @click=${() => this.page(1)}>${t('common.next')}</button>
          </div>`
        : nothing}
    </section>`;
  }

  private page(step: number) {
    this.offset = Math.max(0, this.offset + step * PER_PAGE);
    void this.versions.load({ keep: true });
  }

  private diffSection() {
    const ids = this.versions.value?.versions.map((v) => v.id) ?? [];
    if (ids.length === 0) return nothing;
    const from = this.diffTexts.get(this.diffFrom);
    const parsed = parseJson(this.text);
    const to = this.diffTo === EDITOR ? (parsed.ok ? prettyJson(parsed.value) : this.text) : this.diffTexts.get(this.diffTo);
    const option = (id: number, selected: number | typeof EDITOR) => html`<option value=${id} ?selected=${id === selected}>${t('config.version')} ${id}</option>`;
    return html`<section class="card">
      <h3>${t('config.diff')}</h3>
      <div class="row">
        <label>${t('config.diffFrom')}
          <select aria-label=${t('config.diffFrom')} @change=${(e: Event) => this.compare(Number((e.target as HTMLSelectElement).value), this.diffTo)}>
            ${ids.includes(this.diffFrom) ? nothing : html`<option value="" selected disabled>—</option>`}
            ${ids.map((id) => option(id, this.diffFrom))}
          </select></label>
        <label>${t('config.diffTo')}
          <select aria-label=${t('config.diffTo')} @change=${(e: Event) => {
            const value = (e.target as HTMLSelectElement).value;
            void this.compare(this.diffFrom, value === EDITOR ? EDITOR : Number(value));
          }}>
            <option value=${EDITOR} ?selected=${this.diffTo === EDITOR}>${t('config.editorText')}</option>
            ${ids.map((id) => option(id, this.diffTo))}
          </select></label>
      </div>
      ${from !== undefined && to !== undefined ? html`<bf-config-diff .oldText=${from} .newText=${to}></bf-config-diff>` : html`<p class="muted">${t('config.pickVersions')}</p>`}
    </section>`;
  }

  private pushesSection() {
    const pushes = this.history.value?.pushes ?? [];
    return html`<section class="card">
      <h3>${t('config.pushes')}</h3>
      ${pushes.length === 0
        ? html`<p class="muted">${t('config.noPushes')}</p>`
        : html`<div class="scroll"><table>
            <thead><tr><th>${t('config.time')}</th><th>${t('config.version')}</th><th>${t('config.result')}</th></tr></thead>
            <tbody>
              ${pushes.map(
                (p) => html`<tr data-push=${p.version}>
                  <td>${formatTime(p.time)}<div class="muted">${p.by}</div></td>
                  <td>${p.version ?? '—'}</td>
                  <td class=${p.applied ? '' : 'error'}>
                    <span class="badge ${p.applied ? 'ok' : 'error'}">${p.action === 'drift-detected' ? t('config.pushDrift') : p.applied ? t('config.pushApplied') : t('config.pushRefused')}</span>
                    ${p.error ? html`<div>${p.error}</div>` : nothing}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`}
    </section>`;
  }

  override render() {
    const history = this.history.value;
    const applied = history?.applied_config_version ?? null;
    const desired = history?.desired_config_version ?? null;
    return html`
      <p><a href="#/nodes/${encodeURIComponent(this.nodeId)}">← ${t('node.title')} ${this.nodeId}</a></p>
      <h2>${t('config.title').replace('{node}', this.nodeId)}</h2>
      ${this.history.status()}
      ${history
        ? html`<div class="card row" data-config-state>
            <span>${applied === null ? t('config.runsNone') : t('config.runs').replace('{version}', String(applied))}</span>
            ${desired !== null && desired !== applied ? html`<span class="badge">${t('config.waitsFor').replace('{version}', String(desired))}</span>` : nothing}
            ${this.canChange && applied !== null
              ? html`<button class="danger" ?disabled=${this.changes.busy} @click=${() => this.rollBack(applied)}>${t('config.rollback')}</button>`
              : nothing}
          </div>
          <div class="grid">
            <div>${this.editorSection()}${this.diffSection()}</div>
            <div>${this.versionsSection(applied, desired)}${this.pushesSection()}</div>
          </div>`
        : nothing}
      ${this.changes.dialog()}
    `;
  }
}

customElements.define('bf-config-editor', BfConfigEditor);
