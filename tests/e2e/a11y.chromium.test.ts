// Accessibility in a real browser: axe-core (injected into the page) finds no serious or critical
// violation on any screen of the dashboard — every route of its screen registry (the users screen
// with a row open and rows ticked), the sign-in screen and the open dialogs — nor on the portal, in English and Chinese, at 1280 and 390 px, light and
// dark. Dialogs keep Tab inside, close on Escape and give focus back to the button that opened them;
// the dark-mode toggle is remembered over a reload. The hub holds data in every table (the backup
// tests' seed), so each screen shows its content, not an empty state.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCREENS } from '../../web-components/src/screens/registry.js';
import { api, SEED_ADMIN, SEED_NODE, seedHub } from '../integration/backup.seed.js';
import { startFakeNode } from '../integration/jobs.suite.js';
import type { AgentProcess } from '../support/agent-process.js';
import { launchBrowser, openPage, signIn } from '../support/browser.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const SHOTS = path.resolve('test-output/screenshots');
const AXE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Every combination a screen is checked in. */
const LOCALES = ['en', 'zh'] as const;
const WIDTHS = [1280, 390];
const THEMES = ['light', 'dark'] as const;

interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: { target: unknown[]; failureSummary: string }[];
}

describe('accessibility of the dashboard and the portal in Chromium', { timeout: 300_000 }, () => {
  let hub: TestHub;
  let agent: AgentProcess;
  let url: string;
  let browser: Browser;
  /** The `:id` of each screen registry path, by its first segment. */
  const ids: Record<string, string> = {};
  let portalToken: string;

  beforeAll(async () => {
    [agent, hub] = await Promise.all([startFakeNode(SEED_NODE), startTestHub('sqlite')]);
    await seedHub(hub, agent, { now: Date.now() });
    const alice = (await hub.app.db('users').where({ name: 'alice' }).first()).id as number;
    ids.nodes = SEED_NODE;
    ids.users = String(alice);
    ids.batches = String((await api(hub, 'GET', '/api/v1/batches')).items[0].id);
    ids.rollouts = String((await api(hub, 'GET', '/api/v1/rollouts')).items[0].id);
    portalToken = (await api(hub, 'GET', `/api/v1/users/${alice}/credentials`)).sub_token;
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await agent?.stop();
  });

  /** Injects axe-core (through the DevTools protocol, which the page's CSP does not govern) once per document. */
  async function axe(page: Page): Promise<Violation[]> {
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const run = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: Violation[] }> } }).axe.run;
      return (await run(document, { resultTypes: ['violations'] })).violations;
    });
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  }

  /** The serious and critical violations in every language, width and theme, labelled by where they were; back in English after. */
  async function check(page: Page, where: string, switchLocale: (locale: (typeof LOCALES)[number]) => Promise<void>): Promise<string[]> {
    const found: string[] = [];
    for (const locale of LOCALES) {
      await switchLocale(locale);
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: width < 600 ? 844 : 800 });
        for (const theme of THEMES) {
          await page.emulateMedia({ colorScheme: theme });
          await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
          for (const v of await axe(page)) {
            const nodes = v.nodes.map((n) => `    ${JSON.stringify(n.target)}: ${n.failureSummary.replace(/\s+/g, ' ')}`).join('\n');
            found.push(`${where} [${locale} ${width} ${theme}] ${v.impact} ${v.id} (${v.help})\n${nodes}`);
          }
        }
      }
    }
    await switchLocale('en');
    return found;
  }

  /** The dashboard's language, from the header's switch (a click event: an open modal dialog covers it). */
  const dashboardLocale = (page: Page) => async (locale: (typeof LOCALES)[number]) => {
    const lang = await page.evaluate(() => document.documentElement.lang);
    if ((locale === 'zh') !== lang.startsWith('zh')) await page.locator('#language').dispatchEvent('click');
    await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe(locale === 'zh' ? 'zh-CN' : 'en');
  };

  /** Waits until nothing on the screen says it is loading. */
  async function settled(page: Page) {
    await page.locator('main :is(h2, h3)').first().waitFor();
    await expect.poll(() => page.getByText(/^(Loading…|加载中…)$/).count(), { timeout: 15_000 }).toBe(0);
  }

  /** Ticks two users in the users table and waits for its bulk bar. */
  async function tickUsers(page: Page) {
    for (const name of ['alice', 'bob']) await page.getByRole('checkbox', { name: `Select ${name}` }).check();
    await page.getByText('2 selected').waitFor();
  }

  it('finds no serious or critical violation on any dashboard screen', async () => {
    // Console errors are not this test's: the fake node lacks a command the node page asks for (a 404).
    const page = await openPage(browser, 1280, []);
    page.setDefaultTimeout(15_000);
    const found: string[] = [];

    await page.goto(url);
    await page.getByLabel('Username').waitFor();
    found.push(...(await check(page, 'sign-in', dashboardLocale(page))));
    await page.evaluate(() => localStorage.clear());
    await signIn(page, url, SEED_ADMIN.username, SEED_ADMIN.password);

    for (const screen of SCREENS) {
      const address = screen.path.replace(/:id\??/, ids[screen.path.split('/')[0]!]!);
      await page.goto(`${url}/#/${address}`);
      await settled(page);
      // The users screen opens a row (its address) and gets two rows ticked, so its bulk bar shows too.
      if (screen.path === 'users/:id?') await tickUsers(page);
      found.push(...(await check(page, `#/${address}`, dashboardLocale(page))));
    }
    expect(found, found.join('\n')).toEqual([]);
    await page.context().close();
  });

  it('finds no serious or critical violation in the dialogs, which keep focus inside and give it back', async () => {
    // Console errors are not this test's: the fake node lacks a command the node page asks for (a 404).
    const page = await openPage(browser, 1280, []);
    page.setDefaultTimeout(15_000);
    const found: string[] = [];
    await signIn(page, url, SEED_ADMIN.username, SEED_ADMIN.password);

    // The Add node dialog: checked open; Tab stays inside, Escape closes it, focus is back on its button.
    await page.goto(`${url}/#/nodes`);
    await settled(page);
    const opener = page.getByRole('button', { name: 'Add node' });
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    found.push(...(await check(page, 'add-node dialog', dashboardLocale(page))));
    // The focused element's tag and the tags of the elements and shadow hosts it is in.
    const focusPath = () => page.evaluate(() => {
      let node: Element | null = document.activeElement;
      while (node?.shadowRoot?.activeElement) node = node.shadowRoot.activeElement;
      const path: string[] = [];
      for (; node; node = node.parentElement ?? ((node.getRootNode() as ShadowRoot).host ?? null)) path.push(node.tagName.toLowerCase());
      return path;
    });
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press(i % 3 ? 'Tab' : 'Shift+Tab');
      expect(await focusPath()).toContain('bf-add-node');
    }
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => opener.evaluate((b) => b.matches(':focus'))).toBe(true);
    // Focus from the keyboard shows: a ring around the button.
    expect(await opener.evaluate((b) => [b.matches(':focus-visible'), getComputedStyle(b).outlineStyle])).toEqual([true, 'solid']);

    // The confirm dialog (removing a node): Cancel has focus, Tab cycles between its two buttons,
    // Escape cancels and focus returns to Remove node.
    await page.goto(`${url}/#/nodes/${SEED_NODE}`);
    await settled(page);
    const remove = page.getByRole('button', { name: 'Remove node' });
    await remove.click();
    const confirm = page.getByRole('alertdialog');
    await confirm.waitFor();
    found.push(...(await check(page, 'confirm dialog', dashboardLocale(page))));
    const focused = () => page.evaluate(() => {
      let active = document.activeElement;
      while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
      return active?.textContent?.trim();
    });
    expect(await focused()).toBe('Cancel');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Remove node');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Cancel');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'detached' });
    await expect.poll(() => remove.evaluate((b) => b.matches(':focus'))).toBe(true);
    expect((await api(hub, 'GET', '/api/v1/nodes')).nodes.map((n: { id: string }) => n.id)).toContain(SEED_NODE);

    // The users screen's two dialogs: a bulk action's question (on two ticked rows) and New customer.
    // Each is checked open, keeps Tab inside, closes on Escape and gives focus back to its button.
    const suspended = async () => (await api(hub, 'GET', '/api/v1/users?status=suspended_admin')).items.map((u: { name: string }) => u.name);
    const suspendedBefore = await suspended();
    await page.goto(`${url}/#/users`);
    await settled(page);
    await tickUsers(page);
    for (const [button, name, host] of [['Suspend…', 'Suspend', 'bf-users-bulk'], ['New customer', 'New customer', 'bf-new-customer']] as const) {
      const open = page.getByRole('button', { name: button });
      await open.focus();
      await page.keyboard.press('Enter');
      const shown = page.getByRole('dialog', { name });
      await shown.getByRole('button', { name: 'Cancel' }).waitFor();
      found.push(...(await check(page, `${host} dialog`, dashboardLocale(page))));
      for (let i = 0; i < 9; i++) {
        await page.keyboard.press(i % 3 ? 'Tab' : 'Shift+Tab');
        expect(await focusPath()).toContain(host);
      }
      await page.keyboard.press('Escape');
      await shown.waitFor({ state: 'detached' });
      await expect.poll(() => open.evaluate((b) => b.matches(':focus'))).toBe(true);
    }
    // Escape ran nothing: nobody more is suspended.
    expect(await suspended()).toEqual(suspendedBefore);

    expect(found, found.join('\n')).toEqual([]);
    await page.context().close();
  });

  it('follows the system setting until the toggle picks a theme, which a reload keeps', async () => {
    const page = await openPage(browser, 1280, []);
    await page.emulateMedia({ colorScheme: 'dark' });
    await signIn(page, url, SEED_ADMIN.username, SEED_ADMIN.password);
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
    expect(await theme()).toBe('dark');
    const toggle = page.locator('#theme');
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    await toggle.click();
    expect(await theme()).toBe('light');
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');
    // The page's own colours change with it.
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(await background()).toBe('rgb(245, 246, 248)');
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await theme()).toBe('light');
    await page.locator('#theme').click();
    expect(await theme()).toBe('dark');
    expect(await background()).toBe('rgb(18, 21, 28)');
    // The overview's chart redrawn in ECharts' dark theme, for the eye.
    await page.locator('bf-chart canvas').first().waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'overview-dark-1280.png'), fullPage: true });
    await page.goto(`${url}/#/nodes`);
    await page.locator('tr[data-node]').first().waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'nodes-dark-1280.png'), fullPage: true });
    await page.context().close();
  });

  it('finds no serious or critical violation on the portal, working link or not', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(15_000);
    /** The portal's language, from its header's switch. */
    const portalLocale = async (locale: (typeof LOCALES)[number]) => {
      const lang = await page.evaluate(() => document.documentElement.lang);
      if ((locale === 'zh') !== lang.startsWith('zh')) await page.locator('bf-portal header button').click();
      await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe(locale === 'zh' ? 'zh-CN' : 'en');
    };
    const found: string[] = [];
    await page.goto(`${url}/portal/${portalToken}`);
    await page.locator('bf-portal .card').first().waitFor();
    found.push(...(await check(page, 'portal', portalLocale)));
    expect(errors).toEqual([]);
    // (The hub answers an unknown token with 404, which the browser logs.)
    await page.goto(`${url}/portal/${'x'.repeat(43)}`);
    await page.locator('bf-portal .center').waitFor();
    found.push(...(await check(page, 'portal, invalid link', portalLocale)));
    expect(found, found.join('\n')).toEqual([]);
    await page.context().close();
  });
});
