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
//   unreachable  the `inbound-check` job (hub/jobs/inbound-check.ts) found the node unhealthy:
//           nodes.inbound_unhealthy_since is set (value: seconds since then; threshold 0). The
//           hysteresis is that job's (inbound_unhealthy_after / inbound_healthy_after checks in a
//           row), so the alert fires once when the node turns unhealthy and resolves when it is
//           healthy again. Evaluated while that job runs (inbound_check_interval_s > 0).
//   plugin_unhealthy  the node's agent described plugins as unhealthy (node_status.unhealthy, stored by
//           the `node-status` job, hub/node-status.ts): value the number of them, threshold 0; it
//           fires when one turns unhealthy (a ledger that cannot be written, sing-box in a crash loop)
//           and resolves when the agent describes them all healthy again. The notification names
//           each plugin with the agent's reason. A node that does not answer keeps its last state.
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
// again at the next tick, up to alert_max_attempts, then marked failed (hub/alerts/delivery.ts). Ticks run under the jobs'
// fleet-wide lease, so with several hubs each alert is raised and sent once.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { Sample, SampleKind } from '../../plugins/sysmetrics/contract.js';
import type { HubConfig } from '../config.js';
import { Alert, AlertNotification, Node, type AlertChannel, type AlertRule } from '../db/models.js';
import { configuredChannels, type AlertMessage, type ChannelSender } from '../alerts/channels.js';
import { deliverRows, Undeliverable } from '../alerts/delivery.js';
import { chunks } from './common.js';

interface SampleRow {
  node_id: string;
  time: number | string;
  kind: string;
  values: string;
}

/** Samples read per node and kind in one tick; the rest are read at the next. */
const BATCH = 500;
const cursorKey = (nodeId: string, kind: string) => `${nodeId}\u0000${kind}`;

export const percent = (used: number | null | undefined, total: number | null | undefined) =>
  typeof used === 'number' && typeof total === 'number' && total > 0 ? Math.round((used / total) * 1000) / 10 : null;

/** The percent rules a sample of each kind feeds, and how each reads its value (a new kind in the contract must be named here). */
const SAMPLE_RULES: Record<SampleKind, [AlertRule, (v: Sample['values']) => number | null][]> = {
  'cpu-memory': [
    ['cpu', (v) => (typeof v.cpu_percent === 'number' ? v.cpu_percent : null)],
    ['memory', (v) => percent(v.memory_used_bytes, v.memory_total_bytes)],
  ],
  'disk-network': [['disk', (v) => percent(v.disk_used_bytes, v.disk_total_bytes)]],
};

