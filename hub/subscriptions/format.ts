// The subscription formats, which one a client wants, and the response headers clients read
// (singbox.md §8e, §8f). Pure.
import { base64 } from './formats/base64.js';
import { clash } from './formats/clash.js';
import { links } from './formats/links.js';
import { singbox } from './formats/singbox.js';
import type { HubConfig } from '../config.js';
import type { RenderOptions, SubscriptionFormat } from './subscription-format.js';

/**
 * Every format, registered here and nowhere else; /sub/<token>/info lists them in this order, and
 * the User-Agent patterns are tried in it (a pattern that could also match a later format's
 * clients goes first, as Marzban puts Clash.Meta before plain Clash).
 */
const REGISTERED = [singbox, clash, base64, links] as const;

export type Format = (typeof REGISTERED)[number]['name'];
export const FORMATS: readonly Format[] = REGISTERED.map((f) => f.name);
export const SUBSCRIPTION_FORMATS = Object.fromEntries(REGISTERED.map((f) => [f.name, f])) as Record<Format, SubscriptionFormat<Format>>;

/** The render options the hub settings give. */
export const renderOptionsOf = (config: Pick<HubConfig, 'sub_urltest_url' | 'sub_urltest_interval_s' | 'sub_urltest_tolerance_ms'>): RenderOptions => ({
  urltest: { url: config.sub_urltest_url, intervalS: config.sub_urltest_interval_s, toleranceMs: config.sub_urltest_tolerance_ms },
});

/** For a client that neither asks nor is recognised: the base64 link list, which nearly every client reads. */
const FALLBACK: Format = 'base64';

/** ?format wins; else the User-Agent; else the fallback. */
export function chooseFormat(requested: string | undefined, userAgent: string | undefined): Format {
  if (requested && (FORMATS as readonly string[]).includes(requested)) return requested as Format;
  const ua = userAgent ?? '';
  return REGISTERED.find((f) => f.userAgent?.test(ua))?.name ?? FALLBACK;
}

/** RFC 6266: an ASCII fallback name plus the UTF-8 one (clients take it as the profile name). */
export function contentDisposition(baseName: string, format: Format): string {
  const file = `${baseName}.${SUBSCRIPTION_FORMATS[format].extension}`;
  const ascii = file.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const utf8 = encodeURIComponent(file).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

export interface Usage {
  /** Bytes counted against the quota (billed, i.e. with node multipliers). */
  used: number;
  /** The quota in bytes; 0 when there is none. */
  total: number;
  /** Unix seconds; 0 when there is none. */
  expire: number;
}

/**
 * Like Marzban: upload=0 and download=<billed bytes>. The quota counts billed bytes (raw bytes
 * times each node's multiplier), which no split of raw upload and download would add up to, and
 * clients show upload + download against total.
 */
export const subscriptionUserinfo = ({ used, total, expire }: Usage): string =>
  `upload=0; download=${Math.max(0, Math.round(used))}; total=${Math.max(0, Math.round(total))}; expire=${Math.max(0, Math.floor(expire))}`;

export const profileTitle = (title: string): string => `base64:${Buffer.from(title, 'utf8').toString('base64')}`;

/** Hours between client refreshes. */
export const UPDATE_INTERVAL_HOURS = 12;
