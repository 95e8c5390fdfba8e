// public_url: every link the hub gives out (subscription and portal URLs in the API, the QR code,
// the profile's web page header the portal reads) starts with the hub's public address, whatever
// address the request came in by; without it, links follow the request (behind a trusted proxy,
// its X-Forwarded-Proto and -Host).
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_VERSION } from '../../agent-core/common/version.js';
import { startTestHub, type TestHub } from '../support/hub.js';

/** A new user's subscription token, made through the API. */
async function newUserToken(hub: TestHub, name: string): Promise<{ id: number; token: string }> {
  const { id } = (await hub.app.inject({ method: 'POST', url: '/api/v1/users', headers: hub.auth, payload: { name } })).json();
  const { sub_token } = (await hub.app.inject({ method: 'GET', url: `/api/v1/users/${id}/credentials`, headers: hub.auth })).json();
  return { id, token: sub_token };
}

/** What the hub answers, reached at an internal address. */
const internal = (hub: TestHub, url: string, headers: Record<string, string> = {}) =>
  hub.app.inject({ method: 'GET', url, headers: { host: '10.0.0.5:8080', ...headers } });

describe('a hub with a public URL', () => {
  const PUBLIC = 'https://panel.example.com';
  let hub: TestHub;
  let user: { id: number; token: string };

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { config: { public_url: `${PUBLIC}/` } });
    user = await newUserToken(hub, 'alice');
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('tells the dashboard its version and public URL', async () => {
    const res = await internal(hub, '/api/v1/info', await hub.as('viewer'));
    expect(res.json()).toEqual({ version: AGENT_VERSION, public_url: PUBLIC });
  });

  it("gives a user's subscription and portal links at the public URL, also after the token is rotated", async () => {
    const credentials = (await internal(hub, `/api/v1/users/${user.id}/credentials`, hub.auth)).json();
    expect(credentials).toMatchObject({ subscription_url: `${PUBLIC}/sub/${user.token}`, portal_url: `${PUBLIC}/portal/${user.token}` });
    const rotated = (await hub.app.inject({ method: 'POST', url: `/api/v1/users/${user.id}/token/rotate`, headers: { ...hub.auth, host: '10.0.0.5' } })).json();
    expect(rotated).toMatchObject({ subscription_url: `${PUBLIC}/sub/${rotated.sub_token}`, portal_url: `${PUBLIC}/portal/${rotated.sub_token}` });
    user.token = rotated.sub_token;
  });

  it("names the user's portal at the public URL in the subscription's profile-web-page-url", async () => {
    const res = await internal(hub, `/sub/${user.token}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['profile-web-page-url']).toBe(`${PUBLIC}/portal/${user.token}`);
  });

  it('draws the QR code of the subscription URL at the public URL', async () => {
    const res = await internal(hub, `/sub/${user.token}/qr.svg`);
    expect(res.body).toBe(await QRCode.toString(`${PUBLIC}/sub/${user.token}`, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }));
  });
});

describe('a hub without a public URL', () => {
  let hub: TestHub;

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { config: { trust_proxy: '10.0.0.1' } });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('gives links at the address the request came to', async () => {
    const user = await newUserToken(hub, 'bob');
    expect((await internal(hub, '/api/v1/info', hub.auth)).json().public_url).toBe('http://10.0.0.5:8080');
    expect((await internal(hub, `/api/v1/users/${user.id}/credentials`, hub.auth)).json().subscription_url).toBe(`http://10.0.0.5:8080/sub/${user.token}`);
    expect((await internal(hub, `/sub/${user.token}`)).headers['profile-web-page-url']).toBe(`http://10.0.0.5:8080/portal/${user.token}`);
  });

  it("gives links at the address a trusted proxy says the client used, and ignores anyone else's say", async () => {
    const user = await newUserToken(hub, 'carol');
    const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'panel.example.net' };
    const viaProxy = await hub.app.inject({ method: 'GET', url: `/sub/${user.token}`, remoteAddress: '10.0.0.1', headers: { host: '10.0.0.5:8080', ...forwarded } });
    expect(viaProxy.headers['profile-web-page-url']).toBe(`https://panel.example.net/portal/${user.token}`);
    const direct = await hub.app.inject({ method: 'GET', url: `/sub/${user.token}`, remoteAddress: '10.0.0.9', headers: { host: '10.0.0.5:8080', ...forwarded } });
    expect(direct.headers['profile-web-page-url']).toBe(`http://10.0.0.5:8080/portal/${user.token}`);
  });
});
