// The portal shows the subscription URL at the hub's public address (which the hub names in
// profile-web-page-url), even when the page was opened at another address.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clashImportUrl, loadPortal, subscriptionUrl } from '../../../web-components/src/portal/data.js';

const TOKEN = 'A'.repeat(43);

/** The hub's answer to GET /sub/<token>?format=links, with these headers. */
function hubAnswers(headers: Record<string, string>) {
  vi.stubGlobal('fetch', async () => new Response('vless://id@hk.example:443#HK%201\n', { headers: { 'profile-title': 'boxfleet · alice', ...headers } }));
}

describe('portal subscription URL', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("is at the hub's public address, not the address the page was opened at", async () => {
    vi.stubGlobal('location', { origin: 'http://10.0.0.5:8080' });
    hubAnswers({ 'profile-web-page-url': `https://panel.example.com/portal/${TOKEN}` });
    const portal = await loadPortal(TOKEN);
    expect(portal.url).toBe(`https://panel.example.com/sub/${TOKEN}`);
    expect(subscriptionUrl(portal.url, 'singbox')).toBe(`https://panel.example.com/sub/${TOKEN}?format=singbox`);
    expect(clashImportUrl(portal.url)).toBe(`clash://install-config?url=${encodeURIComponent(`https://panel.example.com/sub/${TOKEN}?format=clash`)}`);
  });

  it('is at the address the page was opened at when the hub names none', async () => {
    vi.stubGlobal('location', { origin: 'http://10.0.0.5:8080' });
    hubAnswers({});
    expect((await loadPortal(TOKEN)).url).toBe(`http://10.0.0.5:8080/sub/${TOKEN}`);
  });
});
