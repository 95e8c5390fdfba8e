// <bf-singbox-panel>: singbox-config's panel on the node page — whether sing-box runs and which
// config and users it serves, the last apply and degraded mode, and the users the node holds (from
// singbox-config.status and users.list).
import { css, html, nothing } from 'lit';
import { getSingboxStatus, listNodeUsers, type NodeUser, type SingboxStatus } from '../data/singbox-config.js';
import { t } from '../i18n.js';
import { formatBytes, formatTime } from '../ui/format.js';
import { Loader } from '../ui/loader.js';
import { LocalizedElement } from '../ui/localized-element.js';
import { screenStyles } from '../ui/shared-styles.js';

export class BfSingboxPanel extends LocalizedElement {
  static override properties = { nodeId: {} };
  nodeId = '';

  private readonly status = new Loader(this, () => getSingboxStatus(this.nodeId));
  private readonly users = new Loader(this, () => listNodeUsers(this.nodeId));

  static override styles = [
    screenStyles,
    css`
      dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0 0 8px; font-size: 14px; }
      dt { color: var(--bf-faint); }
      dd { margin: 0; word-break: break-word; }
    `,
  ];

  override updated(changed: Map<string, unknown>) {
    if (changed.has('nodeId')) this.refresh(false);
  }

  private refresh(keep = true) {
    void this.status.load({ keep });
    void this.users.load({ keep });
  }

  private statusList(s: SingboxStatus) {
    return html`<dl data-singbox-status>
      <dt>sing-box</dt>
      <dd><span class="badge ${s.running ? 'ok' : 'error'}">${s.running ? t('singbox.running') : t('singbox.stopped')}</span>
        ${s.version ?? ''} ${s.pid ? html`<span class="muted">pid ${s.pid}</span>` : nothing}
        ${s.degraded ? html`<span class="badge error" title=${t('singbox.degradedHint')}>${t('singbox.degraded')}</span>` : nothing}</dd>
      ${s.since ? html`<dt>${t('singbox.since')}</dt><dd>${formatTime(s.since)}${s.restarts ? html` · ${t('singbox.restarts')} ${s.restarts}` : nothing}</dd>` : nothing}
      <dt>${t('singbox.nodeConfig')}</dt>
      <dd>${s.config.version ?? '—'} ${s.config.hash ? html`<span class="muted" title=${s.config.hash}>sha256 ${s.config.hash.slice(0, 12)}</span>` : nothing}</dd>
      <dt>${t('singbox.users')}</dt><dd>${s.users.served} / ${s.users.count} ${s.users.revision === null ? '' : html`<span class="muted">(${t('singbox.revision')} ${s.users.revision})</span>`}</dd>
      ${s.last_apply
        ? html`<dt>${t('singbox.lastApply')}</dt>
            <dd class=${s.last_apply.ok ? '' : 'error'}>${formatTime(s.last_apply.time)} · ${s.last_apply.action} · ${s.last_apply.message}</dd>`
        : nothing}
    </dl>`;
  }

  private usersTable(users: NodeUser[]) {
    if (users.length === 0) return html`<p class="muted">${t('singbox.noUsers')}</p>`;
    return html`<div class="scroll"><table data-node-users>
      <thead><tr><th>${t('plans.name')}</th><th>${t('singbox.remaining')}</th><th>${t('sub.ends')}</th><th></th></tr></thead>
      <tbody>
        ${users.map(
          (u) => html`<tr>
            <td>${u.name}</td>
            <td>${u.remaining_bytes === null ? t('singbox.unlimited') : formatBytes(u.remaining_bytes)}</td>
            <td>${u.expires_at ? formatTime(u.expires_at) : '—'}</td>
            <td>${u.removed_locally ? html`<span class="badge error" title=${u.removed_reason ?? ''}>${t('singbox.removedLocally')}</span>` : nothing}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>`;
  }

  override render() {
    return html`
      <div class="row"><button class="secondary" @click=${() => this.refresh()}>${t('singbox.refresh')}</button></div>
      ${this.status.status()}
      ${this.status.value ? this.statusList(this.status.value) : nothing}
      <h4>${t('singbox.usersOnNode')}</h4>
      ${this.users.status()}
      ${this.users.value ? this.usersTable(this.users.value) : nothing}
    `;
  }
}

customElements.define('bf-singbox-panel', BfSingboxPanel);
