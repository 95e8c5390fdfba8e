// What a subscription format is: everything the /sub/<token> route needs to serve one. Each format
// is one file in formats/, listed once in format.ts.
import type { Entry } from './entries.js';
import type { ProfileTemplate } from './templates.js';

/**
 * The clients' own failover: how the profile's urltest (sing-box) / url-test (Clash.Meta) group
 * tests every node (the sub_urltest_* hub settings).
 */
export interface UrlTest {
  url: string;
  intervalS: number;
  toleranceMs: number;
}

/** What a body depends on besides the entries. */
export interface RenderOptions {
  /** Hub settings, fixed for the process. */
  urltest: UrlTest;
  /** The operator's profile template of this format (templates.ts); absent: the format's default. */
  template?: ProfileTemplate;
}

export interface SubscriptionFormat<Name extends string = string> {
  /** The `?format=` value, and its key in /sub/<token>/info's `links.formats`. */
  name: Name;
  contentType: string;
  /** Of the content-disposition file name, which clients take as the profile's name. */
  extension: string;
  /** The clients that get this format without asking for it; absent: only by `?format=`. */
  userAgent?: RegExp;
  /** The response body. Pure. */
  render(entries: readonly Entry[], options: RenderOptions): string;
}
