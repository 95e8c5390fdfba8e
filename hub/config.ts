// Hub settings, each declared once below: its group, meaning, TypeBox schema (type and default) and,
// where an operator sets it per run, its `boxfleet hub` flag. The environment variable is
// BOXFLEET_<KEY>. The config schema, `boxfleet hub` options and help, and README's table all come
// from HUB_SETTINGS. Embedded defaults (port 8080, SQLite and data under ./data) let `boxfleet hub`
// alone start a working hub.
import { isIP } from 'node:net';
import path from 'node:path';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { InvalidArgumentError } from '../agent-core/common/errors.js';
import { validate } from '../agent-core/common/schema.js';

/** Headings of `boxfleet hub --help` and README's table, in this order. */
export const SETTING_GROUPS = {
  server: 'Server',
  security: 'Security',
  database: 'Database',
  replicas: 'Several hubs',
  storage: 'Storage',
  logging: 'Logging',
  tracing: 'Tracing',
  jobs: 'Scheduled jobs',
  alerts: 'Alerts',
  user_events: 'User events',
  install: 'Node install',
} as const;

export type SettingGroup = keyof typeof SETTING_GROUPS;

export interface SettingDeclaration {
  group: SettingGroup;
  /** What it means, in one line, with its unit. */
  meaning: string;
  /** Type, limits and default. */
  schema: TSchema;
  /**
   * The `boxfleet hub` flag with its value's placeholder; none for settings usually set once per
   * install, and for secrets, which a command line shows to every local user.
   */
  flag?: `--${string} <${string}>`;
}

const job = <S extends TSchema>(meaning: string, schema: S) => ({ group: 'jobs' as const, meaning, schema });
const percent = (meaning: string, fallback: number) => ({
  group: 'alerts' as const,
  meaning,
  schema: Type.Number({ minimum: 0, maximum: 100, default: fallback }),
});
/** A string enum as JSON Schema `enum`, so a wrong value reads "must be one of a, b". */
const oneOf = <T extends string>(values: readonly T[], fallback: T) => Type.Unsafe<T>({ type: 'string', enum: [...values], default: fallback });

