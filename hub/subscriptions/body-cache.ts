// Rendered /sub bodies, so a client that asks again gets the same bytes without a rebuild. A body is
// kept per user and format with the stamp of everything it was rendered from: the served nodes'
// revision (lookup.ts), the format's profile template version, the user's credentials, the plan's
// node tags, and the status. A request
// whose stamp differs renders again, so no change is ever served late; an old body just ages out.
// Bounded by bytes: with more users than room, the most recently asked bodies stay.
import { LRUCache } from 'lru-cache';
import { SUBSCRIPTION_FORMATS, type Format } from './format.js';
import type { Holder, Lookup, ServedNodes } from './lookup.js';
import type { BuiltProfile, Refusal, Status } from './profile.js';
import type { RenderOptions } from './subscription-format.js';
import { TEMPLATE_FORMATS, type ProfileTemplate, type TemplateFormat } from './templates.js';

export interface RenderedBody {
  stamp: string;
  body: Buffer;
  /** The status it was rendered for. */
  status: Status;
}

/**
 * What the body of a holder depends on. A refused holder's body is only the stand-in naming the
 * refusal in the format's template; a served one's is built from the served nodes, the
 * credentials, the plan's tags and the template.
 */
export function bodyStamp({ user, plan }: Holder, refusal: Refusal | undefined, served: ServedNodes, template: number | undefined): string {
  const shaped = `template ${template ?? 'default'}`;
  if (refusal) return `${refusal}\n${shaped}`;
  return ['served', served.revision, shaped, user.uuid, user.password, user.ss_key, JSON.stringify(plan?.node_tags ?? [])].join('\n');
}

const templated = (format: Format): format is TemplateFormat => (TEMPLATE_FORMATS as readonly string[]).includes(format);

export interface BodyRendererOptions {
  /** The profile builder (profile.ts), with the entry name pattern of the format's template. */
  build(lookup: Lookup, refusal: Refusal | undefined, namePattern?: string): Promise<BuiltProfile>;
  /** A profile template version, parsed (templates-store.ts); undefined for the default. */
  template(id: number | undefined): Promise<ProfileTemplate | undefined>;
  /** Why a holder is refused now (profile.ts refusalOf with the hub's clock). */
  refusal(holder: Holder): Refusal | undefined;
  /** Room for bodies, in bytes. */
  maxBytes: number;
  /** Fixed for the process, so not part of the stamp. */
  render: RenderOptions;
}

/** Returns the renderer: a looked-up holder's body in a format, from the cache while its stamp holds. */
export function bodyRenderer({ build, template: templateOf, refusal: refusalOf, maxBytes, render }: BodyRendererOptions): (found: Lookup, format: Format) => Promise<RenderedBody> {
  const cache = new LRUCache<string, RenderedBody>({ maxSize: maxBytes, sizeCalculation: (e) => e.body.length + e.stamp.length + 64 });
  return async (found, format) => {
    const { holder, served, templates } = found;
    const refusal = refusalOf(holder);
    const version = templated(format) ? templates.get(format) : undefined;
    const stamp = bodyStamp(holder, refusal, served, version);
    const key = `${holder.user.id}:${format}`;
    const cached = cache.get(key);
    if (cached?.stamp === stamp) return cached;
    const template = await templateOf(version);
    const { profile, complete } = await build(found, refusal, template?.namePattern);
    const body = SUBSCRIPTION_FORMATS[format].render(profile.entries, { ...render, template });
    const rendered = { stamp, body: Buffer.from(body, 'utf8'), status: profile.status };
    // A body missing a node whose config could not be read is served, not kept; so is one bigger than the room.
    if (complete && rendered.body.length < maxBytes) cache.set(key, rendered);
    return rendered;
  };
}
