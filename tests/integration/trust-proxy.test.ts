// trust_proxy: behind a reverse proxy the hub sees the client's address in X-Forwarded-For, but
// believes it only from the proxies it names; anyone else could write any address there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';

const PROXY = '10.0.0.1';

describe('a hub behind a trusted reverse proxy', () => {
  let hub: TestHub;
  let attempts = 0;
  // A username per attempt: this is about the per-address limit, not the per-username back-off.
  const login = (remoteAddress: string, forwardedFor: string) =>
    hub.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress,
      headers: { 'x-forwarded-for': forwardedFor },
      payload: { username: `nobody-${++attempts}`, password: 'wrong password' },
    });
  const auditIps = async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/api/v1/audit?action=auth.login&per_page=200', headers: hub.auth });
    return (res.json().items as { ip: string }[]).map((entry) => entry.ip);
  };

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { config: { trust_proxy: `${PROXY}, 192.168.0.0/16`, login_attempts_per_minute: 2 } });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it("records the client's address from the proxy's X-Forwarded-For in the audit log, and the peer's from anyone else", async () => {
    expect((await login(PROXY, '203.0.113.7')).statusCode).toBe(401);
    // A client may send its own X-Forwarded-For; the proxy appends the address it saw, which counts.
    expect((await login('192.168.5.5', '198.51.100.1, 203.0.113.8')).statusCode).toBe(401);
    expect((await login('10.0.0.2', '203.0.113.9')).statusCode).toBe(401);
    const ips = await auditIps();
    expect(ips).toEqual(expect.arrayContaining(['203.0.113.7', '203.0.113.8', '10.0.0.2']));
    expect(ips).not.toContain('198.51.100.1');
    expect(ips).not.toContain('203.0.113.9');
    expect(ips).not.toContain(PROXY);
  });

  it('limits sign-in attempts per client behind the proxy, and an untrusted peer cannot dodge the limit with the header', async () => {
    expect((await login(PROXY, '203.0.113.20')).statusCode).toBe(401);
    expect((await login(PROXY, '203.0.113.20')).statusCode).toBe(401);
    expect((await login(PROXY, '203.0.113.20')).statusCode).toBe(429);
    // Another client through the same proxy has its own attempts.
    expect((await login(PROXY, '203.0.113.21')).statusCode).toBe(401);

    expect((await login('10.0.0.3', '203.0.113.30')).statusCode).toBe(401);
    expect((await login('10.0.0.3', '203.0.113.31')).statusCode).toBe(401);
    const limited = await login('10.0.0.3', '203.0.113.32');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().message).toMatch(/^too many sign-in attempts; try again in \d+ s$/);
  });
});

describe('a hub without trusted proxies', () => {
  it('ignores X-Forwarded-For from every peer', async () => {
    const hub = await startTestHub('sqlite');
    try {
      await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.7' }, payload: { username: 'x', password: 'y' } });
      const res = await hub.app.inject({ method: 'GET', url: '/api/v1/audit?action=auth.login', headers: hub.auth });
      expect(res.json().items.map((entry: { ip: string }) => entry.ip)).toContain('10.0.0.1');
      expect(res.json().items.map((entry: { ip: string }) => entry.ip)).not.toContain('203.0.113.7');
    } finally {
      await hub.close();
    }
  });
});
