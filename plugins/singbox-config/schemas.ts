// The plugin's config, command and event schemas (TypeBox = JSON Schema; types come from Static<>).
import { Type, type TSchema } from '../../agent-core/sdk.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
/** A sing-box config as JSON: sing-box itself checks the inside. */
const ConfigObject = Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'A sing-box config (JSON).' });

export const Settings = Type.Object({
  mode: Type.Unsafe<'process' | 'systemd'>({
    type: 'string',
    enum: ['process', 'systemd'],
    default: 'process',
    description: 'process: the agent runs sing-box as a detached, supervised process. systemd: through `systemctl` and `systemd_unit`.',
  }),
  binary: Type.String({
    minLength: 1,
    default: 'sing-box',
    description: 'sing-box executable: a bare name is looked up on PATH, a path is used as is.',
  }),
  config_path: Type.String({ minLength: 1, default: '/etc/sing-box/config.json', description: 'The config file sing-box runs with (absolute).' }),
  work_dir: Type.Optional(
    Type.String({
      minLength: 1,
      description: "sing-box's working directory (-D) and where the plugin keeps its state, pid file and sing-box.log. Default: the plugin's state directory.",
    }),
  ),
  systemd_unit: Type.String({ pattern: '^[A-Za-z0-9@._:-]+$', default: 'sing-box', description: 'The unit, in mode systemd.' }),
  history_size: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Config versions kept in <config dir>/boxfleet-history.' }),
  coalesce_ms: Type.Integer({ minimum: 0, maximum: 20_000, default: 2000, description: 'users.sync calls within this window share one reload.' }),
  verify_timeout_ms: Type.Integer({
    minimum: 500,
    maximum: 20_000,
    default: 10_000,
    description: 'How long a started or reloaded sing-box has to listen on every port before the apply is rolled back.',
  }),
  ssm_api_port: Type.Integer({ minimum: 1, maximum: 65535, default: 6001, description: 'Loopback port of the SSM API (managed shadowsocks inbounds).' }),
  degraded_after_s: Type.Integer({ minimum: 1, default: 600, description: 'The hub counts as away after this long without a call from it.' }),
  degraded_check_s: Type.Integer({ minimum: 1, default: 10, description: 'How often limits are checked while the hub is away.' }),
  restart_backoff_max_s: Type.Integer({ minimum: 1, maximum: 3600, default: 60, description: 'Longest wait before restarting a sing-box that died (1 s, 2 s, 4 s… up to this).' }),
});

export const User = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$' }),
  uuid: Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' }),
  password: Type.String({ pattern: '^[A-Za-z0-9._~-]{16,128}$', description: 'URL-safe, 16 to 128 characters.' }),
  ss_key: Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$', description: 'Standard base64 of 32 random bytes.' }),
  flow: Type.Optional(Type.Unsafe<'' | 'xtls-rprx-vision'>({ type: 'string', enum: ['', 'xtls-rprx-vision'], default: '' })),
  remaining_bytes: Nullable(Type.Integer({ minimum: 0, description: 'null = unlimited' })),
  expires_at: Nullable(DateTime),
});

export const LocalRemoval = Type.Object({
  name: Type.String(),
  reason: Type.String(),
  at: DateTime,
});

export const ExitInfo = Type.Object({
  pid: Type.Integer(),
  time: DateTime,
  code: Nullable(Type.Integer()),
  signal: Nullable(Type.String()),
  reason: Type.String(),
  stderr_tail: Type.String(),
  restart_in_ms: Nullable(Type.Integer()),
});

const LastApply = Type.Object({
  time: DateTime,
  action: Type.String({ description: 'config.apply, users.sync, reload, restart, config.rollback, degraded, start' }),
  ok: Type.Boolean(),
  message: Type.String(),
  timings_ms: Type.Optional(Type.Object(
    {
      render: Type.Number({ minimum: 0 }),
      check: Type.Number({ minimum: 0, description: '`sing-box check` of the new file; 0 when the file did not change' }),
      reload: Type.Number({ minimum: 0, description: 'reload or start, and the verification after it; 0 without a reload' }),
    },
    { description: 'Where the time of a successful apply went.' },
  )),
});

const Empty = Type.Object({});

