// What an operator sees of a node users cannot reach, in a real browser against a real hub: the
// node list's "unreachable" badge saying since when and that the node is out of subscriptions (in
// both languages), and the overview's open `unreachable` alert; both gone once the node is healthy.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../hub/admins.js';
import { launchBrowser, openPage, signIn as signInAt } from '../support/browser.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { seedUnreachableNode } from '../integration/jobs.suite.js';

const PASSWORD = 'failover-dashboard-password';

describe('an unreachable node in the dashboard, in Chromium', { timeout: 60_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    await createAdmin('olga', PASSWORD, 'owner');
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    await seedUnreachableNode(hub.app.db, 'edge-1', ['web']);
    await seedUnreachableNode(hub.app.db, 'edge-2', ['web']);
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  const signIn = (page: Page) => signInAt(page, url, 'olga', PASSWORD);

  it('badges the node in the list and lists its alert on the overview, until it is healthy again', async () => {
    // As the inbound-check job records a node whose inbounds failed 3 checks in a row.
    const since = Date.now() - 120_000;
    await hub.app.db('nodes').where({ id: 'edge-1' }).update({ inbound_unhealthy_since: since, inbound_failed_checks: 3, inbound_checked_at: Date.now() });
    await hub.app.jobs.run('alerts');
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(10_000);
    await signIn(page);
    expect(await page.locator('[data-alert="unreachable"]').textContent()).toMatch(/edge-1\s*Unreachable from the hub\s*2 min/);

    await page.goto(`${url}/#/nodes`);
    const badge = page.locator('[data-unreachable]');
    await badge.waitFor();
    expect(await badge.count()).toBe(1);
    expect(await page.locator('tr').filter({ has: badge }).textContent()).toContain('edge-1');
    expect(await badge.textContent()).toBe('unreachable');
    expect(await badge.getAttribute('title')).toContain('left out of newly fetched subscriptions');
    await page.getByRole('button', { name: '中文' }).click();
    await expect.poll(() => badge.textContent()).toBe('无法连接');
    await page.getByRole('button', { name: 'English' }).click();

    await hub.app.db('nodes').where({ id: 'edge-1' }).update({ inbound_unhealthy_since: null, inbound_failed_checks: 0, inbound_good_checks: 2 });
    await hub.app.jobs.run('alerts');
    await page.reload();
    await page.getByRole('heading', { name: 'Nodes' }).waitFor();
    await page.locator('tbody tr').first().waitFor();
    expect(await badge.count()).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