export const HUB_SETTINGS = {
  host: { group: 'server', flag: '--host <address>', meaning: 'address to listen on', schema: Type.String({ default: '0.0.0.0' }) },
  port: { group: 'server', flag: '--port <port>', meaning: 'port to listen on (0: any free port)', schema: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }) },
  public_url: {
    group: 'server',
    flag: '--public-url <url>',
    meaning: 'where users and admins reach the hub, e.g. https://panel.example.com; the links it gives out start with it (empty: from each request)',
    schema: Type.String({ default: '' }),
  },
  trust_proxy: {
    group: 'server',
    flag: '--trust-proxy <cidrs>',
    meaning: 'comma-separated IPs or CIDRs (or loopback, linklocal, uniquelocal) of reverse proxies whose X-Forwarded-For/-Proto/-Host are believed (empty: none)',
    schema: Type.String({ default: '' }),
  },
  tls_cert: { group: 'server', flag: '--tls-cert <file>', meaning: 'PEM certificate (chain) to serve HTTPS with; set with tls_key', schema: Type.String({ default: '' }) },
  tls_key: { group: 'server', flag: '--tls-key <file>', meaning: "PEM private key of tls_cert", schema: Type.String({ default: '' }) },
  sub_cache_mb: {
    group: 'server',
    meaning: 'memory for rendered subscription bodies (/sub), kept per user and format until something they show changes, in MiB',
    schema: Type.Integer({ minimum: 1, default: 256 }),
  },
  sub_urltest_url: {
    group: 'server',
    meaning: "the URL clients fetch through each node to pick the fastest, in the profiles' urltest (sing-box) and url-test (Clash.Meta) groups; must answer 204 or 200",
    schema: Type.String({ pattern: '^https?://[^/?#]+', default: 'https://www.gstatic.com/generate_204' }),
  },
  sub_urltest_interval_s: {
    group: 'server',
    meaning: 'how often clients test every node in those groups, so a dead node is left within about this long, in seconds',
    schema: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
  },
  sub_urltest_tolerance_ms: {
    group: 'server',
    meaning: 'clients stay on the node they use unless another one tests faster by more than this, in milliseconds',
    schema: Type.Integer({ minimum: 0, maximum: 10_000, default: 50 }),
  },
  sub_entry_name_template: {
    group: 'server',
    meaning:
      'subscription entry names: {name} (the usual name), {node}, {region}, {type}, {unlock} (marks of the services the node unlocks, e.g. NF GPT), {multiplier} (e.g. ×2, empty at 1); e.g. "{node} | {unlock}" (empty: the usual name; a profile template may set its own)',
    schema: Type.String({ maxLength: 200, default: '' }),
  },
  sub_singbox_binary: {
    group: 'server',
    meaning:
      "the sing-box the hub runs `sing-box check` with before it saves a sing-box profile template: a path, or a name looked up on PATH (without one that runs, sing-box templates are refused; Clash templates get a structural check either way)",
    schema: Type.String({ minLength: 1, default: 'sing-box' }),
  },

  jwt_secret: { group: 'security', meaning: 'signs admin sessions (empty: one is generated once and kept in the database)', schema: Type.String({ default: '' }) },
  jwt_ttl_s: { group: 'security', meaning: 'how long a sign-in lasts, in seconds', schema: Type.Integer({ minimum: 60, default: 12 * 3600 }) },
  login_attempts_per_minute: { group: 'security', meaning: 'sign-in attempts per client IP per minute', schema: Type.Integer({ minimum: 1, default: 10 }) },
  metrics_token: {
    group: 'security',
    meaning: 'when set, GET /metrics needs `Authorization: Bearer <this>` (empty: /metrics is public, like any exporter)',
    schema: Type.String({ default: '' }),
  },

  database_url: {
    group: 'database',
    flag: '--database-url <url>',
    meaning: 'mysql://user:pass@host:3306/db to use MySQL or MariaDB (empty: SQLite in data_dir)',
    schema: Type.String({ default: '' }),
  },

  redis_url: {
    group: 'replicas',
    meaning:
      'redis://[:password@]host:6379[/db] (or rediss:// for TLS) that every hub behind one load balancer shares, so the sign-in and subscription rate limits count across them (empty: each hub counts on its own)',
    schema: Type.String({ default: '' }),
  },

  data_dir: { group: 'storage', flag: '--data-dir <dir>', meaning: 'folder of the SQLite database and local files, kept private (0700)', schema: Type.String({ default: './data' }) },
  object_store_url: {
    group: 'storage',
    flag: '--object-store-url <url>',
    meaning: 'where config versions are kept: empty for data_dir/objects, file:///path, or s3://ACCESS:SECRET@host:9000/bucket?ssl=false (MinIO or any S3)',
    schema: Type.String({ default: '' }),
  },

  log_level: {
    group: 'logging',
    flag: '--log-level <level>',
    meaning: 'error, warn, info or debug',
    schema: oneOf(['error', 'warn', 'info', 'debug'] as const, 'info'),
  },
  log_file: {
    group: 'logging',
    flag: '--log-file <file>',
    meaning: 'also append the JSON log lines (Elastic Common Schema fields) to this file (empty: standard error only); SIGHUP reopens it, as logrotate needs',
    schema: Type.String({ default: '' }),
  },
  log_load_test_lines_per_s: {
    group: 'logging',
    meaning: 'write this many numbered debug lines a second, to prove a log pipeline (rotation, shipper) end to end; 0: none',
    schema: Type.Integer({ minimum: 0, maximum: 100_000, default: 0 }),
  },

  skywalking_collector: {
    group: 'tracing',
    flag: '--skywalking <host:port>',
    meaning: "SkyWalking OAP's gRPC address (host:11800) to send traces to (empty: no tracing)",
    schema: Type.String({ default: '', pattern: '^$|^.+:[0-9]{1,5}$' }),
  },

  jobs_enabled: { group: 'jobs', meaning: 'run the scheduled jobs in this hub; false for an API-only replica', schema: Type.Boolean({ default: true }) },
  traffic_interval_s: job("how often every node's traffic ledger is drained, in seconds", Type.Number({ exclusiveMinimum: 0, default: 60 })),
  quota_interval_s: job("how often quotas, expiry and plans' traffic resets are applied, in seconds", Type.Number({ exclusiveMinimum: 0, default: 60 })),
  reset_timezone: job(
    'the IANA time zone (e.g. Asia/Shanghai) whose midnights the daily, weekly, monthly and yearly traffic resets of plans fall on, and whose days per-user usage is summed by',
    Type.String({ minLength: 1, default: 'UTC' }),
  ),
  usage_rollup_interval_s: job(
    "how often the traffic job's per-node, per-user detail is folded into the hourly usage rows /api/v1/usage reads, in seconds: those rows lag by up to this much (subscriptions' used traffic, node totals, today's and daily traffic do not)",
    Type.Number({ exclusiveMinimum: 0, default: 600 }),
  ),
  reconcile_interval_s: job('how often nodes behind their desired users, config or firewall rules are pushed to, in seconds', Type.Number({ exclusiveMinimum: 0, default: 5 })),
  metrics_interval_s: job('how often node metrics are pulled, downsampled and expired, in seconds', Type.Number({ exclusiveMinimum: 0, default: 300 })),
  metrics_retention_days: job('how long hourly node-metric averages are kept, in days', Type.Integer({ minimum: 1, default: 30 })),
  live_interval_s: job("how often each online node's Clash API summary and ledger position are gathered, in seconds", Type.Number({ exclusiveMinimum: 0, default: 60 })),
  inbound_check_interval_s: job(
    "how often the hub connects to every node's client-facing inbounds from outside (TCP, and a TLS handshake for TLS inbounds), in seconds (0: off)",
    Type.Number({ minimum: 0, default: 30 }),
  ),
  rollouts_interval_s: job('how often running config rollouts take their next step (apply a stage, check its gate, roll back), in seconds', Type.Number({ exclusiveMinimum: 0, default: 1 })),
  inbound_check_timeout_s: job('how long one inbound check may take before it counts as failed, in seconds', Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 5 })),
  inbound_unhealthy_after: job('failed inbound checks in a row after which a node is unhealthy: left out of newly fetched subscriptions and alerted on', Type.Integer({ minimum: 1, default: 3 })),
  inbound_healthy_after: job('good inbound checks in a row after which an unhealthy node is healthy again', Type.Integer({ minimum: 1, default: 2 })),
  probes_interval_s: job("how often every node's health-probe results (probes, unlock checks) are read for the node page and entry names, in seconds; its inventory once a day", Type.Number({ exclusiveMinimum: 0, default: 300 })),
  node_status_interval_s: job("how often every node's agent is asked what it runs (version, plugins, their health) for the node list, in seconds", Type.Number({ exclusiveMinimum: 0, default: 30 })),
  batches_interval_s: job('how often batch commands waiting to run are looked for (and, while nodes of a batch run, new batches and cancellations), in seconds', Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 1 })),
  schedule_missed_after_s: job(
    "a batch schedule's fire time that no hub reached within this many seconds (every hub was down, say) is recorded missed and never run late",
    Type.Number({ exclusiveMinimum: 0, default: 15 }),
  ),

  alerts_interval_s: { group: 'alerts', meaning: 'how often alert rules are evaluated, in seconds', schema: Type.Number({ exclusiveMinimum: 0, default: 30 }) },
  alert_cpu_percent: percent("a node's CPU busy percent above this fires an alert (0: off)", 80),
  alert_memory_percent: percent("a node's used memory percent above this fires an alert (0: off)", 70),
  alert_disk_percent: percent("a node's used disk percent (sysmetrics' disk_path) above this fires an alert (0: off)", 90),
  alert_hysteresis_percent: percent('a percent alert resolves once the value is this far below its threshold', 5),
  alert_resolve_after_s: {
    group: 'alerts',
    meaning: 'a percent alert resolves only once its value has stayed that far below this long, in seconds (0: at the first sample)',
    schema: Type.Number({ minimum: 0, default: 0 }),
  },
  alert_offline_after_s: { group: 'alerts', meaning: 'a node offline for longer than this fires an alert, in seconds (0: off)', schema: Type.Number({ minimum: 0, default: 300 }) },
  alert_ledger_backlog_entries: {
    group: 'alerts',
    meaning: "a node's traffic ledger entries not yet acknowledged by the hub above this fire an alert (0: off)",
    schema: Type.Integer({ minimum: 0, default: 10_000 }),
  },
  alert_ledger_backlog_hysteresis_entries: { group: 'alerts', meaning: 'a ledger backlog alert resolves once the backlog is this many entries below its threshold', schema: Type.Integer({ minimum: 0, default: 1000 }) },
  alert_max_attempts: { group: 'alerts', meaning: 'attempts per notification and channel (one per alerts tick) before it is marked failed', schema: Type.Integer({ minimum: 1, maximum: 20, default: 4 }) },
  telegram_bot_token: { group: 'alerts', meaning: 'Telegram channel: on when this and telegram_chat_id are set', schema: Type.String({ default: '' }) },
  telegram_chat_id: { group: 'alerts', meaning: 'the Telegram chat alerts go to', schema: Type.String({ default: '' }) },
  telegram_api_url: { group: 'alerts', meaning: "the Telegram Bot API's base URL", schema: Type.String({ default: 'https://api.telegram.org' }) },
  smtp_url: { group: 'alerts', meaning: 'email channel: smtp://user:pass@host:587 or smtps://...:465; on when this and alert_email_to are set', schema: Type.String({ default: '' }) },
  alert_email_to: { group: 'alerts', meaning: 'comma-separated recipients of alert emails', schema: Type.String({ default: '' }) },
  alert_email_from: { group: 'alerts', meaning: 'sender of alert emails', schema: Type.String({ default: 'boxfleet@localhost' }) },
  alert_webhook_url: { group: 'alerts', meaning: 'webhook channel: alerts are POSTed here as JSON, signed with alert_webhook_secret', schema: Type.String({ default: '' }) },
  alert_webhook_secret: { group: 'alerts', meaning: "the webhook signature's HMAC key", schema: Type.String({ default: '' }) },

  user_event_usage_thresholds: {
    group: 'user_events',
    meaning: "comma-separated percents (1–100) of a subscription's traffic whose crossing is a usage.threshold event, once per traffic period each (empty: none)",
    schema: Type.String({ default: '80,95' }),
  },
  user_event_expiring_days: {
    group: 'user_events',
    meaning: 'a subscription ending within this many days is a subscription.expiring event, once per end time (0: none)',
    schema: Type.Integer({ minimum: 0, maximum: 365, default: 3 }),
  },
  user_event_webhook_url: {
    group: 'user_events',
    meaning: "user events are POSTed here as JSON, signed with user_event_webhook_secret (empty: not sent by webhook); sent on the alerts' interval, with alert_max_attempts",
    schema: Type.String({ default: '' }),
  },
  user_event_webhook_secret: { group: 'user_events', meaning: "the user-event webhook signature's HMAC key", schema: Type.String({ default: '' }) },
  user_event_telegram_chat_id: {
    group: 'user_events',
    meaning: 'the Telegram chat user events go to, through the alerts\' telegram_bot_token (empty: not sent to Telegram)',
    schema: Type.String({ default: '' }),
  },

  release_dir: {
    group: 'install',
    flag: '--release-dir <dir>',
    meaning: "folder holding the agent tarballs and SHA256SUMS that 'Add node' serves (empty: data_dir/releases)",
    schema: Type.String({ default: '' }),
  },
  install_token_ttl_s: { group: 'install', meaning: 'how long a one-time node install command stays valid, in seconds', schema: Type.Integer({ minimum: 60, default: 3600 }) },
} satisfies Record<string, SettingDeclaration>;

