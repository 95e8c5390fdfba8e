// Hub settings: embedded defaults (port 8080, SQLite and data under ./data) so that `boxfleet hub`
// alone starts a working hub; each can be set by a CLI flag or a BOXFLEET_* variable.
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { validate } from '../agent-core/schema.js';

export const HubConfigSchema = Type.Object({
  host: Type.String({ default: '0.0.0.0' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  /** SQLite database and local files live here. */
  data_dir: Type.String({ default: './data' }),
  /** mysql://user:pass@host:3306/db — SQLite under data_dir when empty. */
  database_url: Type.String({ default: '' }),
  /** Signs admin sessions; when empty one is generated once and kept in the database. */
  jwt_secret: Type.String({ default: '' }),
  /** How long a login lasts, in seconds. */
  jwt_ttl_s: Type.Integer({ minimum: 60, default: 12 * 3600 }),
  /** Login attempts per client IP per minute. */
  login_attempts_per_minute: Type.Integer({ minimum: 1, default: 10 }),
  log_level: Type.Union([Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug')], {
    default: 'info',
  }),
  log_file: Type.String({ default: '' }),
  /** SkyWalking OAP's gRPC address (host:11800) to send traces to; no tracing when empty. */
  skywalking_collector: Type.String({ default: '', pattern: '^$|^.+:[0-9]{1,5}$' }),
  /**
   * Where config versions are kept: empty for the folder data_dir/objects, file:///path for another
   * folder, or s3://ACCESS:SECRET@host:9000/bucket?ssl=false (MinIO or any S3; the bucket is created).
   */
  object_store_url: Type.String({ default: '' }),
  /** Run the scheduled jobs while this hub listens; off for an API-only replica. */
  jobs_enabled: Type.Boolean({ default: true }),
  /** How often every node's traffic ledger is drained, in seconds. */
  traffic_interval_s: Type.Number({ exclusiveMinimum: 0, default: 60 }),
  /** How often quotas, expiry and monthly resets are applied, in seconds. */
  quota_interval_s: Type.Number({ exclusiveMinimum: 0, default: 60 }),
  /** How often nodes behind their desired users or config are pushed to, in seconds. */
  reconcile_interval_s: Type.Number({ exclusiveMinimum: 0, default: 5 }),
  /** How long hourly node-metric averages are kept, in days. */
  metrics_retention_days: Type.Integer({ minimum: 1, default: 30 }),
  /** How often node metrics are pulled, downsampled and expired, in seconds. */
  metrics_interval_s: Type.Number({ exclusiveMinimum: 0, default: 300 }),
  /** How often each enabled online node's Clash API summary and ledger position are gathered, in seconds (hub/live.ts). */
  live_interval_s: Type.Number({ exclusiveMinimum: 0, default: 60 }),
  /** How often alert rules are evaluated over newly stored samples and node health, in seconds (hub/alerts). */
  alerts_interval_s: Type.Number({ exclusiveMinimum: 0, default: 30 }),
  /** An alert fires when a node's CPU busy percent is above this; 0 turns the rule off. */
  alert_cpu_percent: Type.Number({ minimum: 0, maximum: 100, default: 80 }),
  /** ... memory used (total − available) percent; 0 turns the rule off. */
  alert_memory_percent: Type.Number({ minimum: 0, maximum: 100, default: 70 }),
  /** ... disk used percent (sysmetrics' disk_path); 0 turns the rule off. */
  alert_disk_percent: Type.Number({ minimum: 0, maximum: 100, default: 90 }),
  /** A firing percent alert resolves once the value is below its threshold minus this. */
  alert_hysteresis_percent: Type.Number({ minimum: 0, maximum: 100, default: 5 }),
  /** ... and has stayed there this long (0: the first sample below resolves it), in seconds. */
  alert_resolve_after_s: Type.Number({ minimum: 0, default: 0 }),
  /** A node marked offline for longer than this fires the offline alert; 0 turns the rule off. */
  alert_offline_after_s: Type.Number({ minimum: 0, default: 300 }),
  /**
   * A node's ledger backlog (entries written but not yet acknowledged by the hub, from the live job)
   * above this fires the ledger_backlog alert; 0 turns the rule off.
   */
  alert_ledger_backlog_entries: Type.Integer({ minimum: 0, default: 10_000 }),
  /** A firing ledger_backlog alert resolves once the backlog is below its threshold minus this many entries. */
  alert_ledger_backlog_hysteresis_entries: Type.Integer({ minimum: 0, default: 1000 }),
  /** Attempts per notification and channel (one per alerts tick) before it is marked failed. */
  alert_max_attempts: Type.Integer({ minimum: 1, maximum: 20, default: 4 }),
  /** Telegram channel: on when the bot token and chat id are set. */
  telegram_bot_token: Type.String({ default: '' }),
  telegram_chat_id: Type.String({ default: '' }),
  /** The Bot API's base URL (a local stand-in in tests). */
  telegram_api_url: Type.String({ default: 'https://api.telegram.org' }),
  /** Email channel: smtp://user:pass@host:587 (or smtps://...:465); on when this and alert_email_to are set. */
  smtp_url: Type.String({ default: '' }),
  /** Comma-separated recipients. */
  alert_email_to: Type.String({ default: '' }),
  alert_email_from: Type.String({ default: 'boxfleet@localhost' }),
  /** Webhook channel: a JSON POST signed with alert_webhook_secret (see hub/alerts/channels.ts). */
  alert_webhook_url: Type.String({ default: '' }),
  alert_webhook_secret: Type.String({ default: '' }),
  /** The hub's address as operators reach it (https://panel.example.com), for the links it hands out; empty: each request's protocol and Host. */
  public_url: Type.String({ default: '', pattern: '^$|^https?://[^/?#\\s]+(/[^?#\\s]*)?$' }),
  /** Agent tarballs and their SHA256SUMS for install commands; empty: data_dir/releases. */
  release_dir: Type.String({ default: '' }),
  /** How long an install command works, in seconds. */
  install_token_ttl_s: Type.Integer({ minimum: 60, default: 3600 }),
});

export type HubConfig = Static<typeof HubConfigSchema>;

const ENV: Record<keyof HubConfig, string> = {
  host: 'BOXFLEET_HOST',
  port: 'BOXFLEET_PORT',
  data_dir: 'BOXFLEET_DATA_DIR',
  database_url: 'BOXFLEET_DATABASE_URL',
  jwt_secret: 'BOXFLEET_JWT_SECRET',
  jwt_ttl_s: 'BOXFLEET_JWT_TTL_S',
  login_attempts_per_minute: 'BOXFLEET_LOGIN_ATTEMPTS_PER_MINUTE',
  log_level: 'BOXFLEET_LOG_LEVEL',
  log_file: 'BOXFLEET_LOG_FILE',
  skywalking_collector: 'BOXFLEET_SKYWALKING_COLLECTOR',
  object_store_url: 'BOXFLEET_OBJECT_STORE_URL',
  jobs_enabled: 'BOXFLEET_JOBS_ENABLED',
  traffic_interval_s: 'BOXFLEET_TRAFFIC_INTERVAL_S',
  quota_interval_s: 'BOXFLEET_QUOTA_INTERVAL_S',
  reconcile_interval_s: 'BOXFLEET_RECONCILE_INTERVAL_S',
  metrics_retention_days: 'BOXFLEET_METRICS_RETENTION_DAYS',
  metrics_interval_s: 'BOXFLEET_METRICS_INTERVAL_S',
  live_interval_s: 'BOXFLEET_LIVE_INTERVAL_S',
  alerts_interval_s: 'BOXFLEET_ALERTS_INTERVAL_S',
  alert_cpu_percent: 'BOXFLEET_ALERT_CPU_PERCENT',
  alert_memory_percent: 'BOXFLEET_ALERT_MEMORY_PERCENT',
  alert_disk_percent: 'BOXFLEET_ALERT_DISK_PERCENT',
  alert_hysteresis_percent: 'BOXFLEET_ALERT_HYSTERESIS_PERCENT',
  alert_resolve_after_s: 'BOXFLEET_ALERT_RESOLVE_AFTER_S',
  alert_offline_after_s: 'BOXFLEET_ALERT_OFFLINE_AFTER_S',
  alert_ledger_backlog_entries: 'BOXFLEET_ALERT_LEDGER_BACKLOG_ENTRIES',
  alert_ledger_backlog_hysteresis_entries: 'BOXFLEET_ALERT_LEDGER_BACKLOG_HYSTERESIS_ENTRIES',
  alert_max_attempts: 'BOXFLEET_ALERT_MAX_ATTEMPTS',
  telegram_bot_token: 'BOXFLEET_TELEGRAM_BOT_TOKEN',
  telegram_chat_id: 'BOXFLEET_TELEGRAM_CHAT_ID',
  telegram_api_url: 'BOXFLEET_TELEGRAM_API_URL',
  smtp_url: 'BOXFLEET_SMTP_URL',
  alert_email_to: 'BOXFLEET_ALERT_EMAIL_TO',
  alert_email_from: 'BOXFLEET_ALERT_EMAIL_FROM',
  alert_webhook_url: 'BOXFLEET_ALERT_WEBHOOK_URL',
  alert_webhook_secret: 'BOXFLEET_ALERT_WEBHOOK_SECRET',
  public_url: 'BOXFLEET_PUBLIC_URL',
  release_dir: 'BOXFLEET_RELEASE_DIR',
  install_token_ttl_s: 'BOXFLEET_INSTALL_TOKEN_TTL_S',
};

/** Flags win over the environment, which wins over the defaults. */
export function resolveHubConfig(flags: Partial<Record<keyof HubConfig, string | number | boolean>>, env = process.env): HubConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV) as [keyof HubConfig, string][]) {
    const value = flags[key] ?? env[name];
    const type = (HubConfigSchema.properties[key] as { type?: string }).type;
    const numeric = type === 'integer' || type === 'number';
    if (value === undefined || value === '') continue;
    if (type === 'boolean' && typeof value === 'string') raw[key] = /^(true|1|yes|on)$/i.test(value) ? true : /^(false|0|no|off)$/i.test(value) ? false : value;
    else raw[key] = numeric ? Number(value) : value;
  }
  const config = validate<HubConfig>(HubConfigSchema, raw, 'hub');
  const dataDir = path.resolve(config.data_dir);
  return Object.freeze({ ...config, data_dir: dataDir, release_dir: config.release_dir ? path.resolve(config.release_dir) : path.join(dataDir, 'releases') });
}
