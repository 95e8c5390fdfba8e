// The node table in a real browser, from seeded stored state (no agent runs): a drifted node carries
// its drift badge, an offline node and one whose sing-box stopped read as unhealthy, users served
// against expected, CPU and memory as meters; the hub sorts by a header (aria-sort says which way,
// by mouse and by keyboard) and filters by tag. At 1280 and 390 px, in English and Chinese, with a
// screenshot of each.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../hub/admins.js';
import { seedPlan, seedUser } from '../integration/jobs.suite.js';
import { seedTableNode } from '../integration/node-table.seed.js';
import { launchBrowser, openPage, signIn } from '../support/browser.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const SHOTS = path.resolve('test-output/screenshots');
const PASSWORD = 'nodes-table-password';
const HOUR = 3_600_000;
const GB = 2 ** 30;

describe('the node table in Chromium', { timeout: 120_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    hub = await startTestHub('sqlite');
    await createAdmin('olga', PASSWORD, 'owner');
    const { db } = hub.app;
    const now = Date.now();
    const hour = Math.floor(now / HOUR) * HOUR;
    // alice and bob have a plan that reaches the hk nodes: 2 users expected there.
    const hk = await seedPlan(db, 'hk-plan', { tags: ['hk'] });
    const alice = (await seedUser(db, 'alice', { planId: hk, now })).userId;
    await seedUser(db, 'bob', { planId: hk, now });
    const running = (usersServed: number) => ({ running: true, version: '1.11.4', usersServed, at: now - 20_000 });
    const load = (cpu: number, memoryUsed: number) => [{ time: now - 30_000, cpu, memoryUsed, memoryTotal: 4 * GB }];
    const traffic = (bytes: number) => [{ hour, userId: alice, hourly: [bytes / 2, bytes / 2] as [number, number], pending: [0, 0] as [number, number] }];
    await seedTableNode(db, { id: 'hk-1', tags: ['hk'], health: 'online', healthSince: now - 5 * HOUR, lastSeenAt: now - 10_000, singbox: running(2), samples: load(12.5, GB), usage: traffic(3 * GB) });
    await seedTableNode(db, { id: 'hk-2', tags: ['hk'], health: 'online', healthSince: now - 2 * HOUR, lastSeenAt: now - 5_000, singbox: running(1), samples: load(75, 2 * GB), usage: traffic(GB), driftSince: now - HOUR });
    await seedTableNode(db, { id: 'jp-down', tags: ['jp'], health: 'offline', healthSince: now - 3 * HOUR, lastSeenAt: now - 3 * HOUR, usage: traffic(2 * GB) });
    await seedTableNode(db, {
      id: 'sg-stopped',
      tags: ['sg'],
      health: 'online',
      healthSince: now - HOUR,
      lastSeenAt: now - 8_000,
      singbox: { running: false, version: '1.11.4', usersServed: 0, at: now - 20_000 },
      samples: load(95, 3.8 * GB),
    });
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  const order = (page: Page) => page.locator('tr[data-node]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')));
  const row = (page: Page, id: string) => page.locator(`tr[data-node="${id}"]`);
  const sortState = (page: Page, column: string) => page.locator(`th[data-sort="${column}"]`).getAttribute('aria-sort');

  for (const locale of ['en', 'zh'] as const) {
    for (const width of [1280, 390]) {
      it(`shows health, drift, load and users per node, sorts and filters by tag (${locale}, ${width} px)`, async () => {
        const errors: string[] = [];
        const page = await openPage(browser, width, errors);
        page.setDefaultTimeout(10_000);
        await signIn(page, url, 'olga', PASSWORD);
        if (locale === 'zh') await page.getByRole('button', { name: '中文' }).click();
        await page.goto(`${url}/#/nodes`);
        await row(page, 'hk-1').waitFor();
        const words =
          locale === 'en'
            ? { drift: 'config drift', offline: 'offline', degraded: 'degraded', online: 'online', stopped: 'sing-box is not running' }
            : { drift: '配置漂移', offline: '离线', degraded: '降级', online: '在线', stopped: 'sing-box 未运行' };

        // The drifted node says so; the offline node and the one whose sing-box stopped read as unhealthy.
        expect(await row(page, 'hk-2').locator('[data-drift]').textContent()).toBe(words.drift);
        expect(await row(page, 'hk-1').locator('[data-drift]').count()).toBe(0);
        expect(await row(page, 'jp-down').locator('[data-health="offline"]').textContent()).toContain(words.offline);
        const stopped = row(page, 'sg-stopped').locator('[data-health="degraded"]');
        expect(await stopped.textContent()).toContain(words.degraded);
        expect(await stopped.textContent()).toContain(words.stopped);
        expect(await row(page, 'hk-1').locator('[data-health="online"]').textContent()).toContain(words.online);
        // Users served / expected, and CPU and memory as meters with their figures.
        expect((await row(page, 'hk-1').locator('[data-users]').textContent())?.trim()).toBe('2 / 2');
        expect((await row(page, 'jp-down').locator('[data-users]').textContent())?.trim()).toBe('— / 0');
        const meters = row(page, 'sg-stopped').locator('meter');
        expect(await meters.evaluateAll((ms) => ms.map((m) => (m as HTMLMeterElement).value))).toEqual([95, 95]);
        expect(await row(page, 'hk-1').textContent()).toContain('3.0 GB');
        await page.screenshot({ path: path.join(SHOTS, `nodes-table-${locale}-${width}.png`), fullPage: true });

        // Sorting is the hub's: traffic today ascending, then descending; health puts the worst first.
        await page.locator('th[data-sort="traffic_today"] button').click();
        await expect.poll(() => order(page)).toEqual(['sg-stopped', 'hk-2', 'jp-down', 'hk-1']);
        expect(await sortState(page, 'traffic_today')).toBe('ascending');
        expect(await sortState(page, 'name')).toBe('none');
        await page.locator('th[data-sort="traffic_today"] button').click();
        await expect.poll(() => order(page)).toEqual(['hk-1', 'jp-down', 'hk-2', 'sg-stopped']);
        expect(await sortState(page, 'traffic_today')).toBe('descending');
        // From the keyboard: focus the header's button and press Enter.
        await page.locator('th[data-sort="health"] button').focus();
        await page.keyboard.press('Enter');
        await expect.poll(() => order(page)).toEqual(['jp-down', 'sg-stopped', 'hk-1', 'hk-2']);
        expect(await sortState(page, 'health')).toBe('ascending');

        // The tag filter keeps the nodes carrying it, in the same order.
        await page.locator('select[data-tag-filter]').selectOption('hk');
        await expect.poll(() => order(page)).toEqual(['hk-1', 'hk-2']);
        await page.screenshot({ path: path.join(SHOTS, `nodes-table-hk-${locale}-${width}.png`), fullPage: true });
        await page.locator('select[data-tag-filter]').selectOption('');
        await expect.poll(() => order(page)).toEqual(['jp-down', 'sg-stopped', 'hk-1', 'hk-2']);
        expect(errors).toEqual([]);
        await page.context().close();
      });
    }
  }
});
