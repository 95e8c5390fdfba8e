// One objection model per table; only the thin part of objection (models over knex) is used.
// Times are epoch milliseconds; the API shows them as ISO strings.
import { createHash } from 'node:crypto';
import { Model, type QueryBuilder } from 'objection';
import type { Role } from '../../agent-core/common/roles.js';
import type { AgentDescription } from '../../agent-core/common/description.js';
import type { Rule } from '../../plugins/firewall/contract.js';
import type { Sample } from '../../plugins/sysmetrics/contract.js';
import type { ResetPolicy } from '../reset-policies.js';
import type { InboundOverride } from '../subscriptions/entries.js';

/** A ms column as the API shows it (MySQL may give big integers back as strings); null stays null. */
export function iso(ms: number | string): string;
export function iso(ms: number | string | null | undefined): string | null;
export function iso(ms: number | string | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString();
}

/** Sets created_at/updated_at (wall-clock time) unless given. */
class Timestamped extends Model {
  created_at!: number;
  updated_at!: number;

  override $beforeInsert() {
    const now = Date.now();
    this.created_at ??= now;
    this.updated_at ??= now;
  }

  override $beforeUpdate() {
    this.updated_at = Date.now();
  }
}


export class Admin extends Timestamped {
  static override tableName = 'admins';
  id!: number;
  username!: string;
  password_hash!: string;
  role!: Role;
  disabled!: boolean;
  last_login_at!: number | null;
  /** In every session's JWT; raised to end all of them (sign-out, password, role, disabled). */
  token_version!: number;
  /** Brought over from another panel: no API use until the admin sets a new password (POST /api/v1/auth/password). */
  must_change_password!: boolean;

  toPublic() {
    return {
      id: this.id,
      username: this.username,
      role: this.role,
      disabled: Boolean(this.disabled),
      created_at: iso(this.created_at)!,
      last_login_at: iso(this.last_login_at),
    };
  }
}

export class User extends Timestamped {
  static override tableName = 'users';
  id!: number;
  name!: string;
  note!: string;
  status!: 'active' | 'disabled';
  uuid!: string;
  password!: string;
  ss_key!: string;
  sub_token!: string;

  /** Secrets (credentials, token) are shown only where a route says so. */
  toPublic() {
    return { id: this.id, name: this.name, note: this.note, status: this.status, created_at: iso(this.created_at)! };
  }
}

export class Plan extends Timestamped {
  static override tableName = 'plans';
  static override jsonAttributes = ['node_tags'];
  id!: number;
  name!: string;
  traffic_limit_bytes!: number;
  duration_days!: number;
  price!: number | string;
  is_enabled!: boolean;
  node_tags!: string[];
  reset_policy!: ResetPolicy;
  /** Day of the month a monthly plan resets on (1–28); null for the other policies. */
  reset_day!: number | null;

  toPublic() {
    return {
      id: this.id,
      name: this.name,
      traffic_limit_bytes: Number(this.traffic_limit_bytes),
      duration_days: this.duration_days,
      price: Number(this.price),
      is_enabled: Boolean(this.is_enabled),
      node_tags: this.node_tags,
      reset_policy: this.reset_policy,
      reset_day: this.reset_day === null ? null : Number(this.reset_day),
      created_at: iso(this.created_at)!,
    };
  }
}

export type SubscriptionStatus = 'active' | 'expired' | 'suspended' | 'cancelled';

export class Subscription extends Timestamped {
  static override tableName = 'subscriptions';
  id!: number;
  user_id!: number;
  plan_id!: number;
  start_time!: number;
  end_time!: number;
  traffic_used_bytes!: number;
  traffic_total_bytes!: number;
  status!: SubscriptionStatus;
  suspended_reason!: 'quota' | 'admin' | null;
  last_reset_at!: number;

  toPublic() {
    return {
      id: this.id,
      user_id: this.user_id,
      plan_id: this.plan_id,
      start_time: iso(this.start_time)!,
      end_time: iso(this.end_time)!,
      traffic_used_bytes: Number(this.traffic_used_bytes),
      traffic_total_bytes: Number(this.traffic_total_bytes),
      status: this.status,
      suspended_reason: this.suspended_reason,
    };
  }
}

