// The dashboard in a real browser against a real hub: sign in, see the nodes, switch language, at
// 1280 px and on a 390 px phone, with a screenshot of each screen and no console error.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../hub/admins.js';
import { launchBrowser, openPage } from '../support/browser.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const SHOTS = path.resolve('test-output/screenshots');
const PASSWORD = 'dashboard-test-password';

describe('dashboard in Chromium', { timeout: 60_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    hub = await startTestHub('sqlite');
    await createAdmin('alice', PASSWORD, 'operator');
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  for (const width of [1280, 390]) {
    it(`signs in, lists the nodes and switches to Chinese at ${width} px`, async () => {
      const errors: string[] = [];
      const page = await openPage(browser, width, errors);
      await page.goto(url);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await page.screenshot({ path: path.join(SHOTS, `login-${width}.png`), fullPage: true });

      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('wrong password!');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toContain('wrong username or password');

      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Nodes' }).waitFor();
      expect(await page.getByText('alice · operator').isVisible()).toBe(true);
      // An operator may not enroll nodes: the form is not offered (the API refuses it too).
      expect(await page.getByRole('button', { name: 'Add node' }).count()).toBe(0);
      expect(await page.getByText('No nodes yet').isVisible()).toBe(true);
      await page.screenshot({ path: path.join(SHOTS, `nodes-${width}.png`), fullPage: true });

      await page.getByRole('button', { name: '中文' }).click();
      await page.getByRole('heading', { name: '节点' }).waitFor();
      await page.screenshot({ path: path.join(SHOTS, `nodes-zh-${width}.png`), fullPage: true });
      await page.getByRole('button', { name: 'English' }).click();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();

      // The wrong password above answers 401 by design; nothing else may log an error.
      expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
      await page.context().close();
    });
  }
});