const UNIT: Record<AlertRule, string> = { cpu: '%', memory: '%', disk: '%', offline: ' s', ledger_backlog: ' entries', unreachable: ' s', plugin_unhealthy: ' plugins' };
const LABEL: Record<AlertRule, string> = {
  cpu: 'CPU',
  memory: 'memory',
  disk: 'disk',
  offline: 'offline for',
  ledger_backlog: 'ledger backlog',
  unreachable: 'inbounds unreachable from the hub for',
  plugin_unhealthy: 'unhealthy plugins',
};
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
    // The whole fleet's cursors, new samples and ledger positions in a few queries (not a few per
    // node), and the cursors written back in one; an open alert's last value is written once.
    const cursors = new Map<string, number>();
    for (const c of await db('alert_cursors').select('node_id', 'kind', 'time')) cursors.set(cursorKey(c.node_id, c.kind), Number(c.time));
    const samples = await this.newSamples(nodes, cursors);
    const lives = new Map<string, { ledger_at: number | string; ledger_backlog_entries: number | string }>();
    for (const live of await db('node_live').whereNotNull('ledger_at').whereNotNull('ledger_backlog_entries').select('node_id', 'ledger_at', 'ledger_backlog_entries')) {
      lives.set(live.node_id, live);
    }
    const unhealthy = new Map<string, string[]>();
    for (const row of await db('node_status').whereNotNull('unhealthy').select('node_id', 'unhealthy')) unhealthy.set(row.node_id, JSON.parse(row.unhealthy));
    const moved = new Map<string, { node_id: string; kind: string; time: number }>();
    const touched = new Set<Alert>();
    const evaluate = (nodeId: string, rule: AlertRule, value: number, threshold: number, clearBelow: number | null, time: number) =>
      this.evaluate({ firing, result, touched }, nodeId, rule, value, threshold, clearBelow, time);

    // Written even when a later node's evaluation fails: a sample that fired or resolved an alert
    // must not be evaluated again at the next tick.
    try {
      for (const node of nodes) {
        for (const kind of Object.keys(SAMPLE_RULES) as SampleKind[]) {
          const rows = samples.get(cursorKey(node.id, kind)) ?? [];
          if (rows.length === 0) continue;
          for (const row of rows) {
            const values = JSON.parse(row.values) as Sample['values'];
            for (const [rule, read] of SAMPLE_RULES[kind]) {
              const threshold = this.thresholds[rule as keyof typeof this.thresholds];
              const value = read(values);
              if (!threshold || value === null) continue;
              await evaluate(node.id, rule, value, threshold, threshold - this.deps.config.alert_hysteresis_percent, Number(row.time));
            }
          }
          result.samples += rows.length;
          moved.set(cursorKey(node.id, kind), { node_id: node.id, kind, time: Number(rows[rows.length - 1]!.time) });
        }

        const offlineAfter = this.deps.config.alert_offline_after_s;
        if (offlineAfter > 0) {
          const now = this.deps.now();
          const since = Number(node.last_seen_at ?? node.created_at);
          const offlineFor = node.health === 'offline' ? Math.max(0, Math.round((now - since) / 1000)) : 0;
          // Hysteresis does not apply: the alert holds while the node stays offline.
          await evaluate(node.id, 'offline', offlineFor, offlineAfter, node.health === 'offline' ? null : Infinity, now);
        }

        if (this.deps.config.inbound_check_interval_s > 0) {
          const now = this.deps.now();
          const since = node.inbound_unhealthy_since === null ? null : Number(node.inbound_unhealthy_since);
          const unhealthyFor = since === null ? 0 : Math.max(1, Math.ceil((now - since) / 1000));
          await evaluate(node.id, 'unreachable', unhealthyFor, 0, since === null ? Infinity : null, now);
        }

        const plugins = unhealthy.get(node.id);
        if (plugins) await evaluate(node.id, 'plugin_unhealthy', plugins.length, 0, plugins.length === 0 ? Infinity : null, this.deps.now());

        const backlogAbove = this.deps.config.alert_ledger_backlog_entries;
        const live = lives.get(node.id);
        if (backlogAbove > 0 && live) {
          const at = Number(live.ledger_at);
          const cursor = cursors.get(cursorKey(node.id, LEDGER_CURSOR));
          if (cursor === undefined || cursor < at) {
            const clearBelow = backlogAbove - this.deps.config.alert_ledger_backlog_hysteresis_entries;
            await evaluate(node.id, 'ledger_backlog', Number(live.ledger_backlog_entries), backlogAbove, clearBelow, at);
            moved.set(cursorKey(node.id, LEDGER_CURSOR), { node_id: node.id, kind: LEDGER_CURSOR, time: at });
          }
        }
      }
    } finally {
      for (const alert of touched) await Alert.query(db).findById(alert.id).patch({ last_value: alert.last_value, below_since: alert.below_since });
      for (const chunk of chunks([...moved.values()], 500)) await db('alert_cursors').insert(chunk).onConflict(['node_id', 'kind']).merge(['time']);
    }

    const delivered = await this.deliver();
    result.sent = delivered.sent;
    result.failed = delivered.failed;
    return result;
  }

  /**
   * The samples to evaluate, by node and kind in time order: up to BATCH after its cursor, or its
   * newest only while it has none. One query for many nodes (a UNION of one range read each, since
   * a join on the cursors would read each node's whole day instead of its range).
   */
  private async newSamples(nodes: readonly Node[], cursors: ReadonlyMap<string, number>): Promise<Map<string, SampleRow[]>> {
    const { db } = this.deps;
    const reads = nodes.flatMap((node) =>
      (Object.keys(SAMPLE_RULES) as SampleKind[]).map((kind, i) => {
        const cursor = cursors.get(cursorKey(node.id, kind));
        const query = db('node_metrics').where({ node_id: node.id, kind, resolution: 'raw' }).select('node_id', 'time', 'kind', 'values');
        const read = cursor === undefined ? query.orderBy('time', 'desc').limit(1) : query.andWhere('time', '>', cursor).orderBy('time').limit(BATCH);
        return db.select('*').from(read.as(`r${i}`));
      }),
    );
    const byKey = new Map<string, SampleRow[]>();
    // SQLite allows 500 terms in one compound SELECT.
    for (const [first, ...rest] of chunks(reads, 200)) {
      for (const row of (await (rest.length > 0 ? first!.unionAll(rest) : first!)) as SampleRow[]) {
        const key = cursorKey(row.node_id, row.kind);
        const list = byKey.get(key);
        if (list) list.push(row);
        else byKey.set(key, [row]);
      }
    }
    return byKey;
  }

  /**
   * One value of one rule on one node at `time`. `clearBelow` null: never resolves on this
   * value; Infinity: resolves on it.
   */
  private async evaluate(
    { firing, result, touched }: { firing: Map<string, Alert>; result: AlertTickResult; touched: Set<Alert> },
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
          clear_below: rule === 'offline' || rule === 'unreachable' || rule === 'plugin_unhealthy' ? null : clearBelow,
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
      touched.delete(open);
      result.resolved += 1;
      this.deps.logger.info('alert resolved', { node_id: nodeId, rule, value, threshold });
      return;
    }
    open.last_value = value;
    open.below_since = belowSince;
    touched.add(open);
  }

  private async queue(trx: Knex.Transaction, alertId: number, event: 'fired' | 'resolved'): Promise<void> {
    const rows = [...this.channels.keys()].map((channel) => ({ alert_id: alertId, event, channel, status: 'pending', attempts: 0, created_at: this.deps.now() }));
    if (rows.length > 0) await trx('alert_notifications').insert(rows);
  }

  /** Sends every pending notification once; a failure stays pending until its last attempt. */
  async deliver(): Promise<{ sent: number; failed: number }> {
    const { db, config } = this.deps;
    const pending = await AlertNotification.query(db).where({ status: 'pending' }).orderBy('id').limit(200);
    const alerts = new Map<number, Alert | undefined>();
    return deliverRows(pending, {
      db,
      table: 'alert_notifications',
      maxAttempts: config.alert_max_attempts,
      now: this.deps.now,
      send: async (n) => {
        if (!alerts.has(n.alert_id)) alerts.set(n.alert_id, await Alert.query(db).findById(n.alert_id));
        const alert = alerts.get(n.alert_id);
        if (!alert) throw new Undeliverable('the alert was deleted');
        const send = this.channels.get(n.channel);
        if (!send) throw new Undeliverable(`the ${n.channel} channel is no longer configured`);
        const node = await Node.query(db).findById(alert.node_id);
        const status = alert.rule === 'plugin_unhealthy' ? await db('node_status').where({ node_id: alert.node_id }).first('unhealthy') : undefined;
        await send(this.message(alert, n.event, node?.name ?? alert.node_id, status?.unhealthy ? (JSON.parse(status.unhealthy) as string[]) : []));
      },
      failed: (n, attempt, final, error) =>
        this.deps.logger.warn('alert notification failed', { alert_id: n.alert_id, channel: n.channel, attempt, final, error }),
    });
  }

  /** `reasons`: what the node says is wrong now (plugin_unhealthy), one line each. */
  private message(alert: Alert, event: 'fired' | 'resolved', nodeName: string, reasons: string[]): AlertMessage {
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
    lines.push(...reasons);
    const { notifications: _n, ...rest } = alert.toPublic();
    return { event, subject, text: lines.join('\n'), alert: rest };
  }
}
