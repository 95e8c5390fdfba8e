// The format registry: what the /sub/<token> route reads for every format, so a format added there
// is served, detected and listed in /sub/<token>/info without touching the route.
import { describe, expect, it } from 'vitest';
import { placeholderEntry } from '../../../hub/subscriptions/entries.js';
import { chooseFormat, FORMATS, SUBSCRIPTION_FORMATS } from '../../../hub/subscriptions/format.js';
import { RENDER_OPTIONS } from './subscription.helpers.js';

describe('the subscription format registry', () => {
  it('names every format once and gives each a content type, a file extension and a body', () => {
    expect(new Set(FORMATS).size).toBe(FORMATS.length);
    for (const name of FORMATS) {
      const format = SUBSCRIPTION_FORMATS[name];
      expect(format.name).toBe(name);
      expect(format.contentType, name).toMatch(/^[a-z]+\/[a-z0-9.+-]+; charset=utf-8$/);
      expect(format.extension, name).toMatch(/^[a-z0-9]+$/);
      expect(format.render([placeholderEntry('⛔ test')], RENDER_OPTIONS), name).not.toBe('');
    }
  });

  it('serves every format that asks by ?format, whatever the User-Agent', () => {
    for (const name of FORMATS) expect(chooseFormat(name, 'clash.meta/1.19')).toBe(name);
  });

  it('lets no two formats claim the same client', () => {
    const clients = ['clash.meta/1.19', 'clash-verge/v2.0', 'FlClash/0.8', 'mihomo/1.19', 'SFA/1.11', 'SFI/1.11', 'Karing/1.0', 'HiddifyNext/2.0'];
    for (const ua of clients) {
      const claiming = FORMATS.filter((name) => SUBSCRIPTION_FORMATS[name].userAgent?.test(ua));
      expect(claiming, ua).toHaveLength(1);
    }
  });
});
