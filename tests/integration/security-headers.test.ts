// Browser security headers: the dashboard and the portal under a strict CSP that names the hub's
// own WebSocket, the API docs under one that swagger-ui works with, every other answer (API, /sub,
// assets, errors) under a CSP that allows nothing; nosniff, no framing and no Referer everywhere;
// HSTS only over HTTPS (to the hub itself, or from a trusted proxy).
import https from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub.js';

const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws://panel.example.com:8080 wss://panel.example.com:8080; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const NOTHING_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const EVERYWHERE = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' };

describe('security headers', () => {
  let hub: TestHub;
  let token: string;
  const get = (url: string, headers: Record<string, string> = {}) =>
    hub.app.inject({ method: 'GET', url, headers: { host: 'panel.example.com:8080', ...headers } });

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { config: { trust_proxy: '10.0.0.1' } });
    const { id } = (await hub.app.inject({ method: 'POST', url: '/api/v1/users', headers: hub.auth, payload: { name: 'alice' } })).json();
    token = (await hub.app.inject({ method: 'GET', url: `/api/v1/users/${id}/credentials`, headers: hub.auth })).json().sub_token;
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('puts the dashboard and the portal under the strict page CSP', async () => {
    for (const url of ['/', '/portal/x', `/portal/${token}`]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers, url).toMatchObject({ 'content-security-policy': PAGE_CSP, ...EVERYWHERE });
      expect(res.headers['strict-transport-security'], url).toBeUndefined();
    }
  });

  it('names no WebSocket host in the page CSP when the Host header could not be a CSP source', async () => {
    const res = await get('/', { host: "evil; script-src 'unsafe-inline'" });
    expect(res.headers['content-security-policy']).toContain("connect-src 'self'; ");
    expect(res.headers['content-security-policy']).not.toContain('evil');
  });

  it('lets the page load only its own script and style sheet, with nosniff', async () => {
    for (const [url, type] of [['/assets/app.js', 'text/javascript; charset=utf-8'], ['/assets/page.css', 'text/css; charset=utf-8']]) {
      const res = await get(url!);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers, url).toMatchObject({ 'content-type': type, 'content-security-policy': NOTHING_CSP, ...EVERYWHERE });
    }
    expect((await get('/')).body).not.toMatch(/<style|<script>|\son\w+=/);
  });

  it('puts the API docs under their own CSP', async () => {
    for (const url of ['/docs', '/docs/static/swagger-initializer.js', '/docs/json']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers, url).toMatchObject({ 'content-security-policy': DOCS_CSP, ...EVERYWHERE });
    }
  });

  it('answers the API, subscriptions and errors under a CSP that allows nothing', async () => {
    const answers = [
      [await get('/api/v1/nodes', hub.auth), 200],
      [await get('/api/v1/nodes'), 401],
      [await get('/api/v1/no-such-route'), 404],
      [await hub.app.inject({ method: 'POST', url: '/api/v1/users', headers: { host: 'panel.example.com:8080', ...hub.auth }, payload: { name: 'bob' } }), 201],
      [await get(`/sub/${token}/qr.svg`), 200],
      [await get('/sub/not-a-token'), 404],
      [await get('/health'), 200],
    ] as const;
    for (const [res, status] of answers) {
      expect(res.statusCode, res.body).toBe(status);
      expect(res.headers, res.body).toMatchObject({ 'content-security-policy': NOTHING_CSP, ...EVERYWHERE });
    }
  });

  it('sends HSTS when a trusted proxy says the client came over HTTPS, and only then', async () => {
    const via = (remoteAddress: string, proto: string) =>
      hub.app.inject({ method: 'GET', url: '/', remoteAddress, headers: { host: 'panel.example.com', 'x-forwarded-proto': proto } });
    expect((await via('10.0.0.1', 'https')).headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await via('10.0.0.1', 'http')).headers['strict-transport-security']).toBeUndefined();
    expect((await via('10.0.0.2', 'https')).headers['strict-transport-security']).toBeUndefined();
  });
});

describe('security headers of a hub serving HTTPS itself', () => {
  let hub: TestHub;
  let dir: string;
  let cert: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-tls-'));
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'boxfleet test hub' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    cert = pems.cert;
    await writeFile(path.join(dir, 'hub.crt'), pems.cert);
    await writeFile(path.join(dir, 'hub.key'), pems.private);
    hub = await startTestHub('sqlite', { config: { tls_cert: path.join(dir, 'hub.crt'), tls_key: path.join(dir, 'hub.key') } });
  });
  afterAll(async () => {
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends HSTS with every answer', async () => {
    const url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      https.get(`${url}/health`, { ca: cert }, (res) => resolve(res.resume().headers)).on('error', reject);
    });
    expect(headers).toMatchObject({ 'strict-transport-security': 'max-age=31536000', ...EVERYWHERE });
  });
});
