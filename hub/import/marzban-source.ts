// Reads a Marzban database (SQLite file or MySQL/MariaDB URL), read-only, into plain records. The
// tables are Marzban 0.8's (app/db/models.py): users, proxies (one row per protocol of a user, its
// type stored as the enum's name: VMess, VLESS, Trojan, Shadowsocks, its settings as JSON),
// admins and user_usage_logs (one row per traffic reset). Columns added by later Marzban versions
// are read when present, so an older database reads too.
import knexFactory, { type Knex } from 'knex';

export type MarzbanStatus = 'active' | 'disabled' | 'limited' | 'expired' | 'on_hold';
export type MarzbanReset = 'no_reset' | 'day' | 'week' | 'month' | 'year';

export interface MarzbanProxy {
  /** Lower-cased: vmess, vless, trojan, shadowsocks. */
  type: string;
  settings: Record<string, unknown>;
}

export interface MarzbanUser {
  id: number;
  username: string;
  status: MarzbanStatus;
  used_traffic: number;
  /** Bytes; null or 0: unlimited. */
  data_limit: number | null;
  data_limit_reset_strategy: MarzbanReset;
  /** Epoch seconds; null or 0: never. */
  expire: number | null;
  note: string;
  /** Epoch ms. */
  created_at: number | null;
  /** Seconds the period lasts once an on_hold user starts. */
  on_hold_expire_duration: number | null;
  /** Epoch ms of the latest traffic reset (user_usage_logs), else null. */
  last_reset_at: number | null;
  proxies: MarzbanProxy[];
}

export interface MarzbanAdmin {
  username: string;
  hashed_password: string | null;
  is_sudo: boolean;
}

export interface MarzbanData {
  users: MarzbanUser[];
  admins: MarzbanAdmin[];
}

/** A knex on the Marzban database: `from` is a mysql:// URL or the path of its SQLite file (opened read-only). */
export function connectMarzban(from: string): Knex {
  if (/^mysql:\/\//.test(from)) {
    return knexFactory({ client: 'mysql2', connection: { uri: from, timezone: 'Z', supportBigNumbers: true, bigNumberStrings: true } as never, pool: { min: 0, max: 2 } });
  }
  return knexFactory({ client: 'better-sqlite3', connection: { filename: from, options: { readonly: true, fileMustExist: true } } as never, useNullAsDefault: true });
}

/**
 * Marzban's DateTime columns hold naive UTC: SQLite gives text ('2024-05-01 10:00:00.123456'),
 * MySQL a Date (read with timezone Z).
 */
function epochMs(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (value instanceof Date) return value.getTime();
  const text = String(value).trim().replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1');
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(ms) ? null : ms;
}

const int = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** SQLite gives JSON columns as text, MySQL as an object and MariaDB (JSON is LONGTEXT there) as text. */
function json(value: unknown): Record<string, unknown> {
  const parsed = typeof value === 'string' || Buffer.isBuffer(value) ? JSON.parse(String(value)) : value;
  return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
}

export async function readMarzban(db: Knex): Promise<MarzbanData> {
  for (const table of ['users', 'proxies', 'admins', 'user_usage_logs']) {
    if (!(await db.schema.hasTable(table))) throw new Error(`it has no ${table} table: the import reads Marzban 0.8's schema`);
  }
  const [users, proxies, admins, resets] = await Promise.all([
    db('users').select('*').orderBy('id'),
    db('proxies').select('user_id', 'type', 'settings').orderBy('id'),
    db('admins').select('*').orderBy('id'),
    db('user_usage_logs').select('user_id').max({ at: 'reset_at' }).groupBy('user_id'),
  ]);
  const proxiesOf = new Map<number, MarzbanProxy[]>();
  for (const p of proxies) {
    const list = proxiesOf.get(Number(p.user_id)) ?? proxiesOf.set(Number(p.user_id), []).get(Number(p.user_id))!;
    list.push({ type: String(p.type).toLowerCase(), settings: json(p.settings) });
  }
  const lastReset = new Map<number, number | null>(resets.map((r: Record<string, unknown>) => [Number(r.user_id), epochMs(r.at)]));
  return {
    users: users.map((u: Record<string, unknown>) => ({
      id: Number(u.id),
      username: String(u.username),
      status: String(u.status) as MarzbanStatus,
      used_traffic: Number(u.used_traffic ?? 0),
      data_limit: int(u.data_limit),
      data_limit_reset_strategy: String(u.data_limit_reset_strategy ?? 'no_reset') as MarzbanReset,
      expire: int(u.expire),
      note: String(u.note ?? ''),
      created_at: epochMs(u.created_at),
      on_hold_expire_duration: int(u.on_hold_expire_duration),
      last_reset_at: lastReset.get(Number(u.id)) ?? null,
      proxies: proxiesOf.get(Number(u.id)) ?? [],
    })),
    admins: admins.map((a: Record<string, unknown>) => ({
      username: String(a.username),
      hashed_password: a.hashed_password === null || a.hashed_password === undefined ? null : String(a.hashed_password),
      is_sudo: Boolean(Number(a.is_sudo ?? 0)),
    })),
  };
}
