// Plain share links, one per line. Pure.
import type { Entry } from '../entries.js';
import { shareLink } from '../share-link.js';
import type { SubscriptionFormat } from '../subscription-format.js';

export const renderLinks = (entries: readonly Entry[]): string => entries.map(shareLink).join('\n');

export const links: SubscriptionFormat<'links'> = {
  name: 'links',
  contentType: 'text/plain; charset=utf-8',
  extension: 'txt',
  render: renderLinks,
};
