// The plugin's own config (`plugins.singbox-config` in agent.yaml): its schema and the checks the
// schema cannot express. Node-local, so not part of the contract.
import path from 'node:path';
import { InvalidArgumentError, Type, type Static } from '../../agent-core/sdk.js';

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
  limit_check_s: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 5,
    description: "How often served users are checked against their remaining bytes (the ledger is sampled for it) and expiry, hub or no hub.",
  }),
  degraded_check_s: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 3600, deprecated: true, description: 'Deprecated name of limit_check_s: when set, it is used instead, with a warning.' }),
  ),
  degraded_after_s: Type.Integer({ minimum: 1, default: 600, description: 'status.degraded: the hub counts as away after this long without a call from it.' }),
  restart_backoff_max_s: Type.Integer({ minimum: 1, maximum: 3600, default: 60, description: 'Longest wait before restarting a sing-box that died (1 s, 2 s, 4 s… up to this).' }),
});
export type SettingsT = Static<typeof Settings>;

/** Cross-field and path checks the schema cannot express; errors name the field. */
export function checkSettings(settings: SettingsT, workDir: string): void {
  const at = 'plugins.singbox-config';
  if (!path.isAbsolute(settings.config_path)) throw new InvalidArgumentError(`${at}.config_path: must be an absolute path`);
  if (!path.isAbsolute(workDir)) throw new InvalidArgumentError(`${at}.work_dir: must be an absolute path`);
  if (path.resolve(workDir) === path.dirname(path.resolve(settings.config_path))) {
    throw new InvalidArgumentError(
      `${at}.work_dir: must not be the folder of config_path (sing-box -C would load the plugin's own .json files)`,
    );
  }
}

/** Seconds between limit checks: the deprecated degraded_check_s, while an old agent.yaml still sets it, wins. */
export function limitCheckS(settings: SettingsT): number {
  return settings.degraded_check_s ?? settings.limit_check_s;
}
