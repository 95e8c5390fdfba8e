// What the hub takes in a request and what its audit log keeps of one: bodies that nest too deep or
// are too big are refused before validation, every string field is bounded, and the audit record
// is bounded too, written even when its input cannot be, and not grown without bound by callers
// who are not signed in.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditEntry } from '../../hub/db/models.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';

const deepObject = (depth: number, leaf: unknown = 1) => '{"a":'.repeat(depth) + JSON.stringify(leaf) + '}'.repeat(depth);

export function requestLimitsSuite(kind: DatabaseKind): void {
  describe(`request limits and the audit log, on ${kind}`, () => {
    let hub: TestHub;
    const auditRows = () => hub.app.db('audit_log').orderBy('id');
    /** The newest audit row, once it has been written after `count` rows. */
    const nextRow = async (count: number) =>
      until('an audit row', async () => {
        const rows = await auditRows();
        return rows.length > count ? rows.at(-1) : undefined;
      });
    const post = (url: string, payload: string, headers: Record<string, string> = hub.auth) =>
      hub.app.inject({ method: 'POST', url, payload, headers: { ...headers, 'content-type': 'application/json' } });

    beforeAll(async () => {
      hub = await startTestHub(kind);
    });
    afterAll(async () => {
      await hub?.close();
    });

    it('refuses a body nested deeper than 64 levels with 400, saves nothing and audits the refusal', async () => {
      const before = (await auditRows()).length;
      for (const depth of [65, 4_000, 5_000, 100_000]) {
        const res = await post('/api/v1/configs', `{"config":${deepObject(depth)}}`);
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual({ statusCode: 400, code: 'HUB_ERR_BAD_REQUEST', message: 'body nests deeper than 64 levels' });
      }
      const command = await post('/api/v1/nodes/n1/commands/singbox-config.users.sync', deepObject(2_000));
      expect(command.statusCode).toBe(400);
      expect(command.json().message).toBe('body nests deeper than 64 levels');
      const [counted] = await hub.app.db('config_versions').count({ n: '*' });
      expect(Number(counted?.n)).toBe(0);
      const rows = await until('5 audit rows', async () => {
        const all = await auditRows();
        return all.length >= before + 5 ? all.slice(before) : undefined;
      });
      expect(rows.map((r) => [r.action, r.result, r.status_code, r.error])).toEqual([
        ...Array(4).fill(['config.create', 'error', 400, 'body nests deeper than 64 levels']),
        ['node.command', 'error', 400, 'body nests deeper than 64 levels'],
      ]);
    });

    it('takes a body nested 64 levels deep', async () => {
      const res = await post('/api/v1/configs', `{"config":{"route":${deepObject(62)}}}`);
      expect(res.statusCode).toBe(201);
    });

    it('limits bodies to 64 KB except where a route needs more, and stores no oversized body', async () => {
      const before = (await auditRows()).length;
      const login = await post('/api/v1/auth/login', JSON.stringify({ username: 'x', password: 'y', extra: 'z'.repeat(15 * 1024 * 1024) }), {});
      expect(login.statusCode).toBe(413);
      expect(login.json()).toMatchObject({ statusCode: 413, code: 'HUB_ERR_BAD_REQUEST' });
      const row = await nextRow(before);
      expect(row).toMatchObject({ action: 'auth.login', status_code: 413, input: null });

      const user = await post('/api/v1/users', JSON.stringify({ name: 'ann', note: 'n'.repeat(70 * 1024) }));
      expect(user.statusCode).toBe(413);
      // A config version may be megabytes (inline rule sets); it is checked, not cut off at 64 KB.
      const config = await post('/api/v1/configs', JSON.stringify({ config: { route: { rules: [{ domain: ['a'.repeat(200 * 1024)] }] } } }));
      expect(config.statusCode).not.toBe(413);
    });

    it('bounds every string field: a 1 MB node address or a 60 KB username is refused by the schema', async () => {
      const patch = await hub.app.inject({ method: 'PATCH', url: '/api/v1/nodes/n1', headers: hub.auth, payload: { address: `${'a'.repeat(1024 * 1024)}:1` } });
      expect(patch.statusCode).toBe(413);
      const address = await hub.app.inject({ method: 'PATCH', url: '/api/v1/nodes/n1', headers: hub.auth, payload: { address: `${'a'.repeat(60 * 1024)}:1` } });
      expect(address.statusCode).toBe(400);
      expect(address.json().message).toBe('body.address: must NOT have more than 261 characters');

      const before = (await auditRows()).length;
      const login = await post('/api/v1/auth/login', JSON.stringify({ username: 'u'.repeat(60 * 1024), password: 'y' }), {});
      expect(login.statusCode).toBe(400);
      expect(login.json().message).toBe('body.username: must NOT have more than 64 characters');
      const row = await nextRow(before);
      expect(row.admin.length).toBeLessThanOrEqual(64);
      expect(row.admin).toMatch(/^u{32}…\[truncated 61408 bytes\]$/);
      const input = JSON.parse(row.input);
      expect(input).toMatchObject({ _truncated: true, bytes: JSON.stringify({ username: 'u'.repeat(60 * 1024), password: '[redacted]' }).length });
      expect(input.head).toMatch(/^\{"username":"u+…\[truncated \d+ bytes\]$/);
      expect(row.input.length).toBeLessThan(5 * 1024);
    });

    it('stores at most 16 KB of a big input, redacted, so that a page of the audit log stays small', async () => {
      const before = (await auditRows()).length;
      const users = Array.from({ length: 2_000 }, (_, i) => ({ name: `user-${i}`, password: `secret-${i}` }));
      const res = await post('/api/v1/nodes/nowhere/commands/singbox-config.users.sync', JSON.stringify({ revision: 1, users }));
      expect(res.statusCode).toBe(404);
      const row = await nextRow(before);
      expect(row).toMatchObject({ action: 'node.command', status_code: 404 });
      const input = JSON.parse(row.input);
      expect(input._truncated).toBe(true);
      expect(input.head).toContain('{"name":"user-0","password":"[redacted]"}');
      expect(row.input).not.toContain('secret-');
      const page = await hub.app.inject({ method: 'GET', url: '/api/v1/audit?per_page=50', headers: hub.auth });
      expect(page.statusCode).toBe(200);
      expect(page.body.length).toBeLessThan(50 * 17 * 1024);
    });

    it('writes the row without its input, saying why, when the full row cannot be written', async () => {
      const before = (await auditRows()).length;
      const failing = { insert: () => Promise.reject(new Error('disk full')) } as unknown as ReturnType<typeof AuditEntry.query>;
      vi.spyOn(AuditEntry, 'query').mockImplementationOnce(() => failing);
      const res = await post('/api/v1/users', JSON.stringify({ name: 'minimal-row' }));
      expect(res.statusCode).toBe(201);
      const row = await nextRow(before);
      expect(row).toMatchObject({ action: 'user.create', result: 'ok', status_code: 201, input: null, error: 'audit input not recorded: disk full' });
      vi.restoreAllMocks();
    });

    it('keeps at most 10 rows a minute per address and action for callers who are not signed in, counting the rest', async () => {
      const before = (await auditRows()).length;
      for (let i = 0; i < 60; i++) {
        const res = await post('/api/v1/users', JSON.stringify({ name: `flood-${i}` }), {});
        expect(res.statusCode).toBe(401);
      }
      const rows = await until('the count on the tenth row', async () => {
        const added = (await auditRows()).slice(before);
        return added.at(-1)?.error?.startsWith('51 requests') ? added : undefined;
      });
      expect(rows).toHaveLength(10);
      expect(rows.every((r) => r.action === 'user.create' && r.status_code === 401 && r.admin === '')).toBe(true);
      expect(rows.at(-1).error).toMatch(/^51 requests like this from this address within a minute; the first: sign in first: /);
      // A signed-in admin's requests are never folded into a count.
      const signedIn = await post('/api/v1/users', JSON.stringify({ name: 'after-flood' }));
      expect(signedIn.statusCode).toBe(201);
      expect(await nextRow(before + 10)).toMatchObject({ action: 'user.create', result: 'ok', admin: 'test-owner' });
    });

    it('counts on the newest row of each address even when its refusals come all at once, from many addresses', async () => {
      const before = (await auditRows()).length;
      const addresses = Array.from({ length: 8 }, (_, i) => `203.0.113.${i + 1}`);
      const refusals = addresses.flatMap((remoteAddress) =>
        Array.from({ length: 20 }, (_, i) => hub.app.inject({ method: 'DELETE', url: `/api/v1/plans/${i + 1}`, remoteAddress })),
      );
      expect((await Promise.all(refusals)).map((res) => res.statusCode)).toEqual(Array(refusals.length).fill(401));
      const rows = await until('every address counted', async () => {
        const added = (await auditRows()).slice(before);
        return addresses.every((ip) => added.some((r) => r.ip === ip && r.error?.startsWith('11 requests'))) ? added : undefined;
      });
      for (const ip of addresses) {
        const mine = rows.filter((r) => r.ip === ip);
        expect(mine).toHaveLength(10);
        expect(mine.at(-1).error).toMatch(/^11 requests like this from this address within a minute; the first: sign in first: /);
      }
    });
  });
}
