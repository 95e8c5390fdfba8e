// The dashboard in a real browser against a real hub and a real agent running real sing-box: sign
// in, create a plan and a user and assign it, suspend and resume, edit the node's config (a syntax
// error marked on its line, a config sing-box refuses with its own message, a diff, a rollback), see
// the user on the node, run a plugin command through the generic form, read the audit log, switch
// language; every screen at 1280 px and on a 390 px phone, with a screenshot of each and no console
// error and no Content-Security-Policy violation (tests/support/browser.ts hears of both).
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../hub/admins.js';
import { startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { launchBrowser, openPage, signIn as signInAt, nav } from '../support/browser.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, singboxNodePlugins, type NodeProfile } from '../support/singbox-peers.js';

const SHOTS = path.resolve('test-output/screenshots');
const PASSWORD = 'dashboard-test-password';
const WIDTHS = [1280, 390];

describe('dashboard in Chromium', { timeout: 90_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;
  let agent: AgentProcess;
  let probed: net.Server;
  let probedPort: number;
  let profile: NodeProfile;

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    // The reconciler runs (every second), so an assigned user reaches the node's sing-box.
    // The alerts job stays away (first tick in an hour), so the alert seeded below keeps firing.
    hub = await startTestHub('sqlite', { config: { jobs_enabled: true, reconcile_interval_s: 1, alerts_interval_s: 3600 } });
    await createAdmin('alice', PASSWORD, 'operator');
    await createAdmin('olga', PASSWORD, 'owner');
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    profile = await makeNodeProfile();
    const plugins = await singboxNodePlugins(singboxBin());
    // Samples every second, so the node's chart gets a new point over the WebSocket within the test.
    agent = await startAgentProcess({
      nodeId: 'web-1',
      configure: (config, dir) => {
        config.plugins.sysmetrics = { ...config.plugins.sysmetrics, enabled: true, cpu_memory_interval_s: 1, disk_network_interval_s: 1 };
        // health-probe.tcp is run below against a loopback listener, which a node allows only when told to;
        // a scheduled probe of the hub gives the node page a probe history to show.
        config.plugins['health-probe'] = {
          ...config.plugins['health-probe'],
          allow_private_targets: true,
          probes: [{ name: 'hub', kind: 'http', url: `${url}/`, interval_s: 1 }],
        };
        Object.assign(config.plugins, plugins(dir));
      },
    });
    const enrolled = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/nodes',
      headers: hub.auth,
      payload: { enrollment: agent.enrollment, tags: ['web'] },
    });
    expect(enrolled.statusCode, enrolled.body).toBe(201);
    // Some traffic over the last days, for the overview's chart.
    const seeded = await hub.app.inject({ method: 'POST', url: '/api/v1/users', headers: hub.auth, payload: { name: 'carla' } });
    expect(seeded.statusCode, seeded.body).toBe(201);
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    await hub.app.db('usage_hourly').insert(
      [0, 1, 2, 3, 5].map((d) => ({
        node_id: 'web-1',
        user_id: seeded.json().id,
        hour: hour - d * 86_400_000,
        upload_bytes: (d + 1) * 300_000_000,
        download_bytes: (d + 2) * 900_000_000,
        billed_bytes: (d + 1) * 1_200_000_000,
      })),
    );
    // An alert firing since ten minutes ago, for the overview.
    await hub.app.db('alerts').insert({
      node_id: 'web-1',
      rule: 'disk',
      state: 'firing',
      value: 93,
      last_value: 95,
      threshold: 90,
      clear_below: 85,
      fired_at: Date.now() - 600_000,
    });
    // What health-probe.tcp connects to from the node.
    probed = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => probed.listen(0, '127.0.0.1', resolve));
    probedPort = (probed.address() as net.AddressInfo).port;
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => probed?.close(resolve));
    // sing-box outlives its agent by design; stop it too.
    const status = await hub?.app
      .inject({ method: 'POST', url: '/api/v1/nodes/web-1/commands/singbox-config.status', headers: hub.auth, payload: {} })
      .then((r) => r.json() as { pid?: number });
    await agent?.stop();
    if (status?.pid) process.kill(status.pid, 'SIGTERM');
    await hub?.close();
  });

  const signIn = (page: Page, username: string) => signInAt(page, url, username, PASSWORD);

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  it('lets an owner create a plan and a user, assign, suspend and resume, run a plugin command and read the audit log', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(10_000);
    await signIn(page, 'olga');
    await expect.poll(() => page.locator('[data-tile="online"] .n').textContent()).toBe('1');
    // Today's seeded traffic (300 MB up, 1.8 GB down) and the firing alert, with its node and value.
    expect(await page.locator('[data-tile="traffic-today"] .n').textContent()).toBe('2.0 GB');
    expect(await page.locator('[data-tile="open-alerts"] .n').textContent()).toBe('1');
    expect(await page.locator('[data-alert="disk"]').textContent()).toMatch(/web-1\s*Disk\s*95 %/);
    // Figures left on screen stay current: coming back to the tab fetches them again (and every 30 s).
    await hub.app.db('alerts').insert({ node_id: 'web-1', rule: 'cpu', state: 'firing', value: 91, last_value: 92, threshold: 80, clear_below: 75, fired_at: Date.now() });
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await expect.poll(() => page.locator('[data-tile="open-alerts"] .n').textContent()).toBe('2');
    expect(await page.locator('[data-alert="cpu"]').textContent()).toMatch(/web-1\s*CPU\s*92 %/);
    expect(await page.getByRole('navigation').getByRole('link', { name: 'Audit log' }).isVisible()).toBe(true);
    expect(await page.getByRole('navigation').getByRole('link', { name: 'Admins' }).isVisible()).toBe(true);

    // A plan, from the form the plan schema renders.
    await nav(page, 'Plans');
    await page.getByRole('heading', { name: 'Plans' }).waitFor();
    await page.getByLabel('Name').fill('Basic');
    await page.getByLabel('Traffic (GB)').fill('100');
    expect(await page.getByLabel('Duration (days)').inputValue()).toBe('30');
    await page.getByLabel('Node tags').fill('web');
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.getByRole('cell', { name: 'Basic' }).waitFor();
    expect(await page.getByRole('cell', { name: '100.0 GB' }).isVisible()).toBe(true);

    // A user, then the plan assigned to them.
    await nav(page, 'Users');
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByRole('button', { name: 'New customer' }).click();
    const newCustomer = page.getByRole('dialog', { name: 'New customer' });
    await newCustomer.getByLabel('Name').fill('bob');
    await newCustomer.getByLabel('Note').fill('from the dashboard test');
    await newCustomer.getByLabel('Plan', { exact: true }).selectOption({ label: 'No plan for now' });
    await newCustomer.getByRole('button', { name: 'Create user' }).click();
    await newCustomer.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('link', { name: 'bob', exact: true }).waitFor();
    await page.getByText('No subscription.').waitFor();
    await page.getByLabel('Plan', { exact: true }).selectOption({ label: 'Basic' });
    await page.getByRole('button', { name: 'Assign plan' }).click();
    await page.locator('[data-status="active"]').waitFor();

    // Suspending asks first; cancelling the question changes nothing. (The buttons of the user's card:
    // the table's bulk actions are named alike.)
    const detail = page.locator('bf-user-detail');
    await detail.getByRole('button', { name: 'Suspend' }).click();
    const dialog = page.getByRole('alertdialog');
    await expect(dialog.textContent()).resolves.toContain('Suspend the subscription of bob?');
    await shot(page, 'confirm-1280');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await page.locator('[data-status="active"]').count()).toBe(1);
    await detail.getByRole('button', { name: 'Suspend' }).click();
    await dialog.getByRole('button', { name: 'Suspend' }).click();
    await page.locator('[data-status="suspended"]').waitFor();
    const sub = (await hub.app.inject({ method: 'GET', url: '/api/v1/subscriptions', headers: hub.auth })).json().items[0];
    expect(sub).toMatchObject({ status: 'suspended', suspended_reason: 'admin' });
    await detail.getByRole('button', { name: 'Resume' }).click();
    await page.locator('[data-status="active"]').waitFor();

    // Search narrows the list.
    await page.getByRole('searchbox').fill('nobody-like-this');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No user matches.').waitFor();
    await page.getByRole('searchbox').fill('bo');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'bob', exact: true }).waitFor();

    await nav(page, 'Subscriptions');
    await page.getByRole('heading', { name: 'Subscriptions' }).waitFor();
    await page.getByRole('cell', { name: 'Basic' }).waitFor();
    expect(await page.getByRole('cell', { name: 'active' }).count()).toBe(1);
    // A subscription leads to its user.
    await page.getByRole('link', { name: `#${sub.user_id}` }).click();
    await page.locator('[data-status="active"]').waitFor();
    expect(await page.getByRole('heading', { name: 'bob' }).isVisible()).toBe(true);

    // The node's page: a panel per plugin, a form per command, rendered from its input schema; the
    // probe results and inventory the hub read from the node.
    expect(await hub.app.jobs.run('probes')).toMatchObject({ ran: true, result: { answered: 1 } });
    await nav(page, 'Nodes');
    await page.getByRole('heading', { name: 'Nodes' }).waitFor();
    await page.getByRole('link', { name: 'web-1' }).click();
    await page.getByRole('heading', { name: 'Node web-1' }).waitFor();
    // Its live chart: ECharts draws on a canvas, and a new sample arrives over the WebSocket.
    const chart = page.locator('bf-node-metrics bf-chart');
    await chart.locator('canvas').first().waitFor();
    const points = () => chart.getAttribute('data-points').then(Number);
    await expect.poll(points).toBeGreaterThan(0);
    const before0 = await points();
    await expect.poll(points, { timeout: 10_000 }).toBeGreaterThan(before0);
    const probe = page.locator('[data-probe="hub"]');
    expect(await probe.textContent()).toContain(`${url}/`);
    expect(await probe.locator('.badge').textContent()).toBe('up');
    expect(await page.locator('[data-inventory]').textContent()).toContain('Linux');
    const tcp = page.locator('[data-command="health-probe.tcp"]');
    await tcp.locator('summary').click();
    expect(await tcp.getByLabel('timeout_ms').inputValue()).toBe('3000');
    await tcp.getByLabel('host').fill('127.0.0.1');
    await tcp.getByLabel('port').fill(String(probedPort));
    await tcp.getByRole('button', { name: 'Run' }).click();
    await expect.poll(() => tcp.locator('[data-result]').textContent().catch(() => '')).toContain('"ok": true');
    await shot(page, 'node-command-1280');

    // A refused command shows the hub's message next to its form.
    const history = page.locator('[data-command="sysmetrics.history"]');
    await history.locator('summary').click();
    await history.getByLabel('from').fill('yesterday');
    const before = errors.length;
    await history.getByRole('button', { name: 'Run' }).click();
    await history.getByRole('alert').waitFor();
    expect(await history.getByRole('alert').textContent()).toMatch(/from/);
    // The browser logs the hub's 4xx answer as a failed resource: that one is expected here.
    expect(errors.splice(before)).toEqual([expect.stringMatching(/status of 4\d\d/)]);

    // The node's base config. A syntax error is marked on its line and nothing can be saved.
    await page.getByRole('link', { name: 'Edit config' }).click();
    await page.getByRole('heading', { name: 'Config of web-1' }).waitFor();
    await page.getByText('The node runs no config from the hub yet.').waitFor();
    const editor = page.getByLabel('Base config (JSON)');
    const confirmWith = async (label: string) => {
      await dialog.getByRole('button', { name: label }).click();
      await dialog.waitFor({ state: 'detached' });
    };
    const base = JSON.stringify(profile.baseConfig, null, 2);
    await editor.fill(base.replace('"warn"\n  },', '"warn"\n  }'));
    await expect.poll(() => page.locator('[data-parse-error]').textContent()).toContain('Line 5, column 3');
    expect(await page.locator('[data-marked-line]').getAttribute('data-marked-line')).toBe('5');
    expect(await page.getByRole('button', { name: 'Save and apply' }).isDisabled()).toBe(true);
    await shot(page, 'config-syntax-error-1280');

    // A valid config, saved and applied after confirming: the node runs it.
    await editor.fill(base);
    await page.getByLabel('Comment').fill('first');
    await page.getByRole('button', { name: 'Save and apply' }).click();
    await confirmWith('Save and apply');
    await expect.poll(() => page.locator('[data-notice]').textContent()).toBe('web-1 runs version 1.');
    await expect.poll(() => page.locator('[data-config-state]').textContent()).toContain('The node runs version 1.');

    // The user assigned above reaches the node's sing-box (the reconciler syncs every second): the
    // singbox-config panel lists the node's users.
    await page.getByRole('link', { name: '← Node web-1' }).click();
    const singbox = page.locator('bf-singbox-panel');
    await expect
      .poll(
        async () => {
          await singbox.getByRole('button', { name: 'Refresh' }).click();
          return singbox.locator('[data-node-users] td').allTextContents();
        },
        { timeout: 20_000 },
      )
      .toContain('bob');
    expect(await singbox.locator('[data-singbox-status]').textContent()).toMatch(/sing-box\s*running\s*1\.13/);
    // The node hashes its base config as the hub hashes versions: the same hash is the same config.
    const applied = (await hub.app.inject({ method: 'GET', url: '/api/v1/configs/1', headers: hub.auth })).json();
    expect(await singbox.locator('[data-singbox-status]').textContent()).toContain(`sha256 ${applied.hash.slice(0, 12)}`);
    await shot(page, 'node-users-1280');

    // A config sing-box refuses: its own message, the line it names marked, the node unchanged.
    await page.getByRole('link', { name: 'Edit config' }).click();
    await page.getByText('The node runs version 1.').waitFor();
    const running = JSON.parse(await editor.inputValue());
    running.inbounds[0].no_such_field = true;
    await editor.fill(JSON.stringify(running, null, 2));
    await page.getByRole('button', { name: 'Save and apply' }).click();
    const beforeRefusal = errors.length;
    await confirmWith('Save and apply');
    const refusal = page.locator('[data-refusal]');
    await expect.poll(() => refusal.textContent()).toContain('node web-1 refused config version 2: sing-box check refused the config');
    expect(await refusal.textContent()).toContain('unknown field "no_such_field"');
    const marked = Number(await page.locator('[data-marked-line]').getAttribute('data-marked-line'));
    expect((await editor.inputValue()).split('\n')[marked - 1]).toContain('"no_such_field"');
    expect(errors.splice(beforeRefusal)).toEqual([expect.stringMatching(/status of 400/)]);
    await expect.poll(() => page.locator('[data-config-state]').textContent()).toContain('The node runs version 1.');
    await page.locator('[data-push="2"]').getByText('refused', { exact: true }).waitFor();
    await shot(page, 'config-refused-1280');

    // A good change, applied; the diff between the two shows it; rolling back returns to version 1.
    delete running.inbounds[0].no_such_field;
    running.log.level = 'info';
    await editor.fill(JSON.stringify(running, null, 2));
    await page.getByRole('button', { name: 'Save and apply' }).click();
    await confirmWith('Save and apply');
    await expect.poll(() => page.locator('[data-notice]').textContent()).toBe('web-1 runs version 3.');
    await page.getByLabel('From', { exact: true }).selectOption({ label: 'Version 1' });
    await page.getByLabel('To', { exact: true }).selectOption({ label: 'Version 3' });
    await expect.poll(() => page.locator('[data-diff] [data-kind="removed"]').allTextContents()).toEqual([expect.stringContaining('"level": "warn"')]);
    expect(await page.locator('[data-diff] [data-kind="added"]').allTextContents()).toEqual([expect.stringContaining('"level": "info"')]);
    await shot(page, 'config-diff-1280');
    await page.getByRole('button', { name: 'Roll back' }).click();
    expect(await dialog.textContent()).toContain('Roll web-1 back from version 3');
    await confirmWith('Roll back');
    await expect.poll(() => page.locator('[data-notice]').textContent()).toBe('web-1 runs version 1.');
    await expect.poll(() => page.locator('[data-config-state]').textContent()).toContain('The node runs version 1.');
    expect((await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/web-1', headers: hub.auth })).json()).toMatchObject({ applied_config_version: 1 });
    expect(JSON.parse(await editor.inputValue()).log.level).toBe('warn');

    // A version to every node with the tag: each node's answer is listed.
    await page.locator('[data-version="3"]').getByRole('button', { name: 'Open' }).click();
    await expect.poll(async () => JSON.parse(await editor.inputValue()).log.level).toBe('info');
    await page.getByLabel('Tag', { exact: true }).selectOption('web');
    await page.getByRole('button', { name: 'Apply to tag' }).click();
    expect(await dialog.textContent()).toContain('Apply version 3 to every node tagged web?');
    await confirmWith('Apply to tag');
    await expect.poll(() => page.locator('[data-tag-summary]').textContent()).toBe('Nodes tagged web: 1 applied, 0 pending, 0 refused.');
    expect(await page.locator('[data-tag-results] tr').allTextContents()).toEqual([expect.stringMatching(/web-1\s*applied/)]);
    await expect.poll(() => page.locator('[data-config-state]').textContent()).toContain('The node runs version 3.');

    await nav(page, 'Audit log');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByLabel('Action').fill('subscription');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('cell', { name: 'subscription.suspend' }).waitFor();
    expect(await page.getByRole('cell', { name: 'plan.create' }).count()).toBe(0);
    // A filter the hub refuses shows its message in the screen's error state.
    await page.getByLabel('From').fill('2030-01-02T00:00');
    await page.getByLabel('To').fill('2030-01-01T00:00');
    const beforeFilter = errors.length;
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.getByRole('alert').textContent().catch(() => '')).toContain('must not be after');
    await page.getByRole('button', { name: 'Retry' }).waitFor();
    expect(errors.splice(beforeFilter)).toEqual([expect.stringMatching(/status of 400/)]);
    await shot(page, 'audit-error-1280');

    // Admin accounts: the owner's alone.
    await nav(page, 'Admins');
    await page.getByRole('heading', { name: 'Admin accounts' }).waitFor();
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('carol-password-1');
    expect(await page.getByLabel('Password').getAttribute('type')).toBe('password');
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Add admin' }).click();
    await page.getByRole('cell', { name: 'carol' }).waitFor();

    // Every string has a Chinese translation; the choice survives a reload.
    await page.getByRole('button', { name: '中文' }).click();
    await page.getByRole('heading', { name: '管理员账号' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: '管理员账号' }).waitFor();
    await nav(page, '用户');
    await page.getByRole('heading', { name: '用户', exact: true }).waitFor();
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();

    expect(errors).toEqual([]);
    await page.context().close();
  });

  for (const width of WIDTHS) {
    it(`shows every screen at ${width} px, in English and Chinese`, async () => {
      const errors: string[] = [];
      const page = await openPage(browser, width, errors);
      page.setDefaultTimeout(10_000);
      await page.goto(url);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await shot(page, `login-${width}`);
      await signIn(page, 'olga');
      await page.locator('[data-tile="online"]').waitFor();
      // The last 7 days of traffic: upload and download per day, from the seeded usage.
      const traffic = page.locator('[data-traffic] bf-chart');
      await traffic.locator('canvas').first().waitFor();
      expect(await traffic.getAttribute('data-points')).toBe('14');
      // The chart's tooltip, which ECharts would otherwise build with inline style attributes.
      const box = (await traffic.locator('canvas').first().boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.9, box.y + box.height * 0.6);
      await page.waitForTimeout(300);
      await shot(page, `overview-${width}`);
      const screens: [hash: string, heading: string, ready: string][] = [
        ['#/nodes', 'Nodes', 'text=web-1'],
        ['#/nodes/web-1', 'Node web-1', '[data-plugin="health-probe"]'],
        ['#/nodes/web-1/config', 'Config of web-1', '[data-version]'],
        ['#/users', 'Users', 'text=bob'],
        ['#/plans', 'Plans', 'text=Basic'],
        ['#/subscriptions', 'Subscriptions', 'text=Basic'],
        ['#/audit', 'Audit log', 'text=subscription.assign'],
        ['#/admins', 'Admin accounts', 'text=olga'],
      ];
      for (const [hash, heading, ready] of screens) {
        await page.goto(`${url}/${hash}`);
        await page.getByRole('heading', { name: heading }).waitFor();
        await page.locator(ready).first().waitFor();
        if (hash === '#/nodes/web-1') {
          await page.locator('bf-node-metrics bf-chart canvas').first().waitFor();
          await expect.poll(() => page.locator('bf-node-metrics bf-chart').getAttribute('data-points').then(Number)).toBeGreaterThan(0);
        }
        if (hash === '#/users') {
          await page.getByRole('link', { name: 'bob', exact: true }).click();
          await page.locator('[data-subscription]').waitFor();
        }
        const name = hash.slice(2).replaceAll('/', '-');
        await shot(page, `${name}-${width}`);
        // Nothing may make the page wider than the screen (tables scroll inside their box).
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      }
      await page.getByRole('button', { name: '中文' }).click();
      await page.getByRole('heading', { name: '管理员账号' }).waitFor();
      await shot(page, `admins-zh-${width}`);
      await nav(page, '审计日志');
      await page.getByRole('heading', { name: '审计日志' }).waitFor();
      await shot(page, `audit-zh-${width}`);
      await nav(page, '用户');
      await page.getByRole('link', { name: 'bob', exact: true }).click();
      await page.locator('[data-subscription]').waitFor();
      await shot(page, `users-zh-${width}`);
      await nav(page, '概览');
      await page.getByRole('heading', { name: '概览' }).waitFor();
      await shot(page, `overview-zh-${width}`);
      await page.getByRole('button', { name: 'English' }).click();

      expect(errors).toEqual([]);
      await page.context().close();
    });
  }

  it('refuses an injected inline script and style, and reports both as violations', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    await page.goto(url);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const ran = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.injected = true';
      document.head.append(script);
      const probe = document.createElement('div');
      probe.setAttribute('style', 'width: 123px');
      document.body.append(probe);
      return { script: 'injected' in window, style: probe.getBoundingClientRect().width === 123 };
    });
    expect(ran).toEqual({ script: false, style: false });
    await expect.poll(() => errors.filter((e) => e.startsWith('csp: ')).map((e) => e.split(' ')[1]).sort()).toEqual(['script-src-elem', 'style-src-attr']);
    await page.context().close();
  });

  it('hides from an operator what the role may not do, and signs out', async () => {
    const errors: string[] = [];
    const page = await openPage(browser, 1280, errors);
    page.setDefaultTimeout(10_000);
    await page.goto(url);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('wrong username or password');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.getByText('alice · operator').isVisible()).toBe(true);
    expect(await page.getByRole('navigation').getByRole('link', { name: 'Audit log' }).count()).toBe(0);
    expect(await page.getByRole('navigation').getByRole('link', { name: 'Admins' }).count()).toBe(0);
    // The audit screen is refused by the API to an operator; its address leads to the overview.
    await page.goto(`${url}/#/audit`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await nav(page, 'Nodes');
    // (The overview's alerts link to web-1 too: wait for the node list itself.)
    await page.getByRole('heading', { name: 'Nodes' }).waitFor();
    await page.getByRole('link', { name: 'web-1' }).waitFor();
    // An operator may not enroll nodes or create plans: the forms are not offered.
    expect(await page.getByRole('button', { name: 'Add node' }).count()).toBe(0);
    await nav(page, 'Plans');
    await page.getByRole('heading', { name: 'Plans' }).waitFor();
    expect(await page.getByRole('button', { name: 'Create plan' }).count()).toBe(0);
    // An operator reads the node's config and its versions but may not change them.
    await page.goto(`${url}/#/nodes/web-1/config`);
    await page.locator('[data-version]').first().waitFor();
    expect(await page.getByLabel('Base config (JSON)').getAttribute('readonly')).not.toBeNull();
    for (const name of ['Save and apply', 'Roll back', 'Apply']) expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    await nav(page, 'Plans');
    await page.getByRole('heading', { name: 'Plans' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();

    // A session the hub no longer accepts leads back to sign-in.
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signing in again returns to the screen the address names.
    await page.getByRole('heading', { name: 'Plans' }).waitFor();
    await page.evaluate(() => localStorage.setItem('boxfleet.token', 'no-longer-valid'));
    await nav(page, 'Users');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();

    // The wrong password and the stale session answer 401 by design; nothing else may log an error.
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
    await page.context().close();
  });
});