export class Node extends Timestamped {
  static override tableName = 'nodes';
  static override jsonAttributes = ['tags', 'inbound_overrides'];
  id!: string;
  name!: string;
  /** The agent's gRPC address, which the hub dials. */
  address!: string;
  /** The host end users' clients dial; null: the host of `address`. */
  public_host!: string | null;
  /** By inbound tag: the host and/or port clients use for that inbound instead. */
  inbound_overrides!: Record<string, InboundOverride> | null;
  insecure!: boolean;
  fingerprint!: string | null;
  certificate!: string | null;
  token!: string;
  tags!: string[];
  multiplier!: number;
  enabled!: boolean;
  desired_revision!: number;
  applied_revision!: number;
  desired_config_version!: number | null;
  applied_config_version!: number | null;
  ledger_seq!: number;
  /** The clash-stats ledger ledger_seq counts in; null until a drain named it. */
  ledger_id!: string | null;
  last_seen_at!: number | null;
  health!: 'unknown' | 'online' | 'offline';
  /** Since when `health` is what it is (hub clock); null: never contacted, or before this was kept. */
  health_since!: number | null;
  last_error!: string | null;
  /** The hash of the base config the node said it serves (singbox-config status); null until asked. */
  served_config_hash!: string | null;
  served_checked_at!: number | null;
  /** Since when the node serves a config other than applied_config_version; null: no drift. */
  config_drift_since!: number | null;
  /** Inbound checks from the hub in a row that failed / passed (hub/jobs/inbound-check.ts). */
  inbound_failed_checks!: number;
  inbound_good_checks!: number;
  /** Since when users cannot reach the node's inbounds, as the hub sees it; null: healthy. */
  inbound_unhealthy_since!: number | null;
  inbound_checked_at!: number | null;
  /** The hash of applied_config_version, where a query joined it (`withAppliedHash`). */
  applied_config_hash?: string | null;

  static override modifiers = {
    withAppliedHash(query: QueryBuilder<Node>) {
      query.select('nodes.*', 'config_versions.hash as applied_config_hash').leftJoin('config_versions', 'config_versions.id', 'nodes.applied_config_version');
    },
  };

  /** What the API shows: never the token or the certificate body. */
  toPublic() {
    return {
      id: this.id,
      name: this.name,
      address: this.address,
      public_host: this.public_host ?? null,
      inbound_overrides: this.inbound_overrides ?? {},
      insecure: Boolean(this.insecure),
      fingerprint: this.fingerprint,
      tags: this.tags,
      multiplier: Number(this.multiplier),
      enabled: Boolean(this.enabled),
      desired_revision: this.desired_revision,
      applied_revision: this.applied_revision,
      desired_config_version: this.desired_config_version,
      applied_config_version: this.applied_config_version,
      ledger_seq: Number(this.ledger_seq),
      ledger_id: this.ledger_id,
      last_seen_at: iso(this.last_seen_at),
      health: this.health,
      last_error: this.last_error,
      config_drift:
        this.config_drift_since === null || this.config_drift_since === undefined
          ? null
          : { served_hash: this.served_config_hash, expected_hash: this.applied_config_hash ?? null, since: iso(this.config_drift_since)! },
      inbound_health: {
        // unknown: never checked (no served config yet, or the check is off).
        state: this.inbound_unhealthy_since ? 'unhealthy' : this.inbound_checked_at ? 'healthy' : 'unknown',
        since: iso(this.inbound_unhealthy_since),
        failed_checks: Number(this.inbound_failed_checks ?? 0),
        good_checks: Number(this.inbound_good_checks ?? 0),
        checked_at: iso(this.inbound_checked_at),
      },
      created_at: iso(this.created_at)!,
    };
  }
}

export type ConfigEventAction = 'apply' | 'rollback' | 'drift-detected';

/** One entry of a node's config history: a version the hub pushed (apply, rollback), or a drift it found. */
export class NodeConfigEvent extends Model {
  static override tableName = 'node_config_history';
  id!: number;
  node_id!: string;
  /** The version pushed; for a drift, the version whose hash the node serves, if the hub has one. */
  version_id!: number | null;
  hash!: string | null;
  action!: ConfigEventAction;
  /** The admin whose request it was, or the job's name. */
  admin!: string;
  result!: 'ok' | 'error';
  error!: string | null;
  time!: number;

  toPublic() {
    return {
      version: this.version_id,
      hash: this.hash,
      action: this.action,
      time: iso(this.time)!,
      by: this.admin,
      applied: this.action !== 'drift-detected' && this.result === 'ok',
      error: this.error,
    };
  }
}

export class UsageHourly extends Model {
  static override tableName = 'usage_hourly';
  static override idColumn = ['node_id', 'user_id', 'hour'];
  node_id!: string;
  user_id!: number;
  hour!: number;
  upload_bytes!: number;
  download_bytes!: number;
  billed_bytes!: number;
}

export class ConfigVersion extends Model {
  static override tableName = 'config_versions';
  id!: number;
  hash!: string;
  object_key!: string;
  size!: number;
  comment!: string;
  author_id!: number | null;
  author!: string;
  created_at!: number;

