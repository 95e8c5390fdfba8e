// Everything the portal asks the hub, as plain functions; components never call fetch. The portal
// reads what a proxy client reads: GET /sub/<token>?format=links, its body (one share link per
// line) and its headers (subscription-userinfo for usage and expiry, profile-title for the reason).

export type Status = 'active' | 'suspended' | 'expired' | 'inactive';

export interface Portal {
  token: string;
  /** The subscription URL, at the hub's public address. */
  url: string;
  /** The profile's name: the hub's profile-title without the reason. */
  name: string;
  status: Status;
  /** Why no server is given (hub/routes/sub.ts wording); null when the user is served. */
  reason: string | null;
  /** Billed bytes used. */
  used: number;
  /** Quota in bytes; 0 = no limit. */
  total: number;
  /** Unix seconds; 0 = never. */
  expire: number;
  links: { name: string; url: string }[];
}

/** The token was never valid, or no longer is: the hub answers such a token like an unknown path. */
export class InvalidLinkError extends Error {}

/** The reasons hub/routes/sub.ts puts into profile-title, with the status each means. */
const REASONS: Record<string, Status> = {
  'account disabled': 'inactive',
  'no active plan': 'inactive',
  'traffic quota used up': 'suspended',
  'subscription suspended': 'suspended',
  'subscription expired': 'expired',
  'no node available': 'active',
};

/** The token in /portal/<token>, or null. */
export function tokenFromPath(pathname: string = location.pathname): string | null {
  const match = /^\/portal\/([A-Za-z0-9_-]{1,200})\/?$/.exec(pathname);
  return match ? match[1]! : null;
}

/** The subscription URL (`Portal.url`) pinned to the format one client reads. */
export function subscriptionUrl(url: string, format: 'singbox' | 'clash' | 'base64'): string {
  return `${url}?format=${format}`;
}

export const qrImageUrl = (token: string, link?: number): string => `/sub/${token}/qr.svg${link === undefined ? '' : `?link=${link}`}`;

/** One-tap import links (sing-box and Clash Meta clients register these URL schemes). */
export const singboxImportUrl = (url: string, name: string): string =>
  `sing-box://import-remote-profile?url=${encodeURIComponent(subscriptionUrl(url, 'singbox'))}#${encodeURIComponent(name)}`;
export const clashImportUrl = (url: string): string => `clash://install-config?url=${encodeURIComponent(subscriptionUrl(url, 'clash'))}`;

function parseUserinfo(header: string | null): { used: number; total: number; expire: number } {
  const fields: Record<string, number> = {};
  for (const part of (header ?? '').split(';')) {
    const [key, value] = part.split('=').map((s) => s.trim());
    if (key && value && /^\d+$/.test(value)) fields[key] = Number(value);
  }
  return { used: (fields.upload ?? 0) + (fields.download ?? 0), total: fields.total ?? 0, expire: fields.expire ?? 0 };
}

/** profile-title is `base64:<utf-8 text>` or plain text. */
function decodeTitle(header: string | null): string {
  if (!header) return '';
  if (!header.startsWith('base64:')) return header;
  try {
    const bytes = Uint8Array.from(atob(header.slice(7)), (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes);
  } catch {
    return '';
  }
}

function linkName(url: string, index: number): string {
  const hash = url.indexOf('#');
  if (hash < 0) return `#${index + 1}`;
  try {
    return decodeURIComponent(url.slice(hash + 1));
  } catch {
    return url.slice(hash + 1);
  }
}

export async function loadPortal(token: string): Promise<Portal> {
  const res = await fetch(`/sub/${encodeURIComponent(token)}?format=links`, { headers: { accept: 'text/plain' }, cache: 'no-store' });
  if (res.status === 404) throw new InvalidLinkError('not valid');
  if (!res.ok) throw new Error(`the hub answered ${res.status}`);
  const body = await res.text();
  const title = decodeTitle(res.headers.get('profile-title'));
  const usage = parseUserinfo(res.headers.get('subscription-userinfo'));
  const match = /^(.*) \(([^()]+)\)$/.exec(title);
  const reason = match && match[2]! in REASONS ? match[2]! : null;
  const name = (reason ? match![1]! : title) || 'boxfleet';
  let status: Status = reason ? REASONS[reason]! : 'active';
  if (status === 'active' && usage.expire > 0 && usage.expire * 1000 <= Date.now()) status = 'expired';
  // With a reason the body holds one stand-in entry that reaches nothing: not a server to show.
  const lines = reason ? [] : body.split('\n').map((l) => l.trim()).filter(Boolean);
  const links = lines.map((url, i) => ({ name: linkName(url, i), url }));
  // The hub names this page at its public address; this page may have been opened at another one.
  const page = res.headers.get('profile-web-page-url');
  const url = `${page ? new URL(page).origin : location.origin}/sub/${token}`;
  return { token, url, name, status, reason, ...usage, links };
}