export type SettingKey = keyof typeof HUB_SETTINGS;

export const HubConfigSchema = Type.Object(
  Object.fromEntries(Object.entries(HUB_SETTINGS).map(([key, setting]) => [key, setting.schema])) as {
    [K in SettingKey]: (typeof HUB_SETTINGS)[K]['schema'];
  },
);

export type HubConfig = Static<typeof HubConfigSchema>;

export const settingEntries = () => Object.entries(HUB_SETTINGS) as [SettingKey, SettingDeclaration][];

/** BOXFLEET_PORT for port. */
export const envName = (key: string) => `BOXFLEET_${key.toUpperCase()}`;

/** How a setting is named in an error: `port (--port or BOXFLEET_PORT)`. */
export const settingName = (key: SettingKey) => {
  const flag = (HUB_SETTINGS[key] as SettingDeclaration).flag?.split(' ')[0];
  return `${key} (${flag ? `${flag} or ` : ''}${envName(key)})`;
};

/** Text from a flag or the environment as the setting's type; what cannot be converted is left for the schema to refuse. */
function fromText(schema: TSchema, value: string | number | boolean): unknown {
  if (typeof value !== 'string') return value;
  if (schema.type === 'boolean') return /^(true|1|yes|on)$/i.test(value) ? true : /^(false|0|no|off)$/i.test(value) ? false : value;
  if (schema.type === 'integer' || schema.type === 'number') {
    const number = Number(value);
    return value.trim() !== '' && Number.isFinite(number) ? number : value;
  }
  return value;
}

