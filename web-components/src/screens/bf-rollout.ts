// <bf-rollout>: one staged rollout — its version, target, gate and state, and per stage its nodes:
// where each stands, what the gate saw on it and why it failed; live through the WebSocket's rollout
// feed. Admins pause, resume and abort it (abort rolls back every node it changed, after asking).
import { css, html, nothing } from 'lit';
import { may, type Role } from '../../../agent-core/common/roles.js';
import { watchFeed, type FeedMessage } from '../data/live.js';
import { abortRollout, getRollout, isOver, pauseRollout, resumeRollout, type NodeChecks, type RolloutDetail, type RolloutPublic, type StagePlan } from '../data/rollouts.js';
import { t } from '../i18n.js';
import { Changes } from '../ui/changes.js';
import { formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';
import { statusBadge } from '../ui/status.js';
import { targetText } from '../ui/target.js';

/** What the gate saw on a node: the version it runs (the rollout's or not), sing-box, each inbound from outside, traffic, and what failed. */
function checks(seen: NodeChecks | null, version: number) {
  if (!seen) return nothing;
  const mark = (ok: boolean) => (ok ? 'ok' : 'error');
  return html`<ul class="checks">
    <li class=${mark(seen.applied_version === version)}>${t('rollout.checkVersion')}: ${seen.applied_version ?? '—'}</li>
    ${seen.singbox
      ? html`<li class=${mark(seen.singbox.running)}>sing-box: ${seen.singbox.running ? t('rollout.running') : t('rollout.notRunning')}${seen.singbox.error ? ` (${seen.singbox.error})` : ''}</li>`
      : nothing}
    ${(seen.inbounds ?? []).map((i) => html`<li class=${mark(i.ok)}>${i.tag} ${i.host}:${i.port}: ${i.ok ? t('rollout.reachable') : (i.error ?? t('rollout.unreachable'))}</li>`)}
    ${typeof seen.traffic?.drop_pct === 'number' ? html`<li>${t('rollout.trafficDrop')}: ${seen.traffic.drop_pct.toFixed(1)} %</li>` : nothing}
    ${seen.failures.map((f) => html`<li class="error" data-failure>${f}</li>`)}
    <li class="muted">${formatTime(seen.at)}</li>
  </ul>`;
}

export class BfRollout extends LocalizedElement {
  static override properties = { rolloutId: {}, adminRole: {}, live: { state: true } };
  rolloutId = 0;
  adminRole: Role = 'viewer';
  /** The feed's error, when live updates stopped. */
  live = '';
  private readonly rollout = new Loader<RolloutDetail>(this, () => getRollout(this.rolloutId));
  private readonly changes = new Changes(this);
  private stopWatching = () => {};

  static override styles = [
    screenStyles,
    css`
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; font-size: 14px; }
      dt { color: var(--bf-faint); }
      dd { margin: 0; word-break: break-word; }
      ul.checks { margin: 0; padding-left: 16px; font-size: 13px; }
      ul.checks li { word-break: break-word; }
      td.result { max-width: 28em; word-break: break-word; }
      .stage h3 { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-top: 0; }
    `,
  ];

  override connectedCallback(): void {
    super.connectedCallback();
    // Watching before the first fetch, so no change falls between the two.
    this.stopWatching = watchFeed('rollouts', (message) => this.apply(message), (error) => (this.live = error));
  }

  override disconnectedCallback(): void {
    this.stopWatching();
    super.disconnectedCallback();
  }

  override willUpdate(changed: Map<string, unknown>) {
    if (changed.has('rolloutId')) void this.rollout.load();
  }

  /** A change of this rollout: taken as it is when it carries its nodes, else they are fetched again. */
  private apply(message: FeedMessage) {
    const current = this.rollout.value;
    if (message.type !== 'rollout' || !current || message.rollout.id !== current.id) return;
    const { nodes, stage_plan } = message.rollout;
    if (nodes && stage_plan) {
      this.rollout.value = { ...message.rollout, nodes, stage_plan };
      this.requestUpdate();
    } else {
      void this.rollout.load({ keep: true });
    }
  }

  private act(change: (id: number) => Promise<RolloutPublic>) {
    const id = this.rolloutId;
    return async () => {
      // The answer says what was asked; the job does it, and the feed shows how it goes.
      this.rollout.value = { ...this.rollout.value!, ...(await change(id)) };
    };
  }

  private actions(rollout: RolloutDetail) {
    if (!may(this.adminRole, 'admin') || isOver(rollout.status) || rollout.status === 'rolling_back') return nothing;
    const busy = this.changes.busy;
    return html`<div class="row">
      ${rollout.status === 'paused'
        ? html`<button ?disabled=${busy} @click=${() => this.changes.run(this.act(resumeRollout))}>${t('rollout.resume')}</button>`
        : html`<button class="secondary" ?disabled=${busy} @click=${() => this.changes.run(this.act(pauseRollout))}>${t('rollout.pause')}</button>`}
      <button class="danger" ?disabled=${busy}
        @click=${() => this.changes.confirm(t('rollout.confirmAbort').replace('{id}', String(rollout.id)), t('rollout.abort'), this.act(abortRollout))}>${t('rollout.abort')}</button>
    </div>${this.changes.status()}`;
  }

  private summary(rollout: RolloutDetail) {
    const gate = rollout.gate;
    return html`<div class="card">
      <dl>
        <dt>${t('batches.status')}</dt><dd data-rollout-status>${statusBadge(rollout.status)}</dd>
        <dt>${t('config.version')}</dt><dd>${rollout.version}</dd>
        <dt>${t('batch.target')}</dt><dd>${targetText(rollout.target)}</dd>
        <dt>${t('rollout.stages')}</dt><dd>${rollout.stages.join(', ')}</dd>
        <dt>${t('rollout.currentStage')}</dt><dd data-current-stage>${rollout.current_stage} / ${rollout.stage_plan.length}</dd>
        <dt>${t('rollout.gate')}</dt>
        <dd>${[
          `${t('rollout.soak')}: ${gate.soak_s}`,
          `${t('rollout.timeout')}: ${gate.timeout_s}`,
          `${t('rollout.inboundCheck')}: ${gate.inbound_check ? t('rollout.yes') : t('rollout.no')}`,
          ...(gate.max_traffic_drop_pct === undefined ? [] : [`${t('rollout.maxDrop')}: ${gate.max_traffic_drop_pct}`]),
        ].join(' · ')}</dd>
        <dt>${t('batches.created')}</dt><dd>${formatTime(rollout.created_at)} · ${rollout.created_by}</dd>
        ${rollout.finished_at !== null ? html`<dt>${t('batch.finished')}</dt><dd>${formatTime(rollout.finished_at)}</dd>` : nothing}
        ${rollout.error ? html`<dt>${t('node.error')}</dt><dd class="error" data-rollout-error>${rollout.error}</dd>` : nothing}
      </dl>
      ${this.actions(rollout)}
    </div>`;
  }

  /** One stage as planned: how many nodes it brings to the version, how it stands, and its nodes. */
  private stage(rollout: RolloutDetail, plan: StagePlan) {
    const nodes = rollout.nodes.filter((n) => n.stage === plan.stage);
    return html`<section class="card stage" data-stage=${plan.stage}>
      <h3>${t('rollout.stage').replace('{n}', String(plan.stage))} ${statusBadge(plan.status)}
        <span class="muted">${t('rollout.stageNodes').replace('{count}', String(plan.nodes))}</span></h3>
      <div class="scroll"><table>
        <thead><tr><th>${t('firewall.node')}</th><th>${t('batches.status')}</th><th>${t('rollout.previous')}</th><th>${t('rollout.checks')}</th></tr></thead>
        <tbody>
          ${nodes.map(
            (n) => html`<tr data-rollout-node=${n.node_id}>
              <td><a href="#/nodes/${encodeURIComponent(n.node_id)}/config">${n.node_name}</a></td>
              <td>${statusBadge(n.status)}</td>
              <td>${n.previous_version ?? '—'}</td>
              <td class="result">${checks(n.checks, rollout.version)}${n.error ? html`<div class="error" data-error>${n.error}</div>` : nothing}</td>
            </tr>`,
          )}
        </tbody>
      </table></div>
    </section>`;
  }

  override render() {
    const rollout = this.rollout.value;
    return html`
      <p><a href="#/rollouts">← ${t('rollouts.title')}</a></p>
      <h2>${t('rollout.title').replace('{id}', String(this.rolloutId))}</h2>
      ${this.rollout.status()}
      ${this.live ? html`<p class="muted" role="status">${t('live.stopped')}: ${this.live}</p>` : nothing}
      ${rollout ? html`${this.summary(rollout)}${rollout.stage_plan.map((plan) => this.stage(rollout, plan))}` : nothing}
      ${this.changes.dialog()}
    `;
  }
}

customElements.define('bf-rollout', BfRollout);
