// A user's traffic in a real browser against a real hub: a viewer opens the user's page from the
// users list and sees the chart of days, the days with traffic and the table per node, rolled-up
// and pending usage counted alike; the user's portal shows the same days as bars and the servers
// by name. One hub, one browser, one page; no console error and no CSP violation.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../hub/admins.js';
import { insertPending } from '../../hub/billing/usage-pending.js';
import { Node } from '../../hub/db/models.js';
import { launchBrowser, nav, openPage, signIn } from '../support/browser.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';

const SHOTS = path.resolve('test-output/screenshots');
const PASSWORD = 'usage-test-password';
const MB = 1024 ** 2;
const DAY = 86_400_000;

describe("a user's usage in the dashboard and the portal, in Chromium", { timeout: 60_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  let token: string;
  // Days are UTC days (reset_timezone's default); the usage sits at the start of today and at noon yesterday.
  const today = Math.floor(Date.now() / DAY) * DAY;
  const iso = (t: number) => new Date(t).toISOString().slice(0, 10);

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    hub = await startTestHub('sqlite');
    await createAdmin('vera', PASSWORD, 'viewer');
    const node = { address: '198.51.100.9:7443', insecure: true, token: 'x'.repeat(24) };
    await Node.query(hub.app.db).insert({ ...node, id: 'hk-1', name: 'Hong Kong 1', tags: ['hk'] });
    await Node.query(hub.app.db).insert({ ...node, id: 'us-1', name: 'US 1', tags: ['us'] });
    const alice = await ownerApi(hub, 'POST', '/api/v1/users', { name: 'alice' });
    token = (await ownerApi(hub, 'GET', `/api/v1/users/${alice.id}/credentials`)).sub_token;
    const row = (node_id: string, hour: number, up: number, down: number, billed: number) => ({
      node_id,
      user_id: alice.id,
      hour,
      upload_bytes: up * MB,
      download_bytes: down * MB,
      billed_bytes: billed * MB,
    });
    await hub.app.db('usage_hourly').insert([row('hk-1', today - DAY / 2, 1, 2, 3), row('hk-1', today, 1, 3, 4)]);
    // Not rolled up yet: billed at twice the bytes on us-1.
    await hub.app.db.transaction((trx) =>
      insertPending(trx, [{ nodeId: 'us-1', hour: today, upload: MB, download: MB, billed: 4 * MB, cells: [alice.id, MB, MB, 4 * MB] }]),
    );
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
    page = await openPage(browser, 1280, errors);
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it("shows a viewer the user's days as a chart and a table, and the nodes, from the users list", async () => {
    await signIn(page, url, 'vera', PASSWORD);
    await nav(page, 'Users');
    await page.getByRole('link', { name: 'usage · alice' }).click();
    const usage = page.locator('section[data-usage]');
    await usage.getByText('Days with traffic').waitFor();
    expect((await usage.locator('[data-totals]').innerText()).split('\n')).toEqual(['Upload 3.0 MB', 'Download 6.0 MB', 'Billed 11.0 MB']);
    // The chart holds the 30 days, three series each (upload and download stacked, billed), and is drawn.
    const chart = usage.locator('bf-chart');
    expect(await chart.getAttribute('data-points')).toBe('90');
    expect(await chart.getByRole('img', { name: 'Traffic per day' }).isVisible()).toBe(true);
    await usage.locator('bf-chart canvas').first().waitFor();
    // Newest day first; today counts the pending bytes too.
    const days = await usage.locator('table[data-days] tbody tr').allInnerTexts();
    expect(days).toEqual([`${iso(today)}\t2.0 MB\t4.0 MB\t8.0 MB`, `${iso(today - DAY)}\t1.0 MB\t2.0 MB\t3.0 MB`]);
    const nodes = await usage.locator('table[data-nodes] tbody tr').allInnerTexts();
    expect(nodes).toEqual(['Hong Kong 1\t2.0 MB\t5.0 MB\t7.0 MB', 'US 1\t1.0 MB\t1.0 MB\t4.0 MB']);
    // The subscription card of the same user heads the page.
    expect(await page.getByRole('region', { name: 'alice' }).getByText('No subscription.').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'user-usage.png'), fullPage: true });
  });

  it('shows the user, in their portal, their days as bars and their servers by name', async () => {
    await page.goto(`${url}/portal/${token}`);
    const bars = page.getByRole('list', { name: 'Traffic per day' });
    await bars.waitFor();
    expect(await bars.getByRole('listitem').count()).toBe(30);
    const label = (t: number) => new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(t);
    expect(await bars.getByRole('listitem', { name: `${label(today)}: 8 MB` }).isVisible()).toBe(true);
    expect(await bars.getByRole('listitem', { name: `${label(today - DAY)}: 3 MB` }).isVisible()).toBe(true);
    expect(await page.getByText('11 MB in the last 30 days (days in UTC)').isVisible()).toBe(true);
    expect(await page.getByRole('list', { name: 'By server' }).getByRole('listitem').allInnerTexts()).toEqual(['Hong Kong 1\n7 MB', 'US 1\n4 MB']);
    expect(await page.getByText(/hk-1|us-1|198\.51\.100\.9/).count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'portal-usage.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('asks an admin the hub requires a new password of (one brought over from Marzban) for it at sign-in, then signs them in', async () => {
    await createAdmin('mia', PASSWORD, 'viewer');
    await hub.app.db('admins').where({ username: 'mia' }).update({ must_change_password: true });
    const own: string[] = [];
    const fresh = await openPage(browser, 1280, own);
    await fresh.goto(url);
    await fresh.getByLabel('Username').fill('mia');
    await fresh.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await fresh.getByRole('button', { name: 'Sign in' }).click();
    await fresh.getByLabel('New password').fill('a-new-password-for-mia');
    await fresh.getByRole('button', { name: 'Set the new password and sign in' }).click();
    await fresh.getByRole('heading', { name: 'Overview' }).waitFor();
    const login = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'mia', password: 'a-new-password-for-mia' } });
    expect(login.statusCode).toBe(200);
    // The browser logs the refused first sign-in (403) as a failed load; nothing else may appear.
    expect(own.filter((line) => !line.includes('status of 403'))).toEqual([]);
  });
});
