// Fleet operations in a real browser against a real hub whose jobs run, with real agents: edge-1
// runs real sing-box, edge-2 the singbox-config test double, gone-1 never answers. An owner ticks
// the three in the node list and runs singbox-config.status on them as a batch, with edge-2's agent
// stopped just before: the batch's page follows the nodes live over the WebSocket until it ends
// (edge-1 succeeded; edge-2 and gone-1 failed, each with its error), shows edge-1's output (what its
// sing-box serves), and once edge-2 is back "Retry failed" runs the command again on the two failed
// nodes: edge-2 succeeds. The Batches screen lists both with their counts; a schedule is created (an
// invalid cron refused, naming the field), paused and deleted. From edge-1's config editor a saved
// version is rolled out to that node; the rollout's page shows its stage pass live, with what the
// gate saw, and sing-box serves the version; another rollout is paused, resumed and aborted from its
// page, which puts the node back on that version. A viewer is offered none of these actions.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../hub/admins.js';
import { startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { launchBrowser, openPage, signIn as signInAt, nav } from '../support/browser.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, singboxNodePlugins } from '../support/singbox-peers.js';
import { until } from '../support/until.js';
import { enroll, seedUnreachableNode, startFakeNode } from '../integration/jobs.suite.js';

const SHOTS = path.resolve('test-output/screenshots');
const PASSWORD = 'dashboard-test-password';

describe('batches, schedules and rollouts in the dashboard, in Chromium', { timeout: 120_000 }, () => {
  const bin = singboxBin();
  let hub: TestHub;
  let url: string;
  let browser: Browser;
  const agents: AgentProcess[] = [];
  const versions = {} as Record<'base' | 'quiet', { id: number; hash: string }>;

  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', route: string, payload?: object) => ownerApi(hub, method, route, payload);
  const servedHash = async (node: string) => (await api('POST', `/api/v1/nodes/${node}/commands/singbox-config.status`, {})).config.hash as string;

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    // The scheduled inbound check stays off: the rollout's gate probes the inbounds itself.
    hub = await startTestHub('sqlite', {
      config: { jobs_enabled: true, batches_interval_s: 0.5, rollouts_interval_s: 0.5, inbound_check_interval_s: 0, inbound_check_timeout_s: 2 },
    });
    await createAdmin('olga', PASSWORD, 'owner');
    await createAdmin('vera', PASSWORD, 'viewer');
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });

    const profile = await makeNodeProfile();
    const plugins = await singboxNodePlugins(bin);
    const real = await startAgentProcess({ nodeId: 'edge-1', configure: (config, dir) => Object.assign(config.plugins, plugins(dir)) });
    agents.push(real);
    await enroll(hub, real, { tags: ['edge'] });
    const double = await startFakeNode('edge-2');
    agents.push(double);
    await enroll(hub, double, { tags: ['edge'] });
    await seedUnreachableNode(hub.app.db, 'gone-1', ['edge']);

    for (const [name, level] of [['base', 'warn'], ['quiet', 'error']] as const) {
      const { id, hash } = await api('POST', '/api/v1/configs', { config: { ...profile.baseConfig, log: { level } }, comment: name });
      versions[name] = { id, hash };
    }
    await api('POST', `/api/v1/configs/${versions.base.id}/apply`, { node_id: 'edge-1' });
    expect(await servedHash('edge-1')).toBe(versions.base.hash);
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    for (const agent of agents) await agent.stop();
    await hub?.close();
  });

  const signIn = (page: Page, username: string) => signInAt(page, url, username, PASSWORD);

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const status = (page: Page, selector: string) => page.locator(`${selector} [data-status]`).first().getAttribute('data-status');

  it('runs a command on the nodes ticked in the node list, shows each node live with its output, and retries the failed one', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(15_000);
    await signIn(page, 'olga');
    await nav(page, 'Nodes');
    for (const node of ['edge-1', 'edge-2', 'gone-1']) await page.getByLabel(`Select ${node}`).check();
    await page.getByText('3 selected').waitFor();
    await page.getByRole('button', { name: 'Run command on selected…' }).click();

    const form = page.locator('[data-batch-form]');
    expect(await form.getByLabel('Target').inputValue()).toBe('selected');
    // Two of the three nodes describe singbox-config.status; gone-1 never described itself.
    const command = form.getByLabel('Command');
    await command.locator('option[value="singbox-config.status"]').waitFor({ state: 'attached' });
    expect(await command.locator('option[value="singbox-config.status"]').textContent()).toBe('singbox-config.status (on 2 of 3 nodes; the others are skipped)');
    await command.selectOption('singbox-config.status');
    await shot(page, 'batch-form-1280');
    const double = agents[1]!;
    await double.kill9();
    await form.getByRole('button', { name: 'Start batch' }).click();

    await page.getByRole('heading', { name: /^Batch #\d+$/ }).waitFor();
    const id = Number(new URL(page.url()).hash.split('/').at(-1));
    // The page fetched the batch once; every later state came over the WebSocket.
    await expect.poll(() => status(page, '[data-batch-status]'), { timeout: 20_000 }).toBe('failed');
    await expect.poll(() => status(page, 'tr[data-batch-node="edge-1"]')).toBe('succeeded');
    for (const node of ['edge-2', 'gone-1']) {
      expect(await status(page, `tr[data-batch-node="${node}"]`)).toBe('failed');
      expect(await page.locator(`tr[data-batch-node="${node}"] [data-error]`).textContent()).toMatch(/\S/);
    }
    expect(await page.locator('[data-counts]').textContent()).toBe('1 succeeded · 2 failed');

    const edge1 = page.locator('tr[data-batch-node="edge-1"]');
    await edge1.getByText('Output').click();
    await edge1.locator('[data-output] pre').getByText(versions.base.hash).waitFor();
    await shot(page, 'batch-1280');

    await double.restart();
    await until('edge-2 answers again', () => servedHash('edge-2').then(() => true, () => false));
    await page.getByRole('button', { name: 'Retry failed' }).click();
    await page.getByRole('heading', { name: `Batch #${id + 1}` }).waitFor();
    await page.getByRole('link', { name: `#${id}` }).waitFor();
    await expect.poll(() => status(page, '[data-batch-status]'), { timeout: 20_000 }).toBe('failed');
    expect(await page.locator('tr[data-batch-node]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-batch-node')))).toEqual(['edge-2', 'gone-1']);
    await expect.poll(() => status(page, 'tr[data-batch-node="edge-2"]')).toBe('succeeded');
    const retry = await api('GET', `/api/v1/batches/${id + 1}`);
    expect(retry).toMatchObject({ retry_of: id, command: 'singbox-config.status', target: { node_ids: ['edge-2', 'gone-1'] } });

    await nav(page, 'Batches');
    await page.locator(`tr[data-batch="${id}"]`).getByText('1 succeeded · 2 failed').waitFor();
    await page.locator(`tr[data-batch="${id + 1}"]`).getByText('1 succeeded · 1 failed').waitFor();
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('creates a schedule (refusing an invalid cron with the field named), pauses and deletes it', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(15_000);
    await signIn(page, 'olga');
    await page.goto(`${url}/#/batches`);
    await page.getByText('No schedules yet.').waitFor();
    await page.getByRole('button', { name: 'New schedule' }).click();
    const form = page.locator('[data-batch-form]');
    await form.getByLabel('Name').fill('nightly status');
    await form.getByLabel('Cron expression').fill('0 4 * * * * *');
    await form.getByLabel('Time zone').fill('Asia/Shanghai');
    expect(await form.getByLabel('Target').inputValue()).toBe('tag');
    expect(await form.getByLabel('Tag').inputValue()).toBe('edge');
    await form.getByLabel('Command').selectOption('singbox-config.status');

    const before = errors.length;
    await form.getByRole('button', { name: 'Create schedule' }).click();
    await form.getByRole('alert').getByText(/^body\.cron: /).waitFor();
    expect(errors.splice(before)).toEqual([expect.stringMatching(/status of 400/)]);
    await form.getByLabel('Cron expression').fill('0 4 * * *');
    await form.getByRole('button', { name: 'Create schedule' }).click();

    const row = page.locator('tr[data-schedule="nightly status"]');
    await row.getByText('active', { exact: true }).waitFor();
    expect(await row.textContent()).toContain('Asia/Shanghai');
    // Its next fire time (an ISO time in the API) reads as a date.
    expect(await row.textContent()).not.toContain('Invalid Date');
    const [stored] = (await api('GET', '/api/v1/batch-schedules')).items;
    expect(stored).toMatchObject({ name: 'nightly status', cron: '0 4 * * *', timezone: 'Asia/Shanghai', enabled: true, batch: { command: 'singbox-config.status', target: { tags: ['edge'] } } });

    await row.getByRole('button', { name: 'Pause' }).click();
    await row.getByText('paused', { exact: true }).waitFor();
    expect((await api('GET', `/api/v1/batch-schedules/${stored.id}`)).enabled).toBe(false);
    await row.getByRole('button', { name: 'Fires' }).click();
    await page.locator('[data-fires="nightly status"]').getByText('It has not fired yet.').waitFor();

    await row.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('alertdialog');
    await expect(dialog.textContent()).resolves.toContain('Delete the schedule nightly status?');
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText('No schedules yet.').waitFor();
    expect((await api('GET', '/api/v1/batch-schedules')).items).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('rolls a saved version out from the config editor and shows its stage pass live, with what the gate saw', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(15_000);
    await signIn(page, 'olga');
    await page.goto(`${url}/#/nodes/edge-1/config`);
    // The editor opens what the node runs first; Open before that would be overtaken by it.
    await page.getByRole('heading', { name: `Base config (JSON) from version ${versions.base.id}` }).waitFor();
    await page.locator(`tr[data-version="${versions.quiet.id}"]`).getByRole('button', { name: 'Open' }).click();
    await page.getByRole('heading', { name: `Base config (JSON) from version ${versions.quiet.id}` }).waitFor();
    await page.getByRole('button', { name: 'Roll out…' }).click();

    const form = page.locator('[data-rollout-form]');
    await form.getByLabel('Target').selectOption({ label: 'This node (edge-1)' });
    expect(await form.getByLabel('Stages').inputValue()).toBe('1, 100%');
    await form.getByLabel('Soak time (s)').fill('1');
    await form.getByLabel('Time to pass (s)').fill('20');
    await form.getByRole('button', { name: 'Start rollout' }).click();

    await page.getByRole('heading', { name: /^Rollout #\d+$/ }).waitFor();
    const id = Number(new URL(page.url()).hash.split('/').at(-1));
    await expect.poll(() => status(page, '[data-rollout-status]'), { timeout: 30_000 }).toBe('succeeded');
    const stage = page.locator('[data-stage="1"]');
    await expect.poll(() => status(page, '[data-stage="1"] h3')).toBe('passed');
    await expect.poll(() => status(page, 'tr[data-rollout-node="edge-1"]')).toBe('passed');
    const node = stage.locator('tr[data-rollout-node="edge-1"]');
    expect(await node.getByRole('cell').nth(2).textContent()).toBe(String(versions.base.id));
    await node.getByText('sing-box: running').waitFor();
    expect(await node.getByText(/: reachable$/).count()).toBeGreaterThan(0);
    expect(await node.locator('[data-failure]').count()).toBe(0);
    expect(await page.locator('[data-current-stage]').textContent()).toBe('1 / 1');
    await shot(page, 'rollout-1280');

    expect(await api('GET', `/api/v1/rollouts/${id}`)).toMatchObject({ version: versions.quiet.id, target: { node_ids: ['edge-1'] }, status: 'succeeded' });
    expect(await servedHash('edge-1')).toBe(versions.quiet.hash);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('pauses, resumes and aborts a rollout from its page; the abort puts the node back on the version it served', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(15_000);
    await signIn(page, 'olga');
    const before = await servedHash('edge-1');
    // A long soak, so the rollout is still running while it is paused, resumed and aborted.
    const { id } = await api('POST', '/api/v1/rollouts', { version: versions.base.id, target: { node_ids: ['edge-1'] }, gate: { soak_s: 600, timeout_s: 60 } });
    await page.goto(`${url}/#/rollouts/${id}`);
    await expect.poll(() => status(page, '[data-rollout-status]')).toBe('running');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => status(page, '[data-rollout-status]')).toBe('paused');
    expect((await api('GET', `/api/v1/rollouts/${id}`)).status).toBe('paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => status(page, '[data-rollout-status]')).toBe('running');
    await expect.poll(() => status(page, 'tr[data-rollout-node="edge-1"]'), { timeout: 20_000 }).toBe('applied');

    await page.getByRole('button', { name: 'Abort' }).click();
    const dialog = page.getByRole('alertdialog');
    await expect(dialog.textContent()).resolves.toContain(`Abort rollout #${id}?`);
    await dialog.getByRole('button', { name: 'Abort', exact: true }).click();
    await expect.poll(() => status(page, '[data-rollout-status]'), { timeout: 20_000 }).toBe('aborted');
    await expect.poll(() => status(page, 'tr[data-rollout-node="edge-1"]')).toBe('rolled_back');
    expect(await page.locator('[data-rollout-error]').textContent()).toMatch(/olga/);
    for (const name of ['Pause', 'Resume', 'Abort']) expect(await page.getByRole('button', { name }).count()).toBe(0);
    expect(await servedHash('edge-1')).toBe(before);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  for (const width of [1280, 390]) {
    it(`offers a viewer no batch, schedule or rollout action at ${width} px, without widening the page`, async () => {
      const errors: string[] = [];
      const page = await openPage(browser, width, errors);
      page.setDefaultTimeout(15_000);
      await signIn(page, 'vera');
      const [batch] = (await api('GET', '/api/v1/batches?per_page=1')).items;
      await page.goto(`${url}/#/batches/${batch.id}`);
      await page.locator('tr[data-batch-node="gone-1"]').waitFor();
      expect(await page.getByRole('button', { name: 'Retry failed' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Cancel batch' }).count()).toBe(0);
      // The API's ISO times read as dates.
      expect(await page.getByText('Invalid Date').count()).toBe(0);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);

      await page.goto(`${url}/#/batches`);
      await page.getByRole('heading', { name: 'Schedules' }).waitFor();
      await page.locator('tr[data-batch]').first().waitFor();
      expect(await page.getByRole('button', { name: 'New schedule' }).count()).toBe(0);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      await shot(page, `batches-viewer-${width}`);

      const [rollout] = (await api('GET', '/api/v1/rollouts')).items;
      await page.goto(`${url}/#/rollouts/${rollout.id}`);
      await page.locator('tr[data-rollout-node="edge-1"]').waitFor();
      for (const name of ['Pause', 'Resume', 'Abort']) expect(await page.getByRole('button', { name }).count()).toBe(0);
      expect(await page.getByText('Invalid Date').count()).toBe(0);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);

      await page.goto(`${url}/#/nodes/edge-1/config`);
      await page.getByText(/^The node runs version \d+\.$/).waitFor();
      expect(await page.getByRole('button', { name: 'Roll out…' }).count()).toBe(0);
      expect(errors).toEqual([]);
      await page.context().close();
    });
  }
});
