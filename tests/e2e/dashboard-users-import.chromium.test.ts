// Importing and exporting users from the dashboard's Users screen, in a real browser against a real
// hub: a CSV with one bad row imported in best_effort mode shows the counts and that row's error,
// the good users appear in the list, and Export CSV downloads a file that holds them.
import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../hub/admins.js';
import { launchBrowser, nav, openPage, signIn } from '../support/browser.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const PASSWORD = 'users-import-password';

describe('users import and export in the dashboard, in Chromium', { timeout: 60_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    await createAdmin('olga', PASSWORD, 'owner');
    await hub.app.inject({ method: 'POST', url: '/api/v1/plans', headers: hub.auth, payload: { name: 'Basic', traffic_limit_bytes: 2 ** 30, duration_days: 30 } });
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('imports the good rows of a CSV, lists the bad one, refreshes the list, and exports them', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    await signIn(page, url, 'olga', PASSWORD);
    await nav(page, 'Users');
    await page.getByText('No users yet.').waitFor();

    await page.getByRole('button', { name: 'Import…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import users' });
    await dialog.getByLabel('File').setInputFiles({
      name: 'customers.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('name,note,plan\nimp-anna,"from the old panel, VIP",Basic\nbad name,,\nimp-ben,,\n'),
    });
    await dialog.getByLabel('If a row has an error').selectOption('best_effort');
    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    await expect(dialog.getByRole('status').textContent()).resolves.toBe('Created 2 · updated 0 · skipped 0 · failed 1');
    const errorRows = await dialog.locator('[data-import-report] tbody tr').allTextContents();
    expect(errorRows).toEqual(['2namemust match pattern "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"']);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
    // The list was loaded again behind the dialog.
    await page.getByRole('link', { name: 'imp-anna', exact: true }).waitFor();
    await page.getByRole('link', { name: 'imp-ben', exact: true }).waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^boxfleet-users-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = (await readFile((await download.path())!, 'utf8')).trim().split('\n');
    expect(lines[0]).toMatch(/^name,note,status,plan,.*,uuid,password,ss_key,sub_token$/);
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['imp-anna,"from the old panel', 'imp-ben,']);
    expect(lines[1]).toContain('VIP",active,Basic,active,');
    expect(errors).toEqual([]);
  });
});
