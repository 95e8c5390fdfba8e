// The `alerts` job: alert rules evaluated by the hub (registered with the scheduler in hub/jobs/scheduler.ts).
//
// Each tick reads the samples stored since the last tick (node_metrics, through a per node and
// kind cursor in alert_cursors: evaluation never sits in the path that stores samples, so a slow
// or failing channel cannot hold storage up), evaluates the rules on each sample in time order,
// then delivers the notifications still pending. A node's first evaluation looks at its newest
// sample of each kind only, not at the whole stored day.
//
// Rules (thresholds in the hub settings, hub/config.ts):
//   cpu     cpu_percent                                   > alert_cpu_percent (80)
//   memory  memory_used_bytes / memory_total_bytes × 100  > alert_memory_percent (70)
//   disk    disk_used_bytes / disk_total_bytes × 100      > alert_disk_percent (90)
//   offline nodes.health offline for > alert_offline_after_s (300) since last_seen_at
//   ledger_backlog  node_live.ledger_backlog_entries (head_seq − acked_seq of clash-stats' ledger,
//           read by the `live` job, hub/jobs/live.ts) > alert_ledger_backlog_entries (10000 entries)
// A rule fires once when its value crosses the threshold (one `firing` row, one notification per
// channel); more samples above it change nothing but `last_value`. It resolves when the value is
// below threshold − alert_hysteresis_percent and has stayed there for alert_resolve_after_s (0: at
// the first such sample); then the row becomes `resolved` and one resolution goes to each channel.
// The offline alert resolves when the node is no longer offline. The ledger_backlog rule counts in
// entries, not percent: it resolves below alert_ledger_backlog_entries −
// alert_ledger_backlog_hysteresis_entries (1000), held for alert_resolve_after_s like the others;
// each ledger position the live job stored is evaluated once (cursor kind `ledger`, keyed on the
// hub time the position was read), so a node whose position is no longer read keeps its state.
//
// Notifications are rows (alert_notifications): a failed send is recorded (last_error) and tried
// again at the next tick, up to alert_max_attempts, then marked failed. Ticks run under the jobs'
// fleet-wide lease, so with several hubs each alert is raised and sent once.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { Sample, SampleKind } from '../../plugins/sysmetrics/contract.js';
import type { HubConfig } from '../config.js';
import { Alert, AlertNotification, Node, type AlertChannel, type AlertRule } from '../db/models.js';
import { configuredChannels, type AlertMessage, type ChannelSender } from '../alerts/channels.js';

interface SampleRow {
  node_id: string;
  time: number | string;
  kind: string;
  values: string;
}

/** Samples read per node and kind in one tick; the rest are read at the next. */
const BATCH = 500;

const percent = (used: number | null | undefined, total: number | null | undefined) =>
  typeof used === 'number' && typeof total === 'number' && total > 0 ? Math.round((used / total) * 1000) / 10 : null;

/** The percent rules a sample of each kind feeds, and how each reads its value (a new kind in the contract must be named here). */
const SAMPLE_RULES: Record<SampleKind, [AlertRule, (v: Sample['values']) => number | null][]> = {
  'cpu-memory': [
    ['cpu', (v) => (typeof v.cpu_percent === 'number' ? v.cpu_percent : null)],
    ['memory', (v) => percent(v.memory_used_bytes, v.memory_total_bytes)],
  ],
  'disk-network': [['disk', (v) => percent(v.disk_used_bytes, v.disk_total_bytes)]],
};

const UNIT: Record<AlertRule, string> = { cpu: '%', memory: '%', disk: '%', offline: ' s', ledger_backlog: ' entries' };
const LABEL: Record<AlertRule, string> = { cpu: 'CPU', memory: 'memory', disk: 'disk', offline: 'offline for', ledger_backlog: 'ledger backlog' };
/** alert_cursors kind for the ledger positions in node_live. */
const LEDGER_CURSOR = 'ledger';

export interface AlertTickResult {
  samples: number;
  fired: number;
  resolved: number;
  /** Notifications delivered in this tick. */
  sent: number;
  /** Sends that failed in this tick (retried at the next tick until alert_max_attempts). */
  failed: number;
}

export interface AlertEngineDeps {
  db: Knex;
  config: HubConfig;
  now(): number;
  logger: AppLogger;
  /** The channels to send to; from the settings unless a test says. */
  channels?: Map<AlertChannel, ChannelSender>;
}

export class AlertEngine {
  readonly channels: Map<AlertChannel, ChannelSender>;
  private readonly thresholds: Record<'cpu' | 'memory' | 'disk', number>;

  constructor(private readonly deps: AlertEngineDeps) {
    this.channels = deps.channels ?? configuredChannels(deps.config);
    const c = deps.config;
    this.thresholds = { cpu: c.alert_cpu_percent, memory: c.alert_memory_percent, disk: c.alert_disk_percent };
  }

