// The link list most clients import (singbox.md §8d: padded standard base64 of the newline-joined
// share links). Pure.
import type { Entry } from '../entries.js';
import type { SubscriptionFormat } from '../subscription-format.js';
import { renderLinks } from './links.js';

export const renderBase64 = (entries: readonly Entry[]): string => Buffer.from(renderLinks(entries), 'utf8').toString('base64');

export const base64: SubscriptionFormat<'base64'> = {
  name: 'base64',
  contentType: 'text/plain; charset=utf-8',
  extension: 'txt',
  render: renderBase64,
};
