// GET /sub/<token>/info: the profile as JSON, for the portal and for clients that would otherwise
// read it out of the subscription headers. Pure.
import { Type, type Static } from '@sinclair/typebox';
import { IsoTime, Nullable, StringEnum } from '../routes/schemas.js';
import { FORMATS, UPDATE_INTERVAL_HOURS } from './format.js';
import { shareLink } from './share-link.js';
import { STATUSES, STATUS_TEXT, type Profile } from './profile.js';

const Url = Type.String({ format: 'uri' });

export const SubscriptionInfo = Type.Object({
  user: Type.Object({ name: Type.String() }),
  status: StringEnum(STATUSES),
  status_text: Type.String(),
  usage: Type.Object({
    upload_bytes: Type.Integer({ minimum: 0 }),
    download_bytes: Type.Integer({ minimum: 0 }),
    total_bytes: Nullable(Type.Integer({ minimum: 0 })),
    expires_at: Nullable(IsoTime),
  }),
  plan: Nullable(Type.Object({ name: Type.String() })),
  links: Type.Object({
    subscription: Url,
    portal: Url,
    formats: Type.Object(Object.fromEntries(FORMATS.map((f) => [f, Url])) as Record<(typeof FORMATS)[number], typeof Url>),
  }),
  entries: Type.Array(Type.Object({ name: Type.String(), link: Type.String() })),
  update_interval_hours: Type.Integer(),
});
export type SubscriptionInfo = Static<typeof SubscriptionInfo>;

export function subscriptionInfo(profile: Profile, publicUrl: string): SubscriptionInfo {
  const { user, plan, usage, status } = profile;
  const subscription = `${publicUrl}/sub/${user.sub_token}`;
  return {
    user: { name: user.name },
    status,
    status_text: STATUS_TEXT[status],
    // As subscription-userinfo: the quota counts billed bytes, which no upload/download split adds up to.
    usage: {
      upload_bytes: 0,
      download_bytes: Math.max(0, Math.round(usage.used)),
      total_bytes: usage.total > 0 ? Math.round(usage.total) : null,
      expires_at: usage.expire > 0 ? new Date(usage.expire * 1000).toISOString() : null,
    },
    plan: plan ? { name: plan.name } : null,
    links: {
      subscription,
      portal: `${publicUrl}/portal/${user.sub_token}`,
      formats: Object.fromEntries(FORMATS.map((f) => [f, `${subscription}?format=${f}`])) as SubscriptionInfo['links']['formats'],
    },
    // The stand-in entry is for clients that can only show a node list; here the status says it.
    entries: profile.entries.filter((e) => !e.placeholder).map((e) => ({ name: e.name, link: shareLink(e) })),
    update_interval_hours: UPDATE_INTERVAL_HOURS,
  };
}
