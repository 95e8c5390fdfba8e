// The API docs (swagger-ui at /docs) in a real browser under the hub's CSP: the page renders the
// operations, expands one, and reports no CSP violation and no console error.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage } from '../support/browser.js';
import { startTestHub, type TestHub } from '../support/hub.js';

describe('API docs in Chromium', { timeout: 60_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('renders swagger-ui within its CSP', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(10_000);
    const response = await page.goto(`${url}/docs`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByText('boxfleet hub API').first().waitFor();
    await page.locator('.opblock-summary-path', { hasText: '/api/v1/users' }).first().click();
    await page.getByRole('button', { name: 'Try it out' }).first().waitFor();
    expect(errors).toEqual([]);
    await page.context().close();
  });
});
