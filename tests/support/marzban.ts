// A Marzban database for the import tests, with the tables the importer reads as Marzban 0.8
// defines them (app/db/models.py, and its alembic migrations for the column types: enums are
// stored by their member names, so proxies.type holds VMess/VLESS/Trojan/Shadowsocks; SQLAlchemy
// makes an Enum a VARCHAR as long as its longest name on SQLite and an ENUM on MySQL), filled
// with users that cover every mapping rule. Shared by the SQLite, MariaDB and sing-box tests.
import bcrypt from 'bcryptjs';
import type { Knex } from 'knex';

type Dialect = 'sqlite' | 'mysql';

const enumOf = (...values: string[]) => (d: Dialect) =>
  d === 'mysql' ? `ENUM(${values.map((v) => `'${v}'`).join(', ')})` : `VARCHAR(${Math.max(...values.map((v) => v.length))})`;
const same = (type: string) => () => type;
// An integer primary key: SQLite's rowid, MySQL's AUTO_INCREMENT (SQLAlchemy adds it there).
const id = (d: Dialect) => (d === 'mysql' ? 'INTEGER NOT NULL AUTO_INCREMENT' : 'INTEGER NOT NULL');
const fk = (table: string) => `FOREIGN KEY(${table === 'admins' ? 'admin_id' : 'user_id'}) REFERENCES ${table} (id)`;

/** Per table: its columns (name → type in a dialect), then its constraints. */
const TABLES: [string, Record<string, (d: Dialect) => string>, string[]][] = [
  [
    'admins',
    {
      id,
      username: same('VARCHAR(34)'),
      hashed_password: same('VARCHAR(128)'),
      created_at: same('DATETIME'),
      is_sudo: same('BOOLEAN'),
      password_reset_at: same('DATETIME'),
      telegram_id: same('BIGINT'),
      discord_webhook: same('VARCHAR(1024)'),
      users_usage: same('BIGINT NOT NULL DEFAULT 0'),
    },
    ['PRIMARY KEY (id)', 'UNIQUE (username)'],
  ],
  [
    'users',
    {
      id,
      username: (d) => (d === 'sqlite' ? 'VARCHAR(34) COLLATE NOCASE' : 'VARCHAR(34)'),
      status: (d) => `${enumOf('active', 'disabled', 'limited', 'expired', 'on_hold')(d)} NOT NULL`,
      used_traffic: same('BIGINT'),
      data_limit: same('BIGINT'),
      data_limit_reset_strategy: (d) => `${enumOf('no_reset', 'day', 'week', 'month', 'year')(d)} NOT NULL`,
      expire: same('INTEGER'),
      admin_id: same('INTEGER'),
      sub_revoked_at: same('DATETIME'),
      sub_updated_at: same('DATETIME'),
      sub_last_user_agent: same('VARCHAR(512)'),
      created_at: same('DATETIME'),
      note: same('VARCHAR(500)'),
      online_at: same('DATETIME'),
      on_hold_expire_duration: same('BIGINT'),
      on_hold_timeout: same('DATETIME'),
      auto_delete_in_days: same('INTEGER'),
      edit_at: same('DATETIME'),
      last_status_change: same('DATETIME'),
    },
    ['PRIMARY KEY (id)', 'UNIQUE (username)', fk('admins')],
  ],
  [
    'proxies',
    { id, user_id: same('INTEGER'), type: (d) => `${enumOf('VMess', 'VLESS', 'Trojan', 'Shadowsocks')(d)} NOT NULL`, settings: same('JSON NOT NULL') },
    ['PRIMARY KEY (id)', fk('users')],
  ],
  ['user_usage_logs', { id, user_id: same('INTEGER'), used_traffic_at_reset: same('BIGINT NOT NULL'), reset_at: same('DATETIME') }, ['PRIMARY KEY (id)', fk('users')]],
];

export async function createMarzbanSchema(db: Knex): Promise<void> {
  const dialect: Dialect = db.client.config.client === 'mysql2' ? 'mysql' : 'sqlite';
  for (const [table, columns, constraints] of TABLES) {
    const lines = [...Object.entries(columns).map(([name, type]) => `${name} ${type(dialect)}`), ...constraints];
    await db.raw(`CREATE TABLE ${table} (\n  ${lines.join(',\n  ')}\n)`);
  }
}

const GIB = 1024 ** 3;
const DAY_S = 86_400;
/** Marzban's DateTime as it stores it: naive UTC text. */
const dateTime = (epochS: number) => new Date(epochS * 1000).toISOString().replace('T', ' ').replace('Z', '');

/** The fixture's users and admins, as the test checks them. */
/** Ten days ago, in whole seconds, so that the 30-day users are still running when the test imports them. */
const CREATED = Math.floor(Date.now() / 1000) - 10 * DAY_S;

