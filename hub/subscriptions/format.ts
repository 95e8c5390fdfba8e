// Which format a client wants, and the response headers clients read (singbox.md §8e, §8f). Pure.
export const FORMATS = ['singbox', 'clash', 'base64', 'links'] as const;
export type Format = (typeof FORMATS)[number];

// Marzban's order: the Meta pattern before anything that could also match "clash".
const CLASH_META = /^(clash-verge|clash[-.]?meta|flclash|mihomo)/i;
const SINGBOX = /^(SFA|SFI|SFM|SFT|Karing|HiddifyNext)/;

/** ?format wins; else the User-Agent; else the base64 link list, which nearly every client reads. */
export function chooseFormat(requested: string | undefined, userAgent: string | undefined): Format {
  if (requested && (FORMATS as readonly string[]).includes(requested)) return requested as Format;
  const ua = userAgent ?? '';
  if (CLASH_META.test(ua)) return 'clash';
  if (SINGBOX.test(ua)) return 'singbox';
  return 'base64';
}

export const CONTENT_TYPES: Record<Format, string> = {
  singbox: 'application/json; charset=utf-8',
  clash: 'text/yaml; charset=utf-8',
  base64: 'text/plain; charset=utf-8',
  links: 'text/plain; charset=utf-8',
};

const EXTENSIONS: Record<Format, string> = { singbox: 'json', clash: 'yaml', base64: 'txt', links: 'txt' };

/** RFC 6266: an ASCII fallback name plus the UTF-8 one (clients take it as the profile name). */
export function contentDisposition(baseName: string, format: Format): string {
  const file = `${baseName}.${EXTENSIONS[format]}`;
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
