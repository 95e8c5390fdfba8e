// REALITY keys and the Vision flow in the config editor, in a real browser against a real hub: an
// admin generates keys into a REALITY inbound (the private key and short id land in the config, the
// public key is shown), turns Vision on and saves; the hub keeps exactly that config. An operator
// opening it sees neither the private key nor the shortcuts.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../hub/admins.js';
import { realityPublicKey } from '../../hub/reality.js';
import { launchBrowser, openPage, signIn } from '../support/browser.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { seedUnreachableNode } from '../integration/jobs.suite.js';

const SHOTS = path.resolve('test-output/screenshots');
const PASSWORD = 'reality-test-password';
const INBOUND = {
  type: 'vless',
  tag: 'vless-reality',
  listen: '::',
  listen_port: 443,
  tls: { enabled: true, server_name: 'www.example.com', reality: { enabled: true, handshake: { server: 'www.example.com', server_port: 443 } } },
};

describe('REALITY keys in the config editor, in Chromium', { timeout: 90_000 }, () => {
  let hub: TestHub;
  let url: string;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    hub = await startTestHub('sqlite');
    await createAdmin('ada', PASSWORD, 'admin');
    await createAdmin('otto', PASSWORD, 'operator');
    url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    await seedUnreachableNode(hub.app.db, 'edge-1', ['edge']);
    const version = await ownerApi(hub, 'POST', '/api/v1/configs', { config: { inbounds: [INBOUND] }, comment: 'reality, no keys yet' });
    await hub.app.db('nodes').where({ id: 'edge-1' }).update({ applied_config_version: version.id });
    browser = await launchBrowser();
    page = await openPage(browser, 1280, errors);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  const editor = () => page.getByLabel('Base config (JSON)');
  const openEditor = async () => {
    await page.goto(`${url}/#/nodes/edge-1/config`);
    await expect.poll(() => editor().inputValue()).toContain('vless-reality');
  };

  it('lets an admin generate REALITY keys and turn Vision on, and saves exactly that config', async () => {
    await signIn(page, url, 'ada', PASSWORD);
    await openEditor();
    const tools = page.locator('[data-inbound="vless-reality"]');
    await tools.getByRole('button', { name: 'Generate REALITY keys' }).click();
    const shown = page.locator('[data-public-key] code');
    await shown.waitFor();
    const publicKey = (await shown.textContent())!;

    const config = JSON.parse(await editor().inputValue());
    const reality = config.inbounds[0].tls.reality;
    expect(reality).toEqual({ ...INBOUND.tls.reality, private_key: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), short_id: [expect.stringMatching(/^[0-9a-f]{16}$/)] });
    expect(realityPublicKey(reality.private_key)).toBe(publicKey);

    await tools.getByLabel('Vision flow (xtls-rprx-vision)').check();
    const edited = JSON.parse(await editor().inputValue());
    await page.screenshot({ path: path.join(SHOTS, 'config-reality-1280.png'), fullPage: true });
    expect(edited).toEqual({ inbounds: [{ ...INBOUND, flow: 'xtls-rprx-vision', tls: { ...INBOUND.tls, reality } }] });

    await page.getByRole('button', { name: 'Save version' }).click();
    const notice = page.locator('[data-notice]');
    await expect.poll(() => notice.textContent()).toMatch(/^Saved as version \d+\.$/);
    const id = Number(/version (\d+)/.exec((await notice.textContent())!)![1]);
    expect((await ownerApi(hub, 'GET', `/api/v1/configs/${id}`)).config).toEqual(edited);

    // The node runs it from here on: that is the version the editor opens.
    await hub.app.db('nodes').where({ id: 'edge-1' }).update({ applied_config_version: id });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(errors).toEqual([]);
  });

  it('shows an operator the config without its private key, and no shortcut', async () => {
    const saved = (await ownerApi(hub, 'GET', '/api/v1/configs?limit=1')).versions[0];
    const privateKey = (await ownerApi(hub, 'GET', `/api/v1/configs/${saved.id}`)).config.inbounds[0].tls.reality.private_key;
    await signIn(page, url, 'otto', PASSWORD);
    await openEditor();
    await expect.poll(() => editor().inputValue()).toContain('"flow": "xtls-rprx-vision"');
    const text = await editor().inputValue();
    expect(text).not.toContain(privateKey);
    expect(JSON.parse(text).inbounds[0].tls.reality.private_key).toBe('[redacted]');
    expect(await page.getByRole('button', { name: 'Generate REALITY keys' }).count()).toBe(0);
    expect(await page.getByLabel('Vision flow (xtls-rprx-vision)').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
