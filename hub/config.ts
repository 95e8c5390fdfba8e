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
};

/** Flags win over the environment, which wins over the defaults. */
export function resolveHubConfig(flags: Partial<Record<keyof HubConfig, string | number>>, env = process.env): HubConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV) as [keyof HubConfig, string][]) {
    const value = flags[key] ?? env[name];
    const numeric = key === 'port' || key === 'jwt_ttl_s' || key === 'login_attempts_per_minute';
    if (value !== undefined && value !== '') raw[key] = numeric ? Number(value) : value;
  }
  const config = validate<HubConfig>(HubConfigSchema, raw, 'hub');
  return Object.freeze({ ...config, data_dir: path.resolve(config.data_dir) });
}