  async tick(): Promise<AlertTickResult> {
    const result: AlertTickResult = { samples: 0, fired: 0, resolved: 0, sent: 0, failed: 0 };
    const { db } = this.deps;
    const firing = new Map<string, Alert>();
    for (const alert of await Alert.query(db).where({ state: 'firing' })) firing.set(`${alert.node_id}\u0000${alert.rule}`, alert);
    const nodes = await Node.query(db).where('enabled', true).orderBy('id');

    for (const node of nodes) {
      for (const kind of Object.keys(SAMPLE_RULES) as SampleKind[]) {
        const cursor = await db('alert_cursors').where({ node_id: node.id, kind }).first();
        const query = db('node_metrics').where({ node_id: node.id, kind, resolution: 'raw' });
        const rows: SampleRow[] = cursor
          ? await query.andWhere('time', '>', Number(cursor.time)).orderBy('time').limit(BATCH)
          : await query.orderBy('time', 'desc').limit(1);
        if (rows.length === 0) continue;
        for (const row of rows) {
          const values = JSON.parse(row.values) as Sample['values'];
          for (const [rule, read] of SAMPLE_RULES[kind]) {
            const threshold = this.thresholds[rule as keyof typeof this.thresholds];
            const value = read(values);
            if (!threshold || value === null) continue;
            await this.evaluate(firing, result, node.id, rule, value, threshold, threshold - this.deps.config.alert_hysteresis_percent, Number(row.time));
          }
        }
        result.samples += rows.length;
        const last = Number(rows[rows.length - 1]!.time);
        if (cursor) await db('alert_cursors').where({ node_id: node.id, kind }).update({ time: last });
        else await db('alert_cursors').insert({ node_id: node.id, kind, time: last });
      }

      const offlineAfter = this.deps.config.alert_offline_after_s;
      if (offlineAfter > 0) {
        const now = this.deps.now();
        const since = Number(node.last_seen_at ?? node.created_at);
        const offlineFor = node.health === 'offline' ? Math.max(0, Math.round((now - since) / 1000)) : 0;
        // Hysteresis does not apply: the alert holds while the node stays offline.
        await this.evaluate(firing, result, node.id, 'offline', offlineFor, offlineAfter, node.health === 'offline' ? null : Infinity, now);
      }

      const backlogAbove = this.deps.config.alert_ledger_backlog_entries;
      if (backlogAbove > 0) {
        const live = await db('node_live').where({ node_id: node.id }).first();
        if (live && live.ledger_at !== null && live.ledger_backlog_entries !== null) {
          const at = Number(live.ledger_at);
          const cursor = await db('alert_cursors').where({ node_id: node.id, kind: LEDGER_CURSOR }).first();
          if (!cursor || Number(cursor.time) < at) {
            const clearBelow = backlogAbove - this.deps.config.alert_ledger_backlog_hysteresis_entries;
            await this.evaluate(firing, result, node.id, 'ledger_backlog', Number(live.ledger_backlog_entries), backlogAbove, clearBelow, at);
            if (cursor) await db('alert_cursors').where({ node_id: node.id, kind: LEDGER_CURSOR }).update({ time: at });
            else await db('alert_cursors').insert({ node_id: node.id, kind: LEDGER_CURSOR, time: at });
          }
        }
      }
    }

    const delivered = await this.deliver();
    result.sent = delivered.sent;
    result.failed = delivered.failed;
    return result;
  }

  /**
   * One value of one rule on one node at `time`. `clearBelow` null: never resolves on this
   * value; Infinity: resolves on it.
   */
  private async evaluate(
    firing: Map<string, Alert>,
    result: AlertTickResult,
    nodeId: string,
    rule: AlertRule,
    value: number,
    threshold: number,
    clearBelow: number | null,
    time: number,
  ): Promise<void> {
    const { db } = this.deps;
    const key = `${nodeId}\u0000${rule}`;
    const open = firing.get(key);
    if (!open) {
      if (value <= threshold) return;
      await db.transaction(async (trx) => {
        const alert = await Alert.query(trx).insertAndFetch({
          node_id: nodeId,
          rule,
          state: 'firing',
          value,
          last_value: value,
          threshold,
          clear_below: rule === 'offline' ? null : clearBelow,
          fired_at: time,
          resolved_at: null,
          resolved_value: null,
          below_since: null,
        });
        await this.queue(trx, alert.id, 'fired');
        firing.set(key, alert);
      });
      result.fired += 1;
      this.deps.logger.warn('alert fired', { node_id: nodeId, rule, value, threshold });
      return;
    }
    const below = clearBelow !== null && value < clearBelow;
    const belowSince = below ? (open.below_since === null ? time : Number(open.below_since)) : null;
    if (below && time - belowSince! >= this.deps.config.alert_resolve_after_s * 1000) {
      await db.transaction(async (trx) => {
        await Alert.query(trx).findById(open.id).patch({ state: 'resolved', resolved_at: time, resolved_value: value, last_value: value, below_since: belowSince });
        await this.queue(trx, open.id, 'resolved');
      });
      firing.delete(key);
      result.resolved += 1;
      this.deps.logger.info('alert resolved', { node_id: nodeId, rule, value, threshold });
      return;
    }
    await Alert.query(db).findById(open.id).patch({ last_value: value, below_since: belowSince });
    open.last_value = value;
    open.below_since = belowSince;
  }

