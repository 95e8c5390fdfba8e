// The users table in a real browser against a real hub: sort and filter it (the address keeps the
// view: reload and Back show it again), bulk-extend three selected users and see each row's new
// expiry, bulk-suspend everyone a filter matches, create a customer with a plan in one dialog and
// copy their link; screenshots at 1280 and 390 px in English and Chinese. Then, with 10,000 users,
// the time from the first page's fetch to its rows on screen, by the browser's own clock.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../hub/admins.js';
import { launchBrowser, nav, openPage, signIn } from '../support/browser.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { seedManyUsers } from '../support/users-seed.js';

const SHOTS = path.resolve('test-output/screenshots');
const PASSWORD = 'users-table-password';
const DAY = 86_400_000;
const GiB = 2 ** 30;

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
/** The names in the table, top to bottom. */
const names = (page: Page) => page.locator('bf-users-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.user));
/** Each row's expiry as the hub gave it, by name. */
const expiries = (page: Page) =>
  page.locator('bf-users-table tbody tr').evaluateAll((rows) =>
    Object.fromEntries(rows.map((r) => [(r as HTMLElement).dataset.user, r.querySelector<HTMLElement>('[data-expires]')!.dataset.expires])),
  );

describe('the users table in Chromium', { timeout: 120_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;
  let gold: { id: number };

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    hub = await startTestHub('sqlite');
    await createAdmin('olga', PASSWORD, 'owner');
    gold = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'Gold', traffic_limit_bytes: 100 * GiB, duration_days: 30 });
    const trial = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'Trial', traffic_limit_bytes: GiB, duration_days: 7 });
    for (const [name, plan, note] of [
      ['alice', gold, 'pays yearly'],
      ['bob', gold, ''],
      ['carol', gold, 'reseller'],
      ['dave', gold, ''],
      ['erin', trial, 'reseller'],
      ['frank', null, ''],
    ] as const) {
      await ownerApi(hub, 'POST', '/api/v1/users', { name, note, ...(plan ? { plan: { id: plan.id } } : {}) });
    }
    // Some traffic for erin: half of the trial used, the last of it two hours ago.
    const erin = (await ownerApi(hub, 'GET', '/api/v1/users?q=erin')).items[0];
    await hub.app.db('subscriptions').where({ user_id: erin.id }).update({ traffic_used_bytes: GiB / 2 });
    await hub.app.db('nodes').insert({ id: 'n-1', name: 'n-1', address: '127.0.0.1:1', insecure: true, token: 't'.repeat(20), tags: '[]', created_at: Date.now(), updated_at: Date.now() });
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * DAY;
    await hub.app.db('usage_hourly').insert({ node_id: 'n-1', user_id: erin.id, hour, upload_bytes: 1, download_bytes: 1, billed_bytes: 2 });
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  for (const width of [1280, 390]) {
    it(`sorts and filters, keeping the view in the address, at ${width} px in English and Chinese`, async () => {
      const errors: string[] = [];
      const page = await openPage(browser, width, errors);
      page.setDefaultTimeout(10_000);
      await signIn(page, url, 'olga', PASSWORD);
      await nav(page, 'Users');
      await page.locator('bf-users-table tbody tr').first().waitFor();
      expect(await names(page)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);
      // erin's row: the plan, the usage bar's figures, the expiry in words, the last traffic.
      const erin = page.locator('tr[data-user="erin"]');
      await expect(erin.textContent()).resolves.toMatch(/Trial.*512\.0 MB \/ 1\.0 GB · 50%.*in 7 days.*2 days ago/s);
      await expect(page.locator('tr[data-user="frank"]').textContent()).resolves.toMatch(/no plan.*never/s);

      // Sorting: the header says which way, and so does the address.
      const header = page.locator('th[data-sort="name"]');
      await header.getByRole('button').click();
      await expect.poll(() => header.getAttribute('aria-sort')).toBe('ascending');
      await header.getByRole('button').click();
      await expect.poll(() => header.getAttribute('aria-sort')).toBe('descending');
      await expect.poll(() => names(page)).toEqual(['frank', 'erin', 'dave', 'carol', 'bob', 'alice']);
      expect(new URL(page.url()).hash).toBe('#/users?sort=-name');

      // Filters by status and plan, and a search in the notes.
      await page.getByLabel('Status', { exact: true }).selectOption({ label: 'no plan' });
      await expect.poll(() => names(page)).toEqual(['frank']);
      await page.getByLabel('Status', { exact: true }).selectOption({ label: 'All' });
      await page.getByLabel('With plan').selectOption({ label: 'Gold' });
      await expect.poll(() => names(page)).toEqual(['dave', 'carol', 'bob', 'alice']);
      await page.getByRole('searchbox').fill('reseller');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await expect.poll(() => names(page)).toEqual(['carol']);
      const view = new URL(page.url()).hash;
      expect(view).toBe(`#/users?q=reseller&plan=${gold.id}&sort=-name`);
      // A bookmark opens the same view; Back goes to the view before.
      await page.reload();
      await expect.poll(() => names(page)).toEqual(['carol']);
      expect(await page.getByRole('searchbox').inputValue()).toBe('reseller');
      await page.goBack();
      await expect.poll(() => names(page)).toEqual(['dave', 'carol', 'bob', 'alice']);
      await page.goto(`${url}/#/users?sort=-usage_percent`);
      await expect.poll(() => names(page)).toEqual(['erin', 'alice', 'bob', 'carol', 'dave', 'frank']);
      await shot(page, `users-table-${width}`);

      await page.getByRole('button', { name: '中文' }).click();
      await page.getByRole('heading', { name: '用户', exact: true }).waitFor();
      await expect(page.locator('tr[data-user="erin"]').textContent()).resolves.toMatch(/7天后.*2天前/s);
      await expect(page.locator('tr[data-user="frank"]').textContent()).resolves.toContain('无套餐');
      await shot(page, `users-table-zh-${width}`);
      await page.getByRole('button', { name: 'English' }).click();
      // Nothing may make the page wider than the screen (the table scrolls inside its box).
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      expect(errors).toEqual([]);
      await page.context().close();
    });
  }

  it('extends three selected users and shows each new expiry, then suspends everyone a filter matches', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(10_000);
    await signIn(page, url, 'olga', PASSWORD);
    await page.goto(`${url}/#/users?sort=name`);
    await page.locator('bf-users-table tbody tr').first().waitFor();
    const before = await expiries(page);

    for (const name of ['alice', 'bob', 'carol']) await page.getByRole('checkbox', { name: `Select ${name}` }).check();
    await page.getByText('3 selected').waitFor();
    await page.getByRole('button', { name: 'Extend…' }).click();
    const extend = page.getByRole('dialog', { name: 'Extend' });
    await expect(extend.getByRole('status').first().textContent()).resolves.toContain('Extend the subscriptions of 3 users');
    await extend.getByLabel('Days').fill('10');
    await shot(page, 'users-bulk-extend-1280');
    await extend.getByRole('button', { name: 'Extend', exact: true }).click();
    await extend.getByText('3 done, 0 failed.').waitFor();
    expect(await extend.locator('tr[data-result="ok"]').allTextContents()).toEqual(['alice✓ done', 'bob✓ done', 'carol✓ done']);
    await extend.getByRole('button', { name: 'Close' }).click();
    await extend.waitFor({ state: 'detached' });
    await expect.poll(async () => (await expiries(page)).alice).not.toBe(before.alice);
    const after = await expiries(page);
    for (const name of ['alice', 'bob', 'carol']) expect(Date.parse(after[name]!) - Date.parse(before[name]!)).toBe(10 * DAY);
    for (const name of ['dave', 'erin']) expect(after[name]).toBe(before[name]);
    // The row shows the new date in words too.
    await expect(page.locator('tr[data-user="alice"] [data-expires]').textContent()).resolves.toContain('in 40 days');

    // Everyone on Gold who is active: four users.
    await page.goto(`${url}/#/users?status=active&plan=${gold.id}&per_page=20`);
    await expect.poll(() => names(page)).toEqual(['alice', 'bob', 'carol', 'dave']);
    await page.getByRole('button', { name: 'Select all 4 matching' }).click();
    await page.getByText('All 4 matching the filter').waitFor();
    await page.getByRole('button', { name: 'Suspend…' }).click();
    const suspend = page.getByRole('dialog', { name: 'Suspend' });
    await expect(suspend.getByRole('status').first().textContent()).resolves.toContain('Suspend 4 users?');
    await suspend.getByRole('button', { name: 'Suspend', exact: true }).click();
    await suspend.getByText('4 done, 0 failed.').waitFor();
    await shot(page, 'users-bulk-suspend-1280');
    await suspend.getByRole('button', { name: 'Close' }).click();
    await page.getByText('No user matches.').waitFor();
    const rows = (await ownerApi(hub, 'GET', '/api/v1/users?sort=name')).items as { name: string; table_status: string }[];
    expect(Object.fromEntries(rows.map((r) => [r.name, r.table_status]))).toMatchObject({
      alice: 'suspended_admin', bob: 'suspended_admin', carol: 'suspended_admin', dave: 'suspended_admin', erin: 'active', frank: 'no_plan',
    });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('creates a customer with a plan in one dialog and copies their link', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 390, errors);
    page.setDefaultTimeout(10_000);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    await signIn(page, url, 'olga', PASSWORD);
    await nav(page, 'Users');
    await page.locator('bf-users-table tbody tr').first().waitFor();

    // By keyboard: the dialog keeps Tab inside, Escape closes it and focus goes back to its button.
    const open = page.getByRole('button', { name: 'New customer' });
    await open.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'New customer' });
    await dialog.getByLabel('Name').waitFor();
    // Where focus is, through shadow roots: in the dialog, on no element, or on the page behind.
    const focus = () =>
      page.evaluate(() => {
        let node: Node | null = document.activeElement;
        if (node === document.body) return 'none';
        while (node instanceof Element && node.shadowRoot?.activeElement) node = node.shadowRoot.activeElement;
        for (; node; node = node.parentNode ?? (node instanceof ShadowRoot ? node.host : null)) if (node instanceof Element && node.tagName === 'BF-NEW-CUSTOMER') return 'dialog';
        return 'page';
      });
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      seen.add(await focus());
    }
    expect(seen.has('dialog')).toBe(true);
    expect(seen.has('page')).toBe(false);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await open.evaluate((button) => (button.getRootNode() as ShadowRoot).activeElement === button)).toBe(true);

    await page.keyboard.press('Enter');
    await dialog.getByLabel('Name').fill('grace');
    await dialog.getByLabel('Note').fill('paid on the 1st');
    await dialog.getByLabel('Plan', { exact: true }).selectOption({ label: 'Gold' });
    await dialog.getByLabel('On a day').check();
    await dialog.getByLabel('Start day').fill('2031-03-01');
    await shot(page, 'users-new-customer-390');
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await dialog.getByText('grace is ready, on Gold.').waitFor();
    const link = await dialog.getByLabel('Subscription link (for the proxy app)').inputValue();
    const graceId = (await ownerApi(hub, 'GET', '/api/v1/users?q=grace')).items[0].id;
    const credentials = await ownerApi(hub, 'GET', `/api/v1/users/${graceId}/credentials`);
    // At the address the browser reached the hub by (no public_url set).
    expect(link).toBe(`${url}/sub/${credentials.sub_token}`);
    expect(await dialog.getByLabel('Portal link (usage and links for the customer)').inputValue()).toBe(`${url}/portal/${credentials.sub_token}`);
    // The QR code is the hub's image of the subscription link.
    await expect.poll(() => dialog.getByRole('img', { name: 'QR code of the subscription link' }).evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await dialog.getByRole('button', { name: 'Copy' }).first().click();
    await dialog.getByRole('button', { name: '✓ Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
    await shot(page, 'users-new-customer-links-390');
    await dialog.getByRole('button', { name: 'Close' }).click();
    // The new customer opens above the table, on their plan from the day chosen.
    await page.locator('bf-user-detail [data-status="active"]').waitFor();
    expect(new URL(page.url()).hash).toMatch(/^#\/users\/\d+$/);
    // The browser and this test share the machine's time zone: the day starts at its local midnight.
    expect((await ownerApi(hub, 'GET', `/api/v1/users/${graceId}`)).subscription).toMatchObject({
      plan_id: gold.id, status: 'active', start_time: new Date(2031, 2, 1).toISOString(),
    });
    // The dialog in Chinese (the page behind it is inert while it is open, language button included).
    await page.getByRole('button', { name: '中文' }).click();
    await page.getByRole('button', { name: '新客户' }).click();
    await page.getByRole('dialog', { name: '新客户' }).getByText('套餐开始').waitFor();
    await shot(page, 'users-new-customer-zh-390');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'English' }).click();
    expect(errors).toEqual([]);
    await page.context().close();
  });
});

