// Everything the portal asks the hub, as plain functions; components never call fetch. The portal
// reads GET /sub/<token>/info: the user's status as a code, usage, plan, links and servers, as JSON
// (hub/subscriptions/info.ts; the README's Subscriptions section describes it).

/** The formats a subscription URL serves, each at its own URL. */
export type Format = 'singbox' | 'clash' | 'base64' | 'links';

/** What GET /sub/<token>/info answers. */
export interface SubscriptionInfo {
  user: { name: string };
  /** active, no_node, disabled, no_plan, suspended_quota, suspended, expired; the hub may add codes. */
  status: string;
  /** The status in English, for a code this page does not know. */
  status_text: string;
  usage: { upload_bytes: number; download_bytes: number; total_bytes: number | null; expires_at: string | null };
  plan: { name: string } | null;
  links: { subscription: string; portal: string; formats: Record<Format, string> };
  entries: { name: string; link: string }[];
  update_interval_hours: number;
}

/** How the status badge looks. */
export type Badge = 'active' | 'suspended' | 'expired' | 'inactive';

const BADGES: Record<string, Badge> = {
  active: 'active',
  // The plan is active; only the servers are down for now.
  no_node: 'active',
  suspended_quota: 'suspended',
  suspended: 'suspended',
  expired: 'expired',
  disabled: 'inactive',
  no_plan: 'inactive',
};

export interface Portal {
  token: string;
  /** The profile's name, as clients get it in profile-title. */
  name: string;
  /** The hub's status code. */
  status: string;
  statusText: string;
  badge: Badge;
  /** The subscription URL and one per format, at the hub's public address. */
  url: string;
  formats: Record<Format, string>;
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

/** The token in /portal/<token>, or null. */
export function tokenFromPath(pathname: string = location.pathname): string | null {
  const match = /^\/portal\/([A-Za-z0-9_-]{1,200})\/?$/.exec(pathname);
  return match ? match[1]! : null;
}

export const qrImageUrl = (token: string, link?: number): string => `/sub/${token}/qr.svg${link === undefined ? '' : `?link=${link}`}`;

/** One-tap import links (sing-box and Clash Meta clients register these URL schemes), from the format's URL. */
export const singboxImportUrl = (url: string, name: string): string => `sing-box://import-remote-profile?url=${encodeURIComponent(url)}#${encodeURIComponent(name)}`;
export const clashImportUrl = (url: string): string => `clash://install-config?url=${encodeURIComponent(url)}`;

export async function loadPortal(token: string): Promise<Portal> {
  const res = await fetch(`/sub/${encodeURIComponent(token)}/info`, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (res.status === 404) throw new InvalidLinkError('not valid');
  if (!res.ok) throw new Error(`the hub answered ${res.status}`);
  const info = (await res.json()) as SubscriptionInfo;
  const { usage } = info;
  return {
    token,
    name: `boxfleet · ${info.user.name}`,
    status: info.status,
    statusText: info.status_text,
    // A code added after this page was built: not served, and said in English.
    badge: BADGES[info.status] ?? 'inactive',
    url: info.links.subscription,
    formats: info.links.formats,
    used: usage.upload_bytes + usage.download_bytes,
    total: usage.total_bytes ?? 0,
    expire: usage.expires_at ? Math.floor(Date.parse(usage.expires_at) / 1000) : 0,
    links: info.entries.map((e) => ({ name: e.name, url: e.link })),
  };
}

/** What GET /sub/<token>/usage answers: days (YYYY-MM-DD, in the hub's reset time zone) and servers by name. */
export interface PortalUsage {
  from: string;
  to: string;
  time_zone: string;
  days: { day: string; upload_bytes: number; download_bytes: number; billed_bytes: number }[];
  nodes: { name: string; upload_bytes: number; download_bytes: number; billed_bytes: number }[];
  totals: { upload_bytes: number; download_bytes: number; billed_bytes: number };
}

/** The user's traffic per day over the last 30 days and per server, as the quota counts it (billed bytes). */
export async function loadUsage(token: string): Promise<PortalUsage> {
  const res = await fetch(`/sub/${encodeURIComponent(token)}/usage`, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (res.status === 404) throw new InvalidLinkError('not valid');
  if (!res.ok) throw new Error(`the hub answered ${res.status}`);
  return (await res.json()) as PortalUsage;
}
