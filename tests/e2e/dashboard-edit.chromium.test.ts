// Editing and deleting in the dashboard, in a real browser against a real hub: a user's note, status
// and deletion; a plan's fields (its monthly reset day too) and deletion (refused while a subscription uses it); another admin's
// role, password, status and deletion (not offered for your own account); a node's settings (its
// public host and a per-inbound override among them) and its removal; a drifted node's badge; an install command for a new
// node, copied and revoked; what an operator is not offered. Every destructive action asks first. The edit forms at 1280 px and on a 390 px phone,
// with a screenshot of each and no console error but the hub's deliberate refusals.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../hub/admins.js';
import { launchBrowser, openPage, signIn as signInAt, nav } from '../support/browser.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { seedUnreachableNode } from '../integration/jobs.suite.js';

const SHOTS = path.resolve('test-output/screenshots');
const PASSWORD = 'dashboard-test-password';
const GB = 1024 ** 3;

describe('editing and deleting in the dashboard, in Chromium', { timeout: 90_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;
  /** Ids of what the hub starts with, by name. */
  const users = {} as Record<'bob' | 'carla' | 'dan', number>;
  const plans = {} as Record<'Basic' | 'Spare' | 'Trial', number>;

  const api = async (method: 'GET' | 'POST', route: string, payload?: object) => {
    const res = await hub.app.inject({ method, url: `/api/v1${route}`, headers: hub.auth, payload });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json();
  };

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    hub = await startTestHub('sqlite');
    await createAdmin('olga', PASSWORD, 'owner');
    await createAdmin('alice', PASSWORD, 'operator');
    await createAdmin('dave', PASSWORD, 'viewer');
    await createAdmin('erin', PASSWORD, 'viewer');
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    for (const [name, note] of [['bob', 'first note'], ['carla', ''], ['dan', 'leaving']] as const) {
      users[name] = (await api('POST', '/users', { name, note })).id;
    }
    for (const [name, gb] of [['Basic', 100], ['Spare', 5], ['Trial', 10]] as const) {
      plans[name] = (await api('POST', '/plans', { name, traffic_limit_bytes: gb * GB, duration_days: 30, node_tags: ['web'] })).id;
    }
    // A node whose agent is not running: its settings are the hub's own. It runs a config with two
    // inbounds, whose tags the overrides table offers.
    await seedUnreachableNode(hub.app.db, 'spare-1', ['web']);
    const inbounds = [
      { type: 'vless', tag: 'vless-ws', listen: '::', listen_port: 10443, transport: { type: 'ws', path: '/ws' } },
      { type: 'hysteria2', tag: 'hy2-in', listen: '::', listen_port: 10444 },
    ];
    const version = await api('POST', '/configs', { config: { inbounds }, comment: 'spare' });
    await hub.app.db('nodes').where({ id: 'spare-1' }).update({ applied_config_version: version.id });
    // Basic is in use, so the hub refuses to delete it.
    await api('POST', '/subscriptions', { user_id: users.carla, plan_id: plans.Basic });
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  const signIn = (page: Page, username: string, password = PASSWORD) => signInAt(page, url, username, password);

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  const row = (page: Page, text: string) => page.locator('tr').filter({ has: page.getByRole('cell', { name: text, exact: true }) });
  /** A user's row, by the link of their name (the cell also links their usage). */
  const userRow = (page: Page, name: string) => page.locator('tr').filter({ has: page.getByRole('link', { name, exact: true }) });
  const adminRow = (page: Page, username: string) => page.locator(`tr[data-admin="${username}"]`);
  const dialog = (page: Page) => page.getByRole('alertdialog');
  /** Answers the open question with the button `answer` and waits for the dialog to close. */
  async function answer(page: Page, expected: string, answer: string) {
    await expect(dialog(page).textContent()).resolves.toContain(expected);
    await dialog(page).getByRole('button', { name: answer, exact: true }).click();
    await dialog(page).waitFor({ state: 'detached' });
  }

  for (const width of [1280, 390]) {
    it(`shows the edit forms at ${width} px without widening the page`, async () => {
      const errors: string[] = [];
      const page = await openPage(browser, width, errors);
      page.setDefaultTimeout(10_000);
      await signIn(page, 'olga');
      const fits = async () => expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);

      await page.goto(`${url}/#/users/${users.bob}`);
      const detail = page.locator('bf-user-detail');
      await detail.getByRole('button', { name: 'Edit note' }).click();
      expect(await detail.getByLabel('Note').inputValue()).toBe('first note');
      await shot(page, `edit-user-${width}`);
      await fits();

      await nav(page, 'Plans');
      await row(page, 'Trial').getByRole('button', { name: 'Edit' }).click();
      const card = page.locator('[data-edit-plan]');
      expect(await card.getByLabel('Traffic (GB)').inputValue()).toBe('10');
      await shot(page, `edit-plan-${width}`);
      await fits();

      await page.goto(`${url}/#/nodes/spare-1`);
      await page.getByRole('button', { name: 'Edit node' }).click();
      await page.getByRole('button', { name: 'Add override' }).click();
      await page.getByLabel('Inbound tag 1', { exact: true }).waitFor();
      await shot(page, `edit-node-overrides-${width}`);
      await fits();

      await nav(page, 'Admins');
      await adminRow(page, 'dave').getByRole('button', { name: 'Edit' }).click();
      await page.locator('[data-edit-admin]').getByLabel('Role').waitFor();
      await shot(page, `edit-admin-${width}`);
      await fits();
      await page.getByRole('button', { name: '中文' }).click();
      await adminRow(page, 'dave').getByRole('button', { name: '删除' }).click();
      await expect(dialog(page).textContent()).resolves.toContain('删除管理员账号 dave？');
      await shot(page, `edit-admin-zh-confirm-${width}`);
      await dialog(page).getByRole('button', { name: '取消' }).click();
      await page.getByRole('button', { name: 'English' }).click();

      expect(errors).toEqual([]);
      await page.context().close();
    });
  }

  it("lets an operator edit a user's note, disable and enable them, and delete another", async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(10_000);
    await signIn(page, 'alice');
    await nav(page, 'Users');
    await page.getByRole('link', { name: 'bob', exact: true }).click();
    const detail = page.locator('bf-user-detail');
    await detail.getByRole('heading', { name: 'bob' }).waitFor();

    await detail.getByRole('button', { name: 'Edit note' }).click();
    await detail.getByLabel('Note').fill('pays yearly');
    await detail.getByRole('button', { name: 'Save' }).click();
    await detail.locator('[data-note]', { hasText: 'pays yearly' }).waitFor();
    // The list shows the note under the name.
    await userRow(page, 'bob').getByText('pays yearly').waitFor();
    expect((await api('GET', `/users/${users.bob}`)).note).toBe('pays yearly');

    // Disabling asks first; cancelling changes nothing.
    await detail.getByRole('button', { name: 'Disable' }).click();
    await answer(page, 'Disable bob?', 'Cancel');
    expect(await detail.locator('[data-user-status="active"]').count()).toBe(1);
    expect((await api('GET', `/users/${users.bob}`)).status).toBe('active');
    await detail.getByRole('button', { name: 'Disable' }).click();
    await answer(page, 'Disable bob?', 'Disable');
    await detail.locator('[data-user-status="disabled"]').waitFor();
    await userRow(page, 'bob').getByText('disabled').waitFor();
    expect((await api('GET', `/users/${users.bob}`)).status).toBe('disabled');
    // Enabling takes nothing away, so it does not ask.
    await detail.getByRole('button', { name: 'Enable' }).click();
    await detail.locator('[data-user-status="active"]').waitFor();
    // Enabled again, the list says why bob still cannot connect: he has no plan.
    await userRow(page, 'bob').getByText('no plan').waitFor();

    await page.getByRole('link', { name: 'dan', exact: true }).click();
    await detail.getByRole('heading', { name: 'dan' }).waitFor();
    await detail.getByRole('button', { name: 'Delete' }).click();
    await answer(page, 'Delete dan and all their subscriptions?', 'Delete');
    await page.getByRole('link', { name: 'dan', exact: true }).waitFor({ state: 'detached' });
    expect(new URL(page.url()).hash).toBe('#/users');
    await detail.waitFor({ state: 'detached' });
    const names = (await api('GET', '/users')).items.map((u: { name: string }) => u.name);
    expect(names).toEqual(['bob', 'carla']);

    // An operator may not change plans or see the admin accounts.
    expect(await page.getByRole('navigation').getByRole('link', { name: 'Admins' }).count()).toBe(0);
    await nav(page, 'Plans');
    await row(page, 'Basic').waitFor();
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);

    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('lets an admin edit a plan, shows why a plan in use cannot be deleted, and deletes an unused one', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(10_000);
    await signIn(page, 'olga');
    await nav(page, 'Plans');

    await row(page, 'Trial').getByRole('button', { name: 'Edit' }).click();
    const card = page.locator('[data-edit-plan]');
    expect(await card.getByLabel('Name').inputValue()).toBe('Trial');
    expect(await card.getByLabel('Node tags').inputValue()).toBe('web');
    await card.getByLabel('Name').fill('Trial XL');
    await card.getByLabel('Traffic (GB)').fill('250');
    await card.getByLabel('Traffic reset').selectOption({ label: 'monthly' });
    await card.getByLabel('Reset day of the month (monthly, 1–28)').fill('5');
    await card.getByRole('button', { name: 'Save' }).click();
    await card.waitFor({ state: 'detached' });
    await row(page, 'Trial XL').getByRole('cell', { name: '250.0 GB' }).waitFor();
    await row(page, 'Trial XL').getByRole('cell', { name: 'monthly, on day 5' }).waitFor();
    expect(await row(page, 'Trial').count()).toBe(0);
    // What the form did not change stays as it was.
    expect(await api('GET', `/plans/${plans.Trial}`)).toMatchObject({
      name: 'Trial XL',
      traffic_limit_bytes: 250 * GB,
      duration_days: 30,
      node_tags: ['web'],
      is_enabled: true,
      reset_policy: 'monthly',
      reset_day: 5,
    });

    // A plan in use: the hub's refusal, and its advice, shown where the admin asked.
    await row(page, 'Basic').getByRole('button', { name: 'Delete' }).click();
    const before = errors.length;
    await answer(page, 'Delete the plan Basic?', 'Delete');
    await expect.poll(() => page.getByRole('alert').textContent().catch(() => '')).toContain('disable it (is_enabled: false) instead of deleting it');
    // The browser logs the hub's 409 as a failed resource: that one is expected here.
    expect(errors.splice(before)).toEqual([expect.stringMatching(/status of 409/)]);
    await row(page, 'Basic').waitFor();
    // ...so it is disabled instead.
    await row(page, 'Basic').getByRole('button', { name: 'Edit' }).click();
    await card.getByLabel('Enabled').uncheck();
    await card.getByRole('button', { name: 'Save' }).click();
    await row(page, 'Basic').getByText('disabled').waitFor();
    expect((await api('GET', `/plans/${plans.Basic}`)).is_enabled).toBe(false);

    await row(page, 'Spare').getByRole('button', { name: 'Delete' }).click();
    await answer(page, 'Delete the plan Spare?', 'Delete');
    await row(page, 'Spare').waitFor({ state: 'detached' });
    const names = (await api('GET', '/plans')).items.map((p: { name: string }) => p.name);
    expect(names).toEqual(['Basic', 'Trial XL']);

    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("lets an owner change another admin's role and password, disable and delete accounts, but not their own", async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(10_000);
    await signIn(page, 'olga');
    await nav(page, 'Admins');

    await adminRow(page, 'dave').getByRole('button', { name: 'Edit' }).click();
    const card = page.locator('[data-edit-admin]');
    expect(await card.getByLabel('Role').inputValue()).toBe('viewer');
    await card.getByLabel('Role').selectOption('operator');
    await card.getByLabel('New password').fill('dave-new-password');
    await card.getByRole('button', { name: 'Save' }).click();
    await card.waitFor({ state: 'detached' });
    await adminRow(page, 'dave').getByRole('cell', { name: 'operator' }).waitFor();

    // Dave signs in with the new password, as an operator.
    const daves = await openPage(browser, 1280, errors);
    daves.setDefaultTimeout(10_000);
    await signIn(daves, 'dave', 'dave-new-password');
    await daves.getByText('dave · operator').waitFor();
    await daves.context().close();

    await adminRow(page, 'dave').getByRole('button', { name: 'Disable' }).click();
    await answer(page, 'Disable dave?', 'Cancel');
    expect(await adminRow(page, 'dave').getByText('disabled').count()).toBe(0);
    await adminRow(page, 'dave').getByRole('button', { name: 'Disable' }).click();
    await answer(page, 'Disable dave?', 'Disable');
    await adminRow(page, 'dave').getByText('disabled').waitFor();
    const dave = (await api('GET', '/admins')).items.find((a: { username: string }) => a.username === 'dave');
    expect(dave).toMatchObject({ role: 'operator', disabled: true });

    // Your own account: marked, never offered for disabling or deleting (the hub refuses deleting
    // it anyway), and giving up the owner role asks first.
    const own = adminRow(page, 'olga');
    expect(await own.textContent()).toContain('(you)');
    expect(await own.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    expect(await own.getByRole('button', { name: 'Disable' }).count()).toBe(0);
    await own.getByRole('button', { name: 'Edit' }).click();
    await page.locator('[data-edit-admin]').getByLabel('Role').selectOption('admin');
    await page.locator('[data-edit-admin]').getByRole('button', { name: 'Save' }).click();
    await answer(page, 'Give up the owner role and become admin?', 'Cancel');
    expect((await api('GET', '/admins')).items.find((a: { username: string }) => a.username === 'olga')).toMatchObject({ role: 'owner' });
    await page.locator('[data-edit-admin]').getByRole('button', { name: 'Cancel' }).click();

    await adminRow(page, 'erin').getByRole('button', { name: 'Delete' }).click();
    await answer(page, 'Delete the admin account erin?', 'Delete');
    await adminRow(page, 'erin').waitFor({ state: 'detached' });
    const names = (await api('GET', '/admins')).items.map((a: { username: string }) => a.username);
    expect(names).not.toContain('erin');
    expect(names).toEqual(expect.arrayContaining(['olga', 'alice', 'dave']));

    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('marks a node serving a config the hub did not apply with a drift badge, in the node list and on its page', async () => {
    await hub.app.db('nodes').where({ id: 'spare-1' }).update({ served_config_hash: 'f'.repeat(64), config_drift_since: Date.now() });
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(10_000);
    await signIn(page, 'olga');
    await page.goto(`${url}/#/nodes`);
    await page.locator('[data-drift]').waitFor();
    expect(await page.locator('[data-drift]').textContent()).toBe('config drift');
    expect(await page.locator('[data-drift]').getAttribute('title')).toContain('left out of subscriptions');
    await page.goto(`${url}/#/nodes/spare-1`);
    await page.getByRole('heading', { name: 'Node spare-1' }).waitFor();
    expect(await page.locator('[data-drift]').textContent()).toContain('left out of subscriptions until you apply a version');
    await page.getByRole('button', { name: '中文' }).click();
    await expect.poll(() => page.locator('[data-drift]').textContent()).toContain('配置漂移');
    await page.getByRole('button', { name: 'English' }).click();
    expect(errors).toEqual([]);
    await page.context().close();
    await hub.app.db('nodes').where({ id: 'spare-1' }).update({ served_config_hash: null, config_drift_since: null });
  });

  it("lets an admin change a node's settings and remove it from the hub, after asking", async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(10_000);
    await signIn(page, 'olga');
    await page.goto(`${url}/#/nodes/spare-1`);
    await page.getByRole('heading', { name: 'Node spare-1' }).waitFor();
    await page.getByRole('button', { name: 'Edit node' }).click();
    const form = page.locator('[data-node-settings]');
    expect(await form.getByLabel('Address').inputValue()).toBe('127.0.0.1:1');
    await form.getByLabel('Name').fill('Spare one');
    await form.getByLabel('Tags').fill('web, edge');
    await form.getByLabel('Traffic multiplier').fill('2');
    // Clients dial another name than the agent's address, and a CDN on another port for one inbound.
    expect(await form.getByLabel('Public host').inputValue()).toBe('');
    await form.getByLabel('Public host').fill('spare.example.com');
    await form.getByRole('button', { name: 'Add override' }).click();
    expect(await form.locator('datalist option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value))).toEqual(['vless-ws', 'hy2-in']);
    await form.getByLabel('Inbound tag 1', { exact: true }).fill('vless-ws');
    await form.getByLabel('Host 1', { exact: true }).fill('cdn.example.com');
    await form.getByLabel('Port 1', { exact: true }).fill('8443');
    await shot(page, 'edit-node-1280');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText('×2').waitFor();
    expect(await page.getByText('web, edge').isVisible()).toBe(true);
    expect(await page.locator('[data-public-host]').textContent()).toBe('spare.example.com');
    expect(await page.locator('[data-overrides]').textContent()).toBe('vless-ws → cdn.example.com, Port 8443');
    expect(await api('GET', '/nodes/spare-1')).toMatchObject({
      name: 'Spare one',
      tags: ['web', 'edge'],
      multiplier: 2,
      address: '127.0.0.1:1',
      public_host: 'spare.example.com',
      inbound_overrides: { 'vless-ws': { host: 'cdn.example.com', port: 8443 } },
    });
    await nav(page, 'Nodes');
    await row(page, 'Spare one').getByText('Public host: spare.example.com').waitFor();

    // A port alone is an override too; a row left without host and port is refused before saving.
    await page.getByRole('link', { name: 'Spare one' }).click();
    await page.getByRole('button', { name: 'Edit node' }).click();
    expect(await form.getByLabel('Host 1', { exact: true }).inputValue()).toBe('cdn.example.com');
    await form.getByRole('button', { name: 'Add override' }).click();
    await form.getByLabel('Inbound tag 2', { exact: true }).fill('hy2-in');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByRole('alert').filter({ hasText: 'The override of hy2-in needs a host or a port.' }).waitFor();
    await form.getByLabel('Port 2', { exact: true }).fill('20443');
    await form.getByLabel('Public host').fill('');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-overrides]', { hasText: 'hy2-in → Port 20443' }).waitFor();
    expect(await api('GET', '/nodes/spare-1')).toMatchObject({
      public_host: null,
      inbound_overrides: { 'vless-ws': { host: 'cdn.example.com', port: 8443 }, 'hy2-in': { port: 20443 } },
    });

    // Removing asks first; cancelling keeps the node.
    await page.getByRole('button', { name: 'Remove node' }).click();
    await answer(page, 'Remove spare-1 from the hub?', 'Cancel');
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/spare-1', headers: hub.auth })).statusCode).toBe(200);
    await page.getByRole('button', { name: 'Remove node' }).click();
    await answer(page, 'Remove spare-1 from the hub?', 'Remove node');
    await page.getByRole('heading', { name: 'Nodes' }).waitFor();
    await page.getByText('No nodes yet.', { exact: false }).waitFor();
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/spare-1', headers: hub.auth })).statusCode).toBe(404);

    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('lets an admin create an install command for a new node, copy it, and revoke it', async () => {
    // The agent tarballs the hub hands out (stand-ins: nothing runs them here).
    await mkdir(hub.config.release_dir, { recursive: true });
    let sums = '';
    for (const arch of ['amd64', 'arm64']) {
      const file = `boxfleet-agent-9.9.9-linux-${arch}.tar.gz`;
      await writeFile(path.join(hub.config.release_dir, file), arch);
      sums += `${createHash('sha256').update(arch).digest('hex')}  ${file}\n`;
    }
    await writeFile(path.join(hub.config.release_dir, 'SHA256SUMS'), sums);

    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    page.setDefaultTimeout(10_000);
    await signIn(page, 'olga');
    await nav(page, 'Nodes');
    await page.getByRole('button', { name: 'Add node' }).click();
    const add = page.getByRole('dialog', { name: 'Add node' });
    expect(await add.getByRole('tab', { name: 'Install command' }).getAttribute('aria-selected')).toBe('true');
    await add.getByLabel('Tags').fill('edge, hk');
    await add.getByLabel('Name').fill('Edge one');
    await add.getByLabel('Traffic multiplier').fill('2');
    await add.getByRole('button', { name: 'Create command' }).click();

    const shown = add.locator('[data-install-command]');
    const command = (await shown.locator('pre').textContent())!;
    expect(command.startsWith(`curl -fsSL ${url}/install/`)).toBe(true);
    expect(command).toMatch(/\/install\/[A-Za-z0-9_-]{43} \| sudo sh -s -- --address <host:port>$/);
    const text = await shown.textContent();
    expect(text).toContain('Replace <host:port> with the address the hub will dial to reach the new node');
    expect(text).toContain('It adds one node, until');
    expect(text).toContain('Installs boxfleet-agent 9.9.9 for Linux amd64, arm64.');
    await shot(page, 'add-node-command-1280');
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByRole('button', { name: '✓ Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command);
    const [pending] = (await api('GET', '/nodes/install-tokens?status=pending')).items;
    expect(pending).toMatchObject({ tags: ['edge', 'hk'], name: 'Edge one', multiplier: 2, created_by: 'olga' });

    // A node whose agent is already set up is still added from its enrollment string.
    await add.getByRole('tab', { name: 'Enrollment string' }).click();
    await add.getByLabel('Enrollment string').waitFor();
    await add.getByRole('button', { name: 'Close' }).click();
    await add.waitFor({ state: 'detached' });

    // Listed until used; revoking asks first.
    const listed = page.locator(`[data-install-command-id="${pending.id}"]`);
    expect(await listed.textContent()).toContain('Edge one');
    await listed.getByRole('button', { name: 'Revoke' }).click();
    await answer(page, 'Revoke the install command olga created at', 'Cancel');
    await listed.getByRole('button', { name: 'Revoke' }).click();
    await answer(page, 'Revoke the install command olga created at', 'Revoke');
    await listed.waitFor({ state: 'detached' });
    expect((await api('GET', '/nodes/install-tokens?status=revoked')).items[0]).toMatchObject({ id: pending.id });
    const script = await hub.app.inject({ method: 'GET', url: new URL(command.split(' ')[2]!).pathname });
    expect(script.body).toContain('this install command was revoked at');

    // The dialog on a phone, in Chinese.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: '中文' }).click();
    await page.getByRole('button', { name: '添加节点' }).click();
    await page.getByRole('dialog', { name: '添加节点' }).getByRole('button', { name: '生成命令' }).click();
    await page.getByRole('dialog', { name: '添加节点' }).getByText('把 <host:port> 换成').waitFor();
    await shot(page, 'add-node-command-zh-390');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.getByRole('dialog', { name: '添加节点' }).getByRole('button', { name: '关闭' }).click();
    await page.getByRole('button', { name: 'English' }).click();

    expect(errors).toEqual([]);
    await page.context().close();
  });
});