export const commands = {
  status: {
    description: 'sing-box binary and version, whether it runs, its config version and users, the last apply, degraded mode.',
    input: Empty,
    output: Type.Object({
      found: Type.Boolean(),
      binary: Nullable(Type.String()),
      version: Nullable(Type.String()),
      tags: Type.Array(Type.String()),
      config_path: Type.String(),
      message: Type.String(),
      mode: Type.String(),
      running: Type.Boolean(),
      pid: Nullable(Type.Integer()),
      since: Nullable(DateTime),
      restarts: Type.Integer({ description: 'Times sing-box was started again after it died on its own.' }),
      reloads: Type.Integer({ description: 'Reloads and starts done by this plugin since it started.' }),
      last_exit: Nullable(ExitInfo),
      config: Type.Object({
        version: Nullable(Type.Integer()),
        hash: Nullable(Type.String({ description: 'sha256 of the base config' })),
        rendered_hash: Nullable(Type.String({ description: 'sha256 of the served config file' })),
      }),
      users: Type.Object({
        revision: Nullable(Type.Integer()),
        count: Type.Integer(),
        served: Type.Integer({ description: 'count minus the locally removed' }),
        locally_removed: Type.Array(LocalRemoval),
      }),
      last_apply: Nullable(LastApply),
      degraded: Type.Boolean({ description: 'The hub has not called for longer than degraded_after_s.' }),
    }),
  },
  'config.get': {
    description: 'The base config and the served config (users\' credentials and API secrets redacted).',
    input: Empty,
    output: Type.Object({
      version: Nullable(Type.Integer()),
      base: Nullable(ConfigObject),
      rendered: Nullable(ConfigObject),
    }),
    // The base config holds server keys (REALITY private key, shadowsocks PSK).
    role: 'operator' as const,
  },
  'config.apply': {
    description: 'Checks, serves and verifies a new base config; rolls back to the last good one on any failure.',
    input: Type.Object({ config: ConfigObject, comment: Type.Optional(Type.String({ maxLength: 500 })) }),
    output: Type.Object({ version: Type.Integer(), hash: Type.String(), reloaded: Type.Boolean() }),
    mutates: true,
    // Replaces what the node serves: the hub's config versions (admin) own it, not an operator.
    role: 'admin' as const,
    timeoutMs: 60_000,
  },
  'users.sync': {
    description: 'The users this node serves (a full snapshot). Calls within coalesce_ms share one reload.',
    input: Type.Object({
      revision: Type.Integer({ minimum: 0 }),
      users: Type.Array(User),
      ledger_seq: Type.Optional(
        Type.Integer({
          minimum: 0,
          description: "The hub's committed clash-stats ledger position that remaining_bytes already reflect: usage after it counts against them.",
        }),
      ),
    }),
    output: Type.Object({
      revision: Type.Integer(),
      changed: Type.Boolean(),
      reloaded: Type.Boolean(),
      locally_removed: Type.Array(LocalRemoval, { description: 'Users this node had cut off while the hub was away; now cleared.' }),
    }),
    mutates: true,
    timeoutMs: 90_000,
  },
  'users.list': {
    description: 'The synced users with their limits and whether they were removed locally (never credentials).',
    input: Empty,
    output: Type.Object({
      revision: Nullable(Type.Integer()),
      synced_at: Nullable(DateTime),
      users: Type.Array(
        Type.Object({
          name: Type.String(),
          remaining_bytes: Nullable(Type.Integer()),
          expires_at: Nullable(Type.String()),
          removed_locally: Type.Boolean(),
          removed_reason: Nullable(Type.String()),
          removed_at: Nullable(DateTime),
        }),
      ),
    }),
  },
  reload: {
    description: 'Renders the config again (with fresh contributions from other plugins) and reloads sing-box on it.',
    input: Empty,
    output: Type.Object({ changed: Type.Boolean(), reloaded: Type.Boolean(), rendered_hash: Type.String() }),
    mutates: true,
    timeoutMs: 60_000,
  },
  restart: {
    description: 'Stops and starts sing-box on the served config.',
    input: Empty,
    output: Type.Object({ running: Type.Boolean(), pid: Nullable(Type.Integer()) }),
    mutates: true,
    timeoutMs: 60_000,
  },
  'config.history': {
    description: 'The kept versions of the base config, newest first.',
    input: Empty,
    output: Type.Object({
      current: Nullable(Type.Integer()),
      versions: Type.Array(Type.Object({ version: Type.Integer(), time: DateTime, hash: Type.String(), comment: Type.String() })),
    }),
  },
  'config.rollback': {
    description: 'Serves an earlier version of the base config again, as a new version. Default: the one before the current.',
    input: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }),
    output: Type.Object({ version: Type.Integer(), restored: Type.Integer(), hash: Type.String(), reloaded: Type.Boolean() }),
    mutates: true,
    // Like config.apply: changes which base config the node serves.
    role: 'admin' as const,
    timeoutMs: 60_000,
  },
  'ssm.endpoints': {
    description: 'The SSM API base URL of each managed shadowsocks inbound (for clash-stats). The URLs are secrets.',
    input: Empty,
    output: Type.Object({ endpoints: Type.Array(Type.Object({ inbound: Type.String(), url: Type.String() })) }),
    // The secret is inside a URL, where the hub's redaction (by field name) cannot see it: only admins read node secrets.
    role: 'admin' as const,
  },
};

export const events = {
  'singbox.exited': { description: 'sing-box died without boxfleet asking (and is being restarted).', schema: ExitInfo },
  'config.applied': {
    description: 'A new config is in service.',
    schema: Type.Object({ action: Type.String(), version: Nullable(Type.Integer()), rendered_hash: Type.String(), reloaded: Type.Boolean() }),
  },
  'users.removed-locally': {
    description: 'Users cut off on this node while the hub was away (over their remaining bytes, or expired).',
    schema: Type.Object({ users: Type.Array(LocalRemoval) }),
  },
};