  toPublic() {
    return {
      id: this.id,
      hash: this.hash,
      size: this.size,
      comment: this.comment,
      author: this.author,
      created_at: iso(this.created_at)!,
    };
  }
}

export class AuditEntry extends Model {
  static override tableName = 'audit_log';
  static override jsonAttributes = ['input'];
  id!: number;
  time!: number;
  admin_id!: number | null;
  admin!: string;
  action!: string;
  target!: string;
  input!: unknown;
  result!: 'ok' | 'error';
  status_code!: number;
  error!: string | null;
  duration_ms!: number;
  ip!: string;
  trace_id!: string | null;

  toPublic() {
    return {
      id: Number(this.id),
      time: iso(this.time)!,
      admin: this.admin,
      action: this.action,
      target: this.target,
      input: this.input,
      result: this.result,
      status_code: this.status_code,
      error: this.error,
      duration_ms: this.duration_ms,
      ip: this.ip,
      trace_id: this.trace_id,
    };
  }
}

/** A sysmetrics sample of one node: `raw` as received, or an `hour` average (time = start of the hour). */
export class NodeMetric extends Model {
  static override tableName = 'node_metrics';
  static override idColumn = ['node_id', 'resolution', 'kind', 'time'];
  static override jsonAttributes = ['values'];
  node_id!: string;
  time!: number;
  kind!: Sample['kind'];
  resolution!: 'raw' | 'hour';
  values!: Sample['values'];

  toPublic() {
    return { time: iso(this.time)!, kind: this.kind, resolution: this.resolution, values: this.values };
  }
}

export type AlertRule = 'cpu' | 'memory' | 'disk' | 'offline' | 'ledger_backlog' | 'unreachable' | 'plugin_unhealthy';
export type AlertChannel = 'telegram' | 'email' | 'webhook';

/** One notification of an alert's firing or resolution on one channel (hub/jobs/alerts.ts, hub/alerts/channels.ts). */
export class AlertNotification extends Model {
  static override tableName = 'alert_notifications';
  id!: number;
  alert_id!: number;
  event!: 'fired' | 'resolved';
  channel!: AlertChannel;
  status!: 'pending' | 'sent' | 'failed';
  attempts!: number;
  last_error!: string | null;
  created_at!: number;
  sent_at!: number | null;

  toPublic() {
    return {
      event: this.event,
      channel: this.channel,
      status: this.status,
      attempts: this.attempts,
      last_error: this.last_error,
      created_at: iso(this.created_at)!,
      sent_at: iso(this.sent_at),
    };
  }
}

/** A rule that fired on a node: `firing` until the value clears, then `resolved` in place. */
export class Alert extends Model {
  static override tableName = 'alerts';
  static override get relationMappings() {
    return {
      notifications: { relation: Model.HasManyRelation, modelClass: AlertNotification, join: { from: 'alerts.id', to: 'alert_notifications.alert_id' } },
    };
  }
  id!: number;
  node_id!: string;
  rule!: AlertRule;
  state!: 'firing' | 'resolved';
  value!: number;
  last_value!: number;
  threshold!: number;
  clear_below!: number | null;
  fired_at!: number;
  resolved_at!: number | null;
  resolved_value!: number | null;
  below_since!: number | null;
  notifications?: AlertNotification[];

  toPublic() {
    return {
      id: this.id,
      node_id: this.node_id,
      rule: this.rule,
      state: this.state,
      value: Number(this.value),
      last_value: Number(this.last_value),
      threshold: Number(this.threshold),
      clear_below: this.clear_below === null ? null : Number(this.clear_below),
      fired_at: iso(this.fired_at)!,
      resolved_at: iso(this.resolved_at),
      resolved_value: this.resolved_value === null ? null : Number(this.resolved_value),
      notifications: (this.notifications ?? []).sort((a, b) => a.id - b.id).map((n) => n.toPublic()),
    };
  }
}

/** What a node's agent last described, as the `node-status` job stored it (hub/jobs/node-status.ts). */
export class NodeStatus extends Model {
  static override tableName = 'node_status';
  static override idColumn = 'node_id';
  static override jsonAttributes = ['agent'];
  node_id!: string;
  agent!: AgentDescription | null;
  described_at!: number | null;
  error!: string | null;
  checked_at!: number;
}

