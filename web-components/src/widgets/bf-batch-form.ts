// <bf-batch-form>: starts a batch, or (with `schedule`) creates a cron schedule of one. The target is
// a node tag, every node, or the nodes selected in the node list (`nodeIds`); the commands offered
// are those the target's nodes describe and the admin's role may run, each with how many of the
// nodes offer it (the others are skipped); its input is the same schema form a node's page renders.
// A started batch opens its page; a created schedule sends `bf-changed`. Cancel sends `bf-closed`.
import { css, html, nothing } from 'lit';
import type { CommandDescription } from '../../../agent-core/common/description.js';
import { commandRole, may, type Role } from '../../../agent-core/common/roles.js';
import { createBatch, createSchedule, type BatchSpec, type BatchTarget } from '../data/batches.js';
import { getNode, listNodes, type NodeSummary } from '../data/nodes.js';
import { t } from '../i18n.js';
import './bf-schema-form.js';
import { Changes } from '../ui/changes.js';
import { CHANGED, CLOSED, type FormSubmitEvent } from '../ui/events.js';
import type { JsonSchema } from '../ui/json-schema.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';
import { targetText } from '../ui/target.js';

type TargetKind = 'tag' | 'all' | 'selected';

/** Nodes described at once while the command list is gathered. */
const DESCRIBE_AT_ONCE = 4;

/** The role a command needs, as the hub reads it: a name it does not know needs the highest. */

/** A command and how many of the target's nodes offer it. */
interface Offered {
  command: CommandDescription;
  nodes: number;
}

export class BfBatchForm extends LocalizedElement {
  static override properties = {
    adminRole: {},
    // Compared by content: the node list passes a new array on every render.
    nodeIds: { attribute: false, hasChanged: (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b) },
    schedule: { type: Boolean },
    kind: { state: true },
    tag: { state: true },
    commandName: { state: true },
    offered: { state: true },
    describing: { state: true },
    concurrency: { state: true },
    stopAfter: { state: true },
    name: { state: true },
    cron: { state: true },
    timezone: { state: true },
  };
  adminRole: Role = 'viewer';
  /** The node list's selection; empty: the target is a tag or every node. */
  nodeIds: string[] = [];
  /** Create a schedule instead of starting a batch now. */
  schedule = false;
  kind: TargetKind = 'tag';
  tag = '';
  commandName = '';
  offered: Offered[] = [];
  /** Whether the target's nodes are being asked what they offer. */
  describing = false;
  concurrency = 4;
  stopAfter = 0;
  name = '';
  cron = '';
  timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  private readonly nodes = new Loader<NodeSummary[]>(this, () => listNodes());
  private readonly changes = new Changes(this);
  /** Each node's commands, asked once. */
  private readonly described = new Map<string, Promise<CommandDescription[]>>();
  /** Only the newest gathering may set `offered`. */
  private generation = 0;