/** The names proxy-addr (Fastify's trustProxy) knows for address ranges. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGES.includes(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/** trust_proxy as the list Fastify takes; empty when no proxy is trusted. */
export const trustedProxies = (config: Pick<HubConfig, 'trust_proxy'>) =>
  config.trust_proxy
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);

/** The checks one schema cannot make; each throws naming the setting. */
function checkTogether(config: HubConfig): HubConfig {
  const bad = (key: SettingKey, message: string) => new InvalidArgumentError(`${settingName(key)}: ${message}`);
  for (const entry of trustedProxies(config)) {
    if (!isProxyAddress(entry)) throw bad('trust_proxy', `${JSON.stringify(entry)} is not an IP address or CIDR (e.g. 10.0.0.1 or 10.0.0.0/8)`);
  }
  if (Boolean(config.tls_cert) !== Boolean(config.tls_key)) {
    throw bad(config.tls_cert ? 'tls_key' : 'tls_cert', 'HTTPS needs both tls_cert and tls_key; set the other one too, or neither');
  }
  let publicUrl = '';
  if (config.public_url) {
    const example = 'an http(s) address such as https://panel.example.com';
    let url: URL;
    try {
      url = new URL(config.public_url);
    } catch {
      throw bad('public_url', `must be ${example}, not ${JSON.stringify(config.public_url)}`);
    }
    if (!['http:', 'https:'].includes(url.protocol)) throw bad('public_url', `must be ${example}, not ${url.protocol}`);
    if (url.search || url.hash || url.username || url.password) throw bad('public_url', `must be ${example}, without a query, fragment or credentials`);
    // The dashboard and portal load their scripts from /assets, so the hub must sit at the root of its host.
    if (url.pathname !== '/') throw bad('public_url', `must be ${example}, without a path: the hub is served from the root of its host`);
    publicUrl = url.origin;
  }
  if (config.redis_url && !/^rediss?:\/\/[^/?#]/.test(config.redis_url)) {
    throw bad('redis_url', 'must be redis://[:password@]host:port[/db] or rediss://…, for example redis://10.0.0.5:6379');
  }
  for (const percent of config.user_event_usage_thresholds.split(',').map((p) => p.trim())) {
    if (config.user_event_usage_thresholds.trim() && !/^(100|[1-9][0-9]?)$/.test(percent)) {
      throw bad('user_event_usage_thresholds', `must be whole percents from 1 to 100, comma-separated (e.g. 80,95), not ${JSON.stringify(config.user_event_usage_thresholds)}`);
    }
  }
  let resetTimeZone: string;
  try {
    resetTimeZone = new Intl.DateTimeFormat('en-US', { timeZone: config.reset_timezone }).resolvedOptions().timeZone;
  } catch {
    throw bad('reset_timezone', `unknown time zone ${JSON.stringify(config.reset_timezone)} (an IANA name such as Asia/Shanghai or UTC)`);
  }
  const dataDir = path.resolve(config.data_dir);
  return {
    ...config,
    reset_timezone: resetTimeZone,
    public_url: publicUrl,
    data_dir: dataDir,
    release_dir: config.release_dir ? path.resolve(config.release_dir) : path.join(dataDir, 'releases'),
  };
}

/** Flags win over the environment, which wins over the defaults. */
export function resolveHubConfig(flags: Partial<Record<SettingKey, string | number | boolean>>, env: NodeJS.ProcessEnv = process.env): HubConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, setting] of settingEntries()) {
    const value = flags[key] ?? env[envName(key)];
    if (value === undefined || value === '') continue;
    try {
      raw[key] = validate(setting.schema, fromText(setting.schema, value), settingName(key));
    } catch (error) {
      throw new InvalidArgumentError(`${(error as Error).message}, not ${JSON.stringify(value)}`);
    }
  }
  return Object.freeze(checkTogether(validate<HubConfig>(HubConfigSchema, raw, 'hub')));
}

