// The REALITY key generator and what becomes of its keys in a saved base config: admins get a pair,
// below admin nobody reads the private key back (hub/redact.ts); a Vision flow is checked at save.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realityPublicKey } from '../../hub/reality.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';

describe('REALITY keys and Vision in base configs', () => {
  let hub: TestHub;
  const generate = async (headers: { authorization: string }) => hub.app.inject({ method: 'POST', url: '/api/v1/configs/reality-keypair', headers });

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
  });

  afterAll(async () => {
    await hub?.close();
  });

  it('generates a key pair for admins only', async () => {
    const res = await generate(await hub.as('admin'));
    expect(res.statusCode).toBe(200);
    const pair = res.json();
    expect(Object.keys(pair).sort()).toEqual(['private_key', 'public_key', 'short_id']);
    expect(realityPublicKey(pair.private_key)).toBe(pair.public_key);
    expect(pair.short_id).toMatch(/^[0-9a-f]{16}$/);
    expect((await generate(await hub.as('operator'))).statusCode).toBe(403);
    // Who asked is audited; the keys, which are only in the answer, are not.
    const row = await until('the audit row of the key pair', async () => (await hub.app.db('audit_log').where({ action: 'config.reality-keypair', admin: 'test-admin' }).first()) ?? undefined);
    expect(JSON.stringify(row)).not.toContain(pair.private_key);
  });

  it('saves a VLESS+REALITY+Vision inbound with the generated keys, whose private key only admins read back', async () => {
    const pair = (await generate(hub.auth)).json();
    const inbound = {
      type: 'vless',
      tag: 'vless-reality',
      listen_port: 443,
      flow: 'xtls-rprx-vision',
      tls: { enabled: true, server_name: 'www.example.com', reality: { enabled: true, handshake: { server: 'www.example.com', server_port: 443 }, private_key: pair.private_key, short_id: [pair.short_id] } },
    };
    const saved = await hub.app.inject({ method: 'POST', url: '/api/v1/configs', headers: hub.auth, payload: { config: { inbounds: [inbound] } } });
    expect(saved.statusCode, saved.body).toBe(201);
    const read = async (headers: { authorization: string }) => {
      const res = await hub.app.inject({ method: 'GET', url: `/api/v1/configs/${saved.json().id}`, headers });
      expect(res.statusCode).toBe(200);
      return res;
    };
    expect((await read(await hub.as('admin'))).json().config.inbounds[0]).toEqual(inbound);
    for (const role of ['operator', 'viewer'] as const) {
      const res = await read(await hub.as(role));
      expect(res.body, role).not.toContain(pair.private_key);
      const shown = res.json().config.inbounds[0];
      expect(shown.tls.reality, role).toEqual({ ...inbound.tls.reality, private_key: '[redacted]' });
      expect(shown.flow, role).toBe('xtls-rprx-vision');
    }
  });

  it('refuses a Vision flow the inbound cannot carry, naming the path, and saves nothing', async () => {
    const before = (await hub.app.inject({ method: 'GET', url: '/api/v1/configs', headers: hub.auth })).json().total;
    const res = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/configs',
      headers: hub.auth,
      payload: { config: { inbounds: [{ type: 'vless', tag: 'ws', listen_port: 80, flow: 'xtls-rprx-vision', transport: { type: 'ws' } }] } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('body.config.inbounds[0].flow: xtls-rprx-vision needs TLS (tls.enabled, plain or REALITY)');
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/configs', headers: hub.auth })).json().total).toBe(before);
  });
});
