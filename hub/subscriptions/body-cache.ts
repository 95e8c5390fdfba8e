// Rendered /sub bodies, so a client that asks again gets the same bytes without a rebuild. A body is
// kept per user and format with the stamp of everything it was rendered from: the served nodes'
// revision (lookup.ts), the user's credentials, the plan's node tags, and the status. A request
// whose stamp differs renders again, so no change is ever served late; an old body just ages out.
// Bounded by bytes: with more users than room, the most recently asked bodies stay.
import { LRUCache } from 'lru-cache';
import { SUBSCRIPTION_FORMATS, type Format } from './format.js';
import type { Holder, Lookup, ServedNodes } from './lookup.js';
import type { BuiltProfile, Refusal, Status } from './profile.js';
import type { RenderOptions } from './subscription-format.js';

export interface RenderedBody {
  stamp: string;
  body: Buffer;
  /** The status it was rendered for. */
  status: Status;
}

/**
 * What the body of a holder depends on. A refused holder's body is only the stand-in naming the
 * refusal; a served one's is built from the served nodes, the credentials and the plan's tags.
 */
export function bodyStamp({ user, plan }: Holder, refusal: Refusal | undefined, served: ServedNodes): string {
  if (refusal) return refusal;
  return ['served', served.revision, user.uuid, user.password, user.ss_key, JSON.stringify(plan?.node_tags ?? [])].join('\n');
}

export interface BodyRendererOptions {
  /** The profile builder (profile.ts). */
  build(lookup: Lookup, refusal: Refusal | undefined): Promise<BuiltProfile>;
  /** Why a holder is refused now (profile.ts refusalOf with the hub's clock). */
  refusal(holder: Holder): Refusal | undefined;
  /** Room for bodies, in bytes. */
  maxBytes: number;
  /** Fixed for the process, so not part of the stamp. */
  render: RenderOptions;
}

/** Returns the renderer: a looked-up holder's body in a format, from the cache while its stamp holds. */
export function bodyRenderer({ build, refusal: refusalOf, maxBytes, render }: BodyRendererOptions): (found: Lookup, format: Format) => Promise<RenderedBody> {
  const cache = new LRUCache<string, RenderedBody>({ maxSize: maxBytes, sizeCalculation: (e) => e.body.length + e.stamp.length + 64 });
  return async (found, format) => {
    const { holder, served } = found;
    const refusal = refusalOf(holder);
    const stamp = bodyStamp(holder, refusal, served);
    const key = `${holder.user.id}:${format}`;
    const cached = cache.get(key);
    if (cached?.stamp === stamp) return cached;
    const { profile, complete } = await build(found, refusal);
    const rendered = { stamp, body: Buffer.from(SUBSCRIPTION_FORMATS[format].render(profile.entries, render), 'utf8'), status: profile.status };
    // A body missing a node whose config could not be read is served, not kept; so is one bigger than the room.
    if (complete && rendered.body.length < maxBytes) cache.set(key, rendered);
    return rendered;
  };
}