describe('the users table with 10,000 users, in Chromium', { timeout: 180_000 }, () => {
  const NOW = Date.now();
  let hub: TestHub;
  let url: string;
  let browser: Browser;
  let plan: { id: number };

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    await createAdmin('olga', PASSWORD, 'owner');
    plan = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'monthly', traffic_limit_bytes: 100 * GiB, duration_days: 30 });
    await seedManyUsers(hub.app.db, { count: 10_000, now: NOW, planId: plan.id, nodes: ['n-1', 'n-2', 'n-3'] });
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('shows the first page of each sort and filter soon after its request (the figures are printed)', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(20_000);
    await signIn(page, url, 'olga', PASSWORD);
    await nav(page, 'Users');
    await page.locator('bf-users-table tbody tr').first().waitFor();

    /**
     * Changes the address to `query` in the page and answers, by the page's performance clock, the
     * time from the fetch of /api/v1/users starting to the first animation frame with `first` as the
     * table's top row (the frame the browser paints it in), and the fetch alone.
     */
    const measure = (query: string, first: string) =>
      page.evaluate(
        ({ query, first }) =>
          new Promise<{ shown: number; fetch: number }>((resolve, reject) => {
            performance.clearResourceTimings();
            const topRow = () =>
              document.querySelector('bf-app')?.shadowRoot?.querySelector('bf-users')?.shadowRoot?.querySelector('bf-users-table')
                ?.shadowRoot?.querySelector<HTMLElement>('tbody tr')?.dataset.user;
            const deadline = performance.now() + 15_000;
            const frame = (time: number) => {
              const entry = performance.getEntriesByType('resource').find((e) => e.name.includes('/api/v1/users?')) as PerformanceResourceTiming | undefined;
              if (entry && entry.responseEnd > 0 && topRow() === first) return resolve({ shown: time - entry.startTime, fetch: entry.responseEnd - entry.startTime });
              if (time > deadline) return reject(new Error(`no row ${first} for ${query}; top row ${topRow()}`));
              requestAnimationFrame(frame);
            };
            location.hash = `#/users?${query}`;
            requestAnimationFrame(frame);
          }),
        { query, first },
      );
    const queries = ['sort=-name', 'sort=expires_at', 'sort=-last_traffic_at', 'sort=-usage_percent', 'status=expired&sort=name', `plan=${plan.id}&sort=-created_at`, 'q=reseller&sort=status'];
    const figures: Record<string, { shown_ms: number; fetch_ms: number }> = {};
    for (const query of queries) {
      // The row the hub puts first is the one to wait for (20 rows a page, as the screen asks).
      const apiQuery = query.replace(/(^|&)plan=/, '$1plan_id=');
      const first = (await ownerApi(hub, 'GET', `/api/v1/users?${apiQuery}&page=1&per_page=20`)).items[0].name;
      const runs: { shown: number; fetch: number }[] = [];
      // Three times each, through another view in between so each is a fresh request.
      for (let i = 0; i < 3; i++) {
        runs.push(await measure(query, first));
        await page.evaluate(() => (location.hash = '#/users?sort=name'));
        await page.waitForFunction(() => location.hash === '#/users?sort=name');
        await page.waitForTimeout(300);
      }
      const median = <K extends 'shown' | 'fetch'>(key: K) => Math.round(runs.map((r) => r[key]).sort((a, b) => a - b)[1]! * 10) / 10;
      figures[query] = { shown_ms: median('shown'), fetch_ms: median('fetch') };
    }
    // The floor: a tiny authenticated request (the hub's version), fetched by the same page.
    const floor = await page.evaluate(async () => {
      const token = localStorage.getItem('boxfleet.token');
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        await (await fetch('/api/v1/info', { headers: { authorization: `Bearer ${token}` } })).json();
        times.push(performance.now() - start);
      }
      return Math.round(times.sort((a, b) => a - b)[2]! * 10) / 10;
    });
    console.log(JSON.stringify({ bench: 'users-screen-first-page-chromium', users: 10_000, per_page: 20, floor_info_fetch_ms: floor, median_of_3: figures }));
    // The aim is 300 ms; the bound is generous for a machine shared by several test runs,
    // and the printed figures are what the report states.
    for (const { shown_ms } of Object.values(figures)) expect(shown_ms).toBeLessThan(3000);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