/** The latest Clash API summary, ledger position and singbox-config status of a node, from the hub's `live` job (hub/jobs/live.ts). */
export class NodeLive extends Model {
  static override tableName = 'node_live';
  static override idColumn = 'node_id';
  node_id!: string;
  online_clients!: number | null;
  connections!: number | null;
  upload_total!: number | null;
  download_total!: number | null;
  sampled_at!: number | null;
  ledger_head_seq!: number | null;
  ledger_acked_seq!: number | null;
  ledger_backlog_entries!: number | null;
  ledger_at!: number | null;
  /** singbox-config.status: whether sing-box runs, its version, the users it serves; null until asked. */
  singbox_running!: boolean | null;
  singbox_version!: string | null;
  users_served!: number | null;
  status_at!: number | null;
  updated_at!: number;
}

export type InstallTokenStatus = 'pending' | 'used' | 'expired' | 'revoked';

/** A one-time install command (hub/routes/nodes/install-tokens.ts); the token itself is only ever hashed here. */
export class InstallToken extends Model {
  static override tableName = 'install_tokens';
  static override jsonAttributes = ['tags'];
  id!: number;
  token_hash!: string;
  name!: string | null;
  tags!: string[];
  multiplier!: number | null;
  created_by_id!: number | null;
  created_by!: string;
  created_at!: number;
  expires_at!: number;
  revoked_at!: number | null;
  used_at!: number | null;
  used_by_node!: string | null;

  static hash(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }

  /** A used token stays used after it expires; a revoked one was never used. */
  status(now: number): InstallTokenStatus {
    if (this.used_at !== null) return 'used';
    if (this.revoked_at !== null) return 'revoked';
    return Number(this.expires_at) <= now ? 'expired' : 'pending';
  }

  toPublic(now: number) {
    return {
      id: this.id,
      status: this.status(now),
      name: this.name,
      tags: this.tags,
      multiplier: this.multiplier === null ? null : Number(this.multiplier),
      created_by: this.created_by,
      created_at: iso(this.created_at)!,
      expires_at: iso(this.expires_at)!,
      revoked_at: iso(this.revoked_at),
      used_at: iso(this.used_at),
      used_by_node: this.used_by_node,
    };
  }
}

/** Firewall rules an admin keeps for the nodes carrying one of `tags` (every node when empty): hub/firewall.ts. */
export class FirewallRuleSet extends Timestamped {
  static override tableName = 'firewall_rule_sets';
  static override jsonAttributes = ['tags', 'rules'];
  id!: number;
  name!: string;
  tags!: string[];
  /** Ids unique within the set; a node gets them as `<set id>.<rule id>`. */
  rules!: Rule[];
  comment!: string;
  /** configHash of { tags, rules }, what the nodes' lists depend on. */
  hash!: string;
  created_by!: string;
  updated_by!: string;

  toPublic() {
    return {
      id: this.id,
      name: this.name,
      tags: this.tags,
      rules: this.rules,
      comment: this.comment,
      created_by: this.created_by,
      updated_by: this.updated_by,
      created_at: iso(this.created_at)!,
      updated_at: iso(this.updated_at)!,
    };
  }
}

/** What a node's firewall plugin last confirmed, and the last push it refused (hub/jobs/firewall.ts). */
export class NodeFirewall extends Model {
  static override tableName = 'node_firewall';
  static override idColumn = 'node_id';
  static override jsonAttributes = ['warnings'];
  node_id!: string;
  revision!: string | null;
  synced_at!: number | null;
  warnings!: string[] | null;
  last_error!: string | null;
  error_revision!: string | null;
  error_at!: number | null;
}

/** A cron schedule of a batch command (hub/batches/schedules.ts); its times are the hub's clock, set there. */
export class BatchSchedule extends Model {
  static override tableName = 'batch_schedules';
  static override jsonAttributes = ['batch_spec'];
  id!: number;
  name!: string;
  cron!: string;
  timezone!: string;
  /** A BatchSpec (hub/batches): what each fire creates. */
  batch_spec!: unknown;
  enabled!: boolean;
  created_by_id!: number | null;
  created_by!: string;
  created_at!: number;
  updated_at!: number;
  last_fire_at!: number | null;
  /** Fire times up to here were fired or recorded missed. */
  checked_until!: number;
}

/** One fire time a schedule reached; UNIQUE(schedule_id, fire_at) decides which hub fires it. */
export class BatchScheduleFire extends Model {
  static override tableName = 'batch_schedule_fires';
  id!: number;
  schedule_id!: number;
  fire_at!: number;
  status!: 'ran' | 'failed' | 'missed';
  batch_id!: number | null;
  error!: string | null;
  recorded_at!: number;

  toPublic() {
    return {
      fire_at: iso(this.fire_at),
      status: this.status,
      batch_id: this.batch_id,
      error: this.error,
      recorded_at: iso(this.recorded_at),
    };
  }
}