export const MARZBAN = {
  created: CREATED,
  lastReset: CREATED + 5 * DAY_S,
  uuid: {
    alice: '0b6d3f5e-8c1a-4d2b-9e7f-1a2b3c4d5e01',
    bob: '0b6d3f5e-8c1a-4d2b-9e7f-1a2b3c4d5e02',
    bobVmess: '0b6d3f5e-8c1a-4d2b-9e7f-1a2b3c4d5e03',
    carol: '0b6d3f5e-8c1a-4d2b-9e7f-1a2b3c4d5e04',
    erin: '0b6d3f5e-8c1a-4d2b-9e7f-1a2b3c4d5e05',
    frank: '0b6d3f5e-8c1a-4d2b-9e7f-1a2b3c4d5e06',
    grace: '0b6d3f5e-8c1a-4d2b-9e7f-1a2b3c4d5e07',
  },
  /** What Marzban's random_password makes: 22 URL-safe characters. */
  password: { alice: 'aLiCe_pAsSwOrD-2032abc', carol: 'CaRoL_pAsSwOrD-2032xyz' },
  adminPassword: { root: 'marzban root password', reseller: 'marzban reseller password' },
} as const;

/**
 * Users covering every rule: alice active on all four protocols; bob disabled, his VMess id not
 * his VLESS id; carol limited, VLESS with Vision; dave expired, only a password boxfleet refuses;
 * erin on hold, unlimited; frank never expires, his Shadowsocks password refused; grace's uuid is
 * already a boxfleet user's (the test makes that one); heidi is already in boxfleet by name.
 * Admins: root (sudo) and reseller.
 */
export async function fillMarzban(db: Knex): Promise<void> {
  const { created, uuid, password } = MARZBAN;
  const month = created + 30 * DAY_S;
  await db('admins').insert([
    { id: 1, username: 'root', hashed_password: bcrypt.hashSync(MARZBAN.adminPassword.root, 4), created_at: dateTime(created), is_sudo: true, users_usage: 0 },
    { id: 2, username: 'reseller', hashed_password: bcrypt.hashSync(MARZBAN.adminPassword.reseller, 4), created_at: dateTime(created), is_sudo: false, users_usage: 0 },
  ]);
  const user = (id: number, username: string, fields: Record<string, unknown>) => ({
    id, username, admin_id: 1, created_at: dateTime(created), used_traffic: 0, data_limit: null, data_limit_reset_strategy: 'no_reset', expire: null, note: null, ...fields,
  });
  await db('users').insert([
    user(1, 'alice', { status: 'active', used_traffic: 10 * GIB, data_limit: 50 * GIB, data_limit_reset_strategy: 'month', expire: month, note: 'paid in crypto' }),
    user(2, 'bob', { status: 'disabled', used_traffic: 1 * GIB, data_limit: 50 * GIB, data_limit_reset_strategy: 'month', expire: month }),
    user(3, 'carol', { status: 'limited', used_traffic: 10 * GIB, data_limit: 10 * GIB, data_limit_reset_strategy: 'day', expire: month }),
    user(4, 'dave', { status: 'expired', used_traffic: 5 * GIB, data_limit: 50 * GIB, data_limit_reset_strategy: 'month', expire: created + 10 * DAY_S }),
    user(5, 'erin', { status: 'on_hold', on_hold_expire_duration: 7 * DAY_S, on_hold_timeout: dateTime(month) }),
    user(6, 'frank', { status: 'active', used_traffic: 123, data_limit: 0, data_limit_reset_strategy: 'year' }),
    user(7, 'grace', { status: 'active' }),
    user(8, 'heidi', { status: 'active' }),
  ]);
  const json = (value: object) => JSON.stringify(value);
  await db('proxies').insert([
    { user_id: 1, type: 'VLESS', settings: json({ id: uuid.alice, flow: '' }) },
    { user_id: 1, type: 'VMess', settings: json({ id: uuid.alice }) },
    { user_id: 1, type: 'Trojan', settings: json({ password: password.alice }) },
    { user_id: 1, type: 'Shadowsocks', settings: json({ password: password.alice, method: 'chacha20-ietf-poly1305' }) },
    { user_id: 2, type: 'VLESS', settings: json({ id: uuid.bob, flow: '' }) },
    { user_id: 2, type: 'VMess', settings: json({ id: uuid.bobVmess }) },
    { user_id: 3, type: 'VLESS', settings: json({ id: uuid.carol, flow: 'xtls-rprx-vision' }) },
    { user_id: 3, type: 'Trojan', settings: json({ password: password.carol }) },
    { user_id: 4, type: 'Trojan', settings: json({ password: 'short' }) },
    { user_id: 5, type: 'VLESS', settings: json({ id: uuid.erin, flow: '' }) },
    { user_id: 6, type: 'VLESS', settings: json({ id: uuid.frank, flow: '' }) },
    { user_id: 6, type: 'Shadowsocks', settings: json({ password: 'not a boxfleet password', method: 'aes-256-gcm' }) },
    { user_id: 7, type: 'VLESS', settings: json({ id: uuid.grace, flow: '' }) },
    { user_id: 8, type: 'VLESS', settings: json({ id: '0b6d3f5e-8c1a-4d2b-9e7f-1a2b3c4d5e08', flow: '' }) },
  ]);
  await db('user_usage_logs').insert([
    { user_id: 1, used_traffic_at_reset: 40 * GIB, reset_at: dateTime(created + DAY_S) },
    { user_id: 1, used_traffic_at_reset: 30 * GIB, reset_at: dateTime(MARZBAN.lastReset) },
  ]);
}