/** BOXFLEET_* variables that belong to the tests, benchmarks and CI, not to the hub. */
const NOT_HUB_VARIABLES = ['BOXFLEET_SINGBOX_BIN', 'BOXFLEET_CHROMIUM', 'BOXFLEET_PROMETHEUS_BIN'];

/** Optimal string alignment distance: edits, with a swap of two neighbours counted as one. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * BOXFLEET_* variables that name no hub setting (a typo would otherwise fall back to the default
 * without a word), each with the setting's variable it is closest to, when one is close.
 */
export function unknownVariables(env: NodeJS.ProcessEnv): { name: string; suggestion?: string }[] {
  const known = settingEntries().map(([key]) => envName(key));
  return Object.keys(env)
    .filter((name) => name.startsWith('BOXFLEET_') && !name.startsWith('BOXFLEET_TEST_') && !known.includes(name) && !NOT_HUB_VARIABLES.includes(name))
    .sort()
    .map((name) => {
      const typed = name.slice('BOXFLEET_'.length);
      const allowed = Math.min(3, Math.max(1, Math.floor(typed.length / 4)));
      let best: { name: string; distance: number } | undefined;
      for (const candidate of known) {
        const distance = editDistance(typed, candidate.slice('BOXFLEET_'.length));
        if (distance <= allowed && (!best || distance < best.distance)) best = { name: candidate, distance };
      }
      return best ? { name, suggestion: best.name } : { name };
    });
}
