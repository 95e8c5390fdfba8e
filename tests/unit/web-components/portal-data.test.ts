// The portal reads GET /sub/<token>/info: the subscription URLs at the hub's public address (even
// when the page was opened at another), usage and expiry, and the status by its code.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clashImportUrl, loadPortal, singboxImportUrl, type SubscriptionInfo } from '../../../web-components/src/portal/data.js';
import { reasonText } from '../../../web-components/src/portal/messages.js';

const TOKEN = 'A'.repeat(43);
const SUB = `https://panel.example.com/sub/${TOKEN}`;

/** The hub's answer to GET /sub/<token>/info, with these fields changed. */
function hubAnswers(changes: Partial<SubscriptionInfo>) {
  const info: SubscriptionInfo = {
    user: { name: 'alice' },
    status: 'active',
    status_text: 'active',
    usage: { upload_bytes: 0, download_bytes: 1024, total_bytes: 4096, expires_at: '2027-01-05T10:00:00.000Z' },
    plan: { name: 'basic' },
    links: {
      subscription: SUB,
      portal: `https://panel.example.com/portal/${TOKEN}`,
      formats: { singbox: `${SUB}?format=singbox`, clash: `${SUB}?format=clash`, base64: `${SUB}?format=base64`, links: `${SUB}?format=links` },
    },
    entries: [{ name: 'HK 1', link: 'vless://id@hk.example:443#HK%201' }],
    update_interval_hours: 12,
    ...changes,
  };
  const fetch = vi.fn(async () => Response.json(info));
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

describe('portal data', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("reads /sub/<token>/info and links to the hub's public address, not the address the page was opened at", async () => {
    vi.stubGlobal('location', { origin: 'http://10.0.0.5:8080' });
    const fetch = hubAnswers({});
    const portal = await loadPortal(TOKEN);
    expect(fetch).toHaveBeenCalledWith(`/sub/${TOKEN}/info`, expect.anything());
    expect(portal).toMatchObject({ name: 'boxfleet · alice', status: 'active', badge: 'active', url: SUB, used: 1024, total: 4096, expire: 1_799_143_200 });
    expect(portal.links).toEqual([{ name: 'HK 1', url: 'vless://id@hk.example:443#HK%201' }]);
    expect(singboxImportUrl(portal.formats.singbox, portal.name)).toBe(
      `sing-box://import-remote-profile?url=${encodeURIComponent(`${SUB}?format=singbox`)}#${encodeURIComponent('boxfleet · alice')}`,
    );
    expect(clashImportUrl(portal.formats.clash)).toBe(`clash://install-config?url=${encodeURIComponent(`${SUB}?format=clash`)}`);
  });

  it('reads no quota and no end as 0', async () => {
    hubAnswers({ usage: { upload_bytes: 0, download_bytes: 0, total_bytes: null, expires_at: null } });
    expect(await loadPortal(TOKEN)).toMatchObject({ total: 0, expire: 0 });
  });

  it('shows the status by its code in both languages, and a code it does not know in the English the hub gives', async () => {
    hubAnswers({ status: 'suspended_quota', status_text: 'traffic quota used up', entries: [] });
    const portal = await loadPortal(TOKEN);
    expect(portal.badge).toBe('suspended');
    expect(reasonText('en', portal.status, portal.statusText)).toBe('Your traffic quota is used up.');
    expect(reasonText('zh-CN', portal.status, portal.statusText)).toBe('流量已用完。');
    hubAnswers({ status: 'on_hold', status_text: 'on hold until payment', entries: [] });
    const unknown = await loadPortal(TOKEN);
    expect(unknown.badge).toBe('inactive');
    expect(reasonText('zh-CN', unknown.status, unknown.statusText)).toBe('on hold until payment');
  });
});
