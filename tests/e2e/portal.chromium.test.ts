// The end-user portal in a real browser against a real hub: usage, expiry, status, the QR code,
// copy and import per client app, English and Chinese, at 1280 px and on a 390 px phone; a
// suspended user sees why; an unknown token gets the neutral "not valid" page. A screenshot of
// each, and no console error and no Content-Security-Policy violation.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subscription } from '../../hub/db/models.js';
import { launchBrowser, openPage } from '../support/browser.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const SHOTS = path.resolve('test-output/screenshots');
const GB = 1024 ** 3;

describe('end-user portal in Chromium', { timeout: 60_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;
  let alice: string;
  let bob: string;

  const api = async (method: 'GET' | 'POST', route: string, payload?: object) => {
    const res = await hub.app.inject({ method, url: route, headers: hub.auth, ...(payload ? { payload } : {}) });
    if (res.statusCode >= 300) throw new Error(`${method} ${route}: ${res.statusCode} ${res.body}`);
    return res.json();
  };

  /** A user on the plan; returns the user's subscription token and the subscription's id. */
  const subscriber = async (name: string, planId: number) => {
    const user = await api('POST', '/api/v1/users', { name });
    const { sub_token } = await api('GET', `/api/v1/users/${user.id}/credentials`);
    const subscription = await api('POST', '/api/v1/subscriptions', { user_id: user.id, plan_id: planId });
    return { token: sub_token as string, subscriptionId: subscription.id as number };
  };

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    hub = await startTestHub('sqlite');
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    // No node is needed: the portal shows the plan's state, and says when no server is up.
    const plan = await api('POST', '/api/v1/plans', {
      name: 'basic 10 GB',
      traffic_limit_bytes: 10 * GB,
      duration_days: 30,
      price: 5,
      is_enabled: true,
      node_tags: ['hk'],
      reset_policy: 'none',
    });
    const a = await subscriber('alice', plan.id);
    alice = a.token;
    await Subscription.query(hub.app.db).patch({ traffic_used_bytes: 2.5 * GB }).findById(a.subscriptionId);
    const b = await subscriber('bob', plan.id);
    bob = b.token;
    await api('POST', `/api/v1/subscriptions/${b.subscriptionId}/suspend`, {});
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  for (const width of [1280, 390]) {
    it(`shows usage, expiry, the QR code and the client buttons, in English and Chinese, at ${width} px`, async () => {
      const errors: string[] = [];
      const page = await openPage(browser, width, errors);
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
      await page.goto(`${url}/portal/${alice}`);
      await page.getByRole('heading', { name: 'My subscription' }).waitFor();

      // Usage: 2.5 of 10 GB.
      const bar = page.getByRole('progressbar', { name: 'Traffic' });
      await bar.waitFor();
      expect(await bar.getAttribute('aria-valuenow')).toBe('25');
      expect(await page.getByText('25%', { exact: true }).isVisible()).toBe(true);
      expect(await page.getByText('2.5 GB of 10 GB').isVisible()).toBe(true);
      // Expiry: 30 days from now, as a date and as days left.
      const year = String(new Date(Date.now() + 30 * 86_400_000).getFullYear());
      expect(await page.getByText('(in 30 days)').isVisible()).toBe(true);
      expect(await page.getByText(year).first().isVisible()).toBe(true);
      // Status: active, but there is no node, which the hub says with its own code.
      expect(await page.getByText('Active', { exact: true }).isVisible()).toBe(true);
      expect(await page.getByRole('alert').textContent()).toContain('No server is available right now');

      // The QR code of the subscription URL is an image the hub renders, and it loads.
      const qr = page.getByRole('img', { name: 'QR code of the subscription link' });
      await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
      expect(await qr.getAttribute('src')).toBe(`/sub/${alice}/qr.svg`);

      // Copy: the plain link, then one per client app; import links for sing-box and Clash.
      const copies = page.getByRole('button', { name: 'Copy link' });
      expect(await copies.count()).toBe(5);
      await copies.first().click();
      await page.getByRole('button', { name: '✓ Copied' }).waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${url}/sub/${alice}`);
      const singbox = page.getByRole('link', { name: /^Import · sing-box/ });
      expect(await singbox.getAttribute('href')).toBe(
        `sing-box://import-remote-profile?url=${encodeURIComponent(`${url}/sub/${alice}?format=singbox`)}#${encodeURIComponent('boxfleet · alice')}`,
      );
      const clash = page.getByRole('link', { name: /^Import · Clash/ });
      expect(await clash.getAttribute('href')).toBe(`clash://install-config?url=${encodeURIComponent(`${url}/sub/${alice}?format=clash`)}`);
      for (const app of ['Shadowrocket', 'v2rayN / v2rayNG']) expect(await page.getByText(app, { exact: true }).isVisible()).toBe(true);
      await page.screenshot({ path: path.join(SHOTS, `portal-${width}.png`), fullPage: true });

      await page.getByRole('button', { name: '中文' }).click();
      await page.getByRole('heading', { name: '我的订阅' }).waitFor();
      expect(await page.getByText('已用 2.5 GB / 共 10 GB').isVisible()).toBe(true);
      expect(await page.getByText('正常', { exact: true }).isVisible()).toBe(true);
      // The first still says it has copied (for 2 s), now in Chinese.
      expect(await page.getByRole('button', { name: /^(复制链接|✓ 已复制)$/ }).count()).toBe(5);
      expect(await page.getByRole('img', { name: '订阅链接二维码' }).isVisible()).toBe(true);
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
      await page.screenshot({ path: path.join(SHOTS, `portal-zh-${width}.png`), fullPage: true });
      await page.getByRole('button', { name: 'English' }).click();
      await page.getByRole('heading', { name: 'My subscription' }).waitFor();

      expect(errors).toEqual([]);
      await page.context().close();
    });
  }

  it('lists the servers with a copy button and a QR code each', async () => {
    // A user with servers needs a node that runs them; the portal only reads /sub/<token>/info, so
    // that answer is stood in for here (the per-link QR image still comes from the hub: link 0).
    const errors: string[] = [];
    const page = await openPage(browser, 390, errors);
    const info = (await hub.app.inject({ method: 'GET', url: `/sub/${alice}/info` })).json();
    const entries = [
      { name: 'HK 1 ×2', link: 'vless://id@hk.example:443?security=reality#HK%201%20%C3%972' },
      { name: 'US 1', link: 'trojan://pw@us.example:443#US%201' },
    ];
    await page.route(`${url}/sub/${alice}/info`, (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json; charset=utf-8',
        json: { ...info, status: 'active', status_text: 'active', usage: { upload_bytes: 0, download_bytes: 0, total_bytes: null, expires_at: null }, entries },
      }),
    );
    await page.goto(`${url}/portal/${alice}`);
    await page.getByRole('heading', { name: 'Servers' }).waitFor();
    expect(await page.getByText('HK 1 ×2', { exact: true }).isVisible()).toBe(true);
    expect(await page.getByText('US 1', { exact: true }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Copy', exact: true }).count()).toBe(2);
    // No quota and no end: said so, with no bar.
    expect(await page.getByText('0 B used · no limit').isVisible()).toBe(true);
    expect(await page.getByText('Never', { exact: true }).isVisible()).toBe(true);
    expect(await page.getByRole('progressbar').count()).toBe(0);
    await page.getByRole('button', { name: 'QR' }).first().click();
    const qr = page.getByRole('img', { name: 'QR · HK 1 ×2' });
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'portal-servers-390.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows a suspended user why, on a phone', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 390, errors);
    await page.goto(`${url}/portal/${bob}`);
    await page.getByText('Suspended', { exact: true }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('Your subscription is suspended.');
    expect(await page.getByRole('progressbar', { name: 'Traffic' }).getAttribute('aria-valuenow')).toBe('0');
    expect(await page.getByRole('heading', { name: 'Servers' }).count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'portal-suspended-390.png'), fullPage: true });
    // The reason comes as a code, so it reads in Chinese too.
    await page.getByRole('button', { name: '中文' }).click();
    await page.getByText('已暂停', { exact: true }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('订阅已暂停。');
    await page.getByRole('button', { name: 'English' }).click();
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows an unknown token a neutral "not valid" page', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 390, errors);
    await page.goto(`${url}/portal/${'x'.repeat(43)}`);
    await page.getByRole('heading', { name: 'This link is not valid' }).waitFor();
    expect(await page.getByRole('progressbar').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'portal-invalid-390.png'), fullPage: true });
    // The hub answers an unknown token 404 by design and Chromium logs that; nothing else may.
    expect(errors.filter((e) => !e.includes('404'))).toEqual([]);
    await page.context().close();
  });
});
