// The Marzban mapping rules the database tests do not reach: --plan-map (its file and its
// matching), users without proxies, Shadowsocks methods, admins whose hash or name cannot be kept.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planImport, type Existing } from '../../../hub/import/marzban-map.js';
import { readPlanMap } from '../../../hub/import/marzban-plan-map.js';
import type { MarzbanUser } from '../../../hub/import/marzban-source.js';

const NOW = Date.parse('2030-06-01T00:00:00Z');
const DAY_S = 86_400;
const GIB = 1024 ** 3;
const gold = { id: 7, name: 'Gold', traffic_limit_bytes: 100 * GIB, duration_days: 31, reset_policy: 'monthly' as const };
const existing = (): Existing => ({ userNames: new Set(), adminNames: new Set(['owner']), uuids: new Map(), plans: new Map([['gold', gold]]) });

function user(id: number, fields: Partial<MarzbanUser>): MarzbanUser {
  return {
    id, username: `u${id}`, status: 'active', used_traffic: 0, data_limit: 50 * GIB, data_limit_reset_strategy: 'month',
    expire: NOW / 1000 + 30 * DAY_S, note: '', created_at: NOW, on_hold_expire_duration: null, last_reset_at: null,
    proxies: [{ type: 'vless', settings: { id: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`, flow: '' } }],
    ...fields,
  };
}

describe('Marzban import mapping', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-planmap-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('sends users a --plan-map rule matches to that plan, keeping their own limit and expiry, and the rest to derived plans', async () => {
    const file = path.join(dir, 'map.yaml');
    await writeFile(file, `- { data_limit: ${50 * GIB}, reset: month, plan: gold }\n`);
    const planMap = await readPlanMap(file);
    const plan = planImport({ users: [user(1, {}), user(2, { data_limit_reset_strategy: 'week' })], admins: [] }, existing(), { now: NOW, planMap });
    expect(plan.plans).toEqual([
      { ...gold, users: 1 },
      { id: null, name: 'Marzban 50 GiB · 30 days · weekly', traffic_limit_bytes: 50 * GIB, duration_days: 30, reset_policy: 'weekly', users: 1 },
    ]);
    expect(plan.users[0]).toMatchObject({ name: 'u1', plan: 'Gold', subscription: { traffic_total_bytes: 50 * GIB, end_time: NOW + 30 * DAY_S * 1000 } });
  });

  it('refuses a plan map with a field it does not know, naming the file and the field', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify([{ limit: 1, plan: 'Gold' }]));
    await expect(readPlanMap(file)).rejects.toThrow(`${file}.0.limit: unknown field`);
  });

  it('gives a user without proxies new credentials, and keeps Shadowsocks passwords only for methods that take one', () => {
    const plan = planImport(
      {
        users: [
          user(1, { proxies: [] }),
          user(2, { proxies: [{ type: 'shadowsocks', settings: { password: 'a-good-password-12345', method: 'xchacha20-poly1305' } }] }),
          user(3, { proxies: [{ type: 'shadowsocks', settings: { password: 'a-good-password-12345', method: '2022-blake3-aes-128-gcm' } }] }),
        ],
        admins: [],
      },
      existing(),
      { now: NOW, planMap: [] },
    );
    expect(plan.users.map((u) => u.name)).toEqual(['u1', 'u2', 'u3']);
    expect(plan.users[1]!.password).toBe('a-good-password-12345');
    expect(plan.ssMethods).toEqual({ 'xchacha20-ietf-poly1305': 1, '2022-blake3-aes-128-gcm': 1 });
    expect(plan.changed).toEqual([
      { record: 'user u1', reason: 'had no proxies in Marzban; gets new credentials' },
      { record: 'user u3', reason: 'shadowsocks method 2022-blake3-aes-128-gcm takes no per-user password here; its clients using it need the new config' },
    ]);
  });

  it('keeps an admin whose hash is not bcrypt without it, and reports admins it cannot name or that exist', () => {
    const plan = planImport(
      {
        users: [],
        admins: [
          { username: 'owner', hashed_password: null, is_sudo: true },
          { username: 'x', hashed_password: null, is_sudo: false },
          { username: 'plain', hashed_password: 'md5:abc', is_sudo: false },
        ],
      },
      existing(),
      { now: NOW, planMap: [] },
    );
    expect(plan.present.admins).toEqual(['owner']);
    expect(plan.admins).toEqual([{ username: 'plain', role: 'operator', password_hash: null }]);
    expect(plan.unmappable).toEqual([{ record: 'admin x', reason: 'the name is refused by boxfleet (^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$)' }]);
    expect(plan.changed[0]!.record).toBe('admin plain');
  });
});
