// How numbers and times read on screen.
import { currentLocale } from '../i18n.js';

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export const formatTime = (iso: string) => new Date(iso).toLocaleString(currentLocale());
export const formatDate = (iso: string) => new Date(iso).toLocaleDateString(currentLocale());

/** A duration in ms as `850 ms`, `12.3 s` or `4 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** `iso` from `now` in words of the current language: "in 3 days", "2 days ago", "5 hours ago". */
export function formatRelative(iso: string, now = Date.now()): string {
  const diff = Date.parse(iso) - now;
  const words = new Intl.RelativeTimeFormat(currentLocale(), { numeric: 'always' });
  if (Math.abs(diff) < HOUR_MS) return words.format(Math.round(diff / 60_000), 'minute');
  if (Math.abs(diff) < 2 * DAY_MS) return words.format(Math.round(diff / HOUR_MS), 'hour');
  return words.format(Math.round(diff / DAY_MS), 'day');
}