  private async queue(trx: Knex.Transaction, alertId: number, event: 'fired' | 'resolved'): Promise<void> {
    const rows = [...this.channels.keys()].map((channel) => ({ alert_id: alertId, event, channel, status: 'pending', attempts: 0, created_at: this.deps.now() }));
    if (rows.length > 0) await trx('alert_notifications').insert(rows);
  }

  /** Sends every pending notification once; a failure stays pending until its last attempt. */
  async deliver(): Promise<{ sent: number; failed: number }> {
    const { db, config } = this.deps;
    const pending = await AlertNotification.query(db).where({ status: 'pending' }).orderBy('id').limit(200);
    let sent = 0;
    let failed = 0;
    const alerts = new Map<number, Alert>();
    // Channels in parallel; within one, in order (a firing goes out before its resolution).
    const byChannel = new Map<AlertChannel, AlertNotification[]>();
    for (const n of pending) byChannel.set(n.channel, [...(byChannel.get(n.channel) ?? []), n]);
    const each = async (n: AlertNotification) => {
      let alert = alerts.get(n.alert_id);
      if (!alert) {
        alert = await Alert.query(db).findById(n.alert_id);
        if (alert) alerts.set(n.alert_id, alert);
      }
      const send = this.channels.get(n.channel);
      const attempts = n.attempts + 1;
      let error: string | null = null;
      if (!alert) error = 'the alert was deleted';
      else if (!send) error = `the ${n.channel} channel is no longer configured`;
      else {
        const node = await Node.query(db).findById(alert.node_id);
        try {
          await send(this.message(alert, n.event, node?.name ?? alert.node_id));
        } catch (e) {
          // fetch says only "fetch failed"; the cause names the refused connection or the timeout.
          const cause = (e as Error & { cause?: Error }).cause;
          error = `${(e as Error).message || String(e)}${cause?.message ? ` (${cause.message})` : ''}`;
        }
      }
      const final = error === null ? 'sent' : !alert || !send || attempts >= config.alert_max_attempts ? 'failed' : 'pending';
      await AlertNotification.query(db)
        .findById(n.id)
        .patch({ status: final, attempts, last_error: error?.slice(0, 1000) ?? null, sent_at: error === null ? this.deps.now() : null });
      if (final === 'sent') sent += 1;
      if (error !== null) {
        failed += 1;
        this.deps.logger.warn('alert notification failed', { alert_id: n.alert_id, channel: n.channel, attempt: attempts, final: final === 'failed', error });
      }
    };
    await Promise.all(
      [...byChannel.values()].map(async (list) => {
        for (const n of list) await each(n);
      }),
    );
    return { sent, failed };
  }

  private message(alert: Alert, event: 'fired' | 'resolved', nodeName: string): AlertMessage {
    const unit = UNIT[alert.rule];
    const fmt = (v: number | null) => (v === null ? '?' : `${Math.round(Number(v) * 10) / 10}${unit}`);
    const at = (ms: number | null) => (ms === null ? '?' : new Date(Number(ms)).toISOString());
    const where = `node ${nodeName}${nodeName === alert.node_id ? '' : ` (${alert.node_id})`}`;
    const subject =
      event === 'fired'
        ? `[boxfleet] FIRING: ${where} ${LABEL[alert.rule]} ${fmt(alert.value)} > ${fmt(alert.threshold)}`
        : `[boxfleet] RESOLVED: ${where} ${LABEL[alert.rule]} ${fmt(alert.resolved_value)}`;
    const lines = [
      `rule: ${alert.rule} (threshold ${fmt(alert.threshold)}${alert.clear_below === null ? '' : `, resolves below ${fmt(alert.clear_below)}`})`,
      `fired at ${at(alert.fired_at)} with ${fmt(alert.value)}`,
    ];
    if (event === 'resolved') lines.push(`resolved at ${at(alert.resolved_at)} with ${fmt(alert.resolved_value)}`);
    const { notifications: _n, ...rest } = alert.toPublic();
    return { event, subject, text: lines.join('\n'), alert: rest };
  }
}