  static override styles = [
    screenStyles,
    css`
      :host { display: block; }
      h3 { margin-top: 0; }
      .fields { display: grid; gap: 10px; margin-bottom: 10px; }
      label { display: grid; gap: 4px; font-size: 14px; }
      .numbers { display: flex; gap: 12px; flex-wrap: wrap; }
      .numbers label { flex: 1; min-width: 140px; }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.nodeIds.length) this.kind = 'selected';
    void this.nodes.load().then(() => {
      if (this.kind === 'tag' && !this.tags.length) this.kind = 'all';
      return this.gather();
    });
  }

  /** Nodes ticked or unticked in the list while the form is open: what they offer is asked again. */
  override updated(changed: Map<string, unknown>) {
    if (changed.has('nodeIds') && this.kind === 'selected' && this.nodes.value) void this.gather();
  }

  /** The tags of the fleet's nodes, sorted. */
  private get tags(): string[] {
    return [...new Set((this.nodes.value ?? []).flatMap((n) => n.tags))].sort();
  }

  private get target(): BatchTarget {
    if (this.kind === 'selected') return { node_ids: this.nodeIds };
    if (this.kind === 'all') return { all: true };
    return { tags: [this.tag || this.tags[0] || ''] };
  }

  /** The enabled nodes the target reaches, as far as the node list tells (the hub resolves it again). */
  private targetNodes(): string[] {
    const nodes = (this.nodes.value ?? []).filter((n) => n.enabled);
    const target = this.target;
    if ('node_ids' in target) return target.node_ids;
    if ('all' in target) return nodes.map((n) => n.id);
    return nodes.filter((n) => n.tags.some((tag) => target.tags.includes(tag))).map((n) => n.id);
  }

  private commandsOf(nodeId: string): Promise<CommandDescription[]> {
    let commands = this.described.get(nodeId);
    if (!commands) {
      // A node the hub cannot tell about offers nothing here; the batch still reaches it, and its row says what happened.
      commands = getNode(nodeId).then((node) => node.agent?.plugins.flatMap((p) => (p.state === 'running' ? p.commands : [])) ?? [], () => []);
      this.described.set(nodeId, commands);
    }
    return commands;
  }

  /** Asks the target's nodes what they offer and keeps the commands the admin may run. */
  private async gather() {
    const generation = ++this.generation;
    const ids = this.targetNodes();
    this.describing = true;
    const lists: CommandDescription[][] = [];
    for (let i = 0; i < ids.length; i += DESCRIBE_AT_ONCE) {
      lists.push(...(await Promise.all(ids.slice(i, i + DESCRIBE_AT_ONCE).map((id) => this.commandsOf(id)))));
    }
    if (generation !== this.generation) return;
    const byName = new Map<string, Offered>();
    for (const command of lists.flat()) {
      if (!may(this.adminRole, commandRole(command.role))) continue;
      const known = byName.get(command.name);
      if (known) known.nodes++;
      else byName.set(command.name, { command, nodes: 1 });
    }
    this.offered = [...byName.values()].sort((a, b) => a.command.name.localeCompare(b.command.name));
    if (!byName.has(this.commandName)) this.commandName = '';
    this.describing = false;
  }

  private readonly close = () => this.dispatchEvent(new CustomEvent(CLOSED, { bubbles: true, composed: true }));

  private retarget(kind: TargetKind, tag = this.tag) {
    this.kind = kind;
    this.tag = tag;
    void this.gather();
  }

  private submit(event: FormSubmitEvent) {
    const spec: BatchSpec = {
      target: this.target,
      command: this.commandName,
      input: event.detail,
      concurrency: this.concurrency,
      stop_after_failures: this.stopAfter,
    };
    void this.changes.run(async () => {
      if (!this.schedule) {
        location.hash = `#/batches/${(await createBatch(spec)).id}`;
        return;
      }
      await createSchedule({ name: this.name, cron: this.cron, timezone: this.timezone, batch: spec });
      this.dispatchEvent(new CustomEvent(CHANGED, { bubbles: true, composed: true }));
    });
  }

  private targetFields() {
    const tags = this.tags;
    const tag = this.tag || tags[0] || '';
    return html`<label>${t('batch.target')}
        <select aria-label=${t('batch.target')} @change=${(e: Event) => this.retarget((e.target as HTMLSelectElement).value as TargetKind)}>
          ${this.nodeIds.length ? html`<option value="selected" ?selected=${this.kind === 'selected'}>${t('batch.targetSelected').replace('{count}', String(this.nodeIds.length))}</option>` : nothing}
          ${tags.length ? html`<option value="tag" ?selected=${this.kind === 'tag'}>${t('batch.targetTag')}</option>` : nothing}
          <option value="all" ?selected=${this.kind === 'all'}>${t('target.all')}</option>
        </select></label>
      ${this.kind === 'tag' && tags.length
        ? html`<label>${t('nodes.tags')}
            <select aria-label=${t('batch.tag')} @change=${(e: Event) => this.retarget('tag', (e.target as HTMLSelectElement).value)}>
              ${tags.map((name) => html`<option ?selected=${name === tag}>${name}</option>`)}
            </select></label>`
        : nothing}
      <p class="muted" data-target>${targetText(this.target)} · ${t('batch.reaches').replace('{count}', String(this.targetNodes().length))}</p>`;
  }

  private commandField() {
    const reached = this.targetNodes().length;
    if (this.describing) return html`<p>${t('batch.describing')}</p>`;
    if (!this.offered.length) return html`<p class="muted">${t('batch.noCommands')}</p>`;
    return html`<label>${t('batch.command')}
      <select aria-label=${t('batch.command')} @change=${(e: Event) => (this.commandName = (e.target as HTMLSelectElement).value)}>
        <option value="" ?selected=${!this.commandName}>—</option>
        ${this.offered.map(
          (o) => html`<option value=${o.command.name} ?selected=${o.command.name === this.commandName}>${o.command.name}${o.nodes < reached ? ` (${t('batch.offeredBy').replace('{count}', String(o.nodes)).replace('{total}', String(reached))})` : ''}</option>`,
        )}
      </select></label>`;
  }

  private scheduleFields() {
    const text = (e: Event) => (e.target as HTMLInputElement).value;
    return html`<label>${t('schedules.name')}
        <input aria-label=${t('schedules.name')} required maxlength="64" .value=${this.name} @input=${(e: Event) => (this.name = text(e))} /></label>
      <div class="numbers">
        <label>${t('schedules.cron')}
          <input aria-label=${t('schedules.cron')} required maxlength="100" placeholder="0 4 * * *" .value=${this.cron} @input=${(e: Event) => (this.cron = text(e))} />
          <span class="muted">${t('schedules.cronHint')}</span></label>
        <label>${t('schedules.timezone')}
          <input aria-label=${t('schedules.timezone')} required list="timezones" .value=${this.timezone} @input=${(e: Event) => (this.timezone = text(e))} />
          <datalist id="timezones">${Intl.supportedValuesOf('timeZone').map((zone) => html`<option value=${zone}></option>`)}</datalist></label>
      </div>`;
  }

  private runFields() {
    const read = (e: Event) => Number((e.target as HTMLInputElement).value);
    return html`<div class="numbers" slot="fields">
      <label>${t('batch.concurrency')}
        <input type="number" aria-label=${t('batch.concurrency')} min="1" max="32" step="1" .value=${String(this.concurrency)} @input=${(e: Event) => (this.concurrency = read(e))} /></label>
      <label>${t('batch.stopAfter')}
        <input type="number" aria-label=${t('batch.stopAfter')} min="0" step="1" .value=${String(this.stopAfter)} @input=${(e: Event) => (this.stopAfter = read(e))} />
        <span class="muted">${t('batch.stopAfterHint')}</span></label>
    </div>`;
  }

  override render() {
    const command = this.offered.find((o) => o.command.name === this.commandName)?.command;
    return html`<section class="card" data-batch-form>
      <h3>${this.schedule ? t('schedules.new') : t('batches.new')}</h3>
      ${this.nodes.status()}
      ${this.nodes.value
        ? html`<div class="fields">
            ${this.schedule ? this.scheduleFields() : nothing}
            ${this.targetFields()}
            ${this.commandField()}
            ${command?.mutates ? html`<p class="muted">${t('command.mutates')}</p>` : nothing}
          </div>`
        : nothing}
      ${command
        ? html`<bf-schema-form .schema=${command.input as JsonSchema} ?busy=${this.changes.busy} @bf-submit=${this.submit}
            .submitLabel=${this.schedule ? t('schedules.create') : t('batches.start')}>
            ${this.runFields()}
            <button class="secondary" @click=${this.close}>${t('edit.cancel')}</button>
          </bf-schema-form>`
        : html`<div class="row"><button class="secondary" @click=${this.close}>${t('edit.cancel')}</button></div>`}
      ${this.changes.status()}
    </section>`;
  }
}

customElements.define('bf-batch-form', BfBatchForm);
