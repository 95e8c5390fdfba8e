// What a user event looks like outside the hub: the JSON body the webhook receives (and each item
// of GET /api/v1/user-events), and the line Telegram gets. Built from the recorded row: the
// subscription's traffic and end time as the event saw them, the user's and plan's names as
// they are now. README's "User events" section shows every kind.
import { Type, type Static } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { iso } from '../db/models.js';
import { IsoTime, StringEnum } from '../routes/schemas.js';
import { USER_EVENT_KINDS, type UserEventKind } from './record.js';

const DAY_MS = 86_400_000;

export const UserEventBody = Type.Object({
  event: StringEnum(USER_EVENT_KINDS),
  id: Type.Integer({ description: 'Unique per event: a receiver that sees an id twice (a retried delivery it already took) ignores it.' }),
  created_at: IsoTime,
  user: Type.Object({ id: Type.Integer(), name: Type.String(), note: Type.String({ description: "The user's note, where a shop may keep its own customer id or a Telegram chat." }) }),
  subscription: Type.Object({
    id: Type.Integer(),
    plan_id: Type.Integer(),
    plan_name: Type.String(),
    end_time: IsoTime,
    traffic_used_bytes: Type.Integer(),
    traffic_total_bytes: Type.Integer(),
  }),
  threshold_percent: Type.Optional(Type.Integer({ description: 'usage.threshold only: the threshold crossed.' })),
  days_left: Type.Optional(Type.Integer({ description: 'subscription.expiring only: whole days until end_time, rounded up.' })),
  reason: Type.Optional(StringEnum(['quota'] as const, { description: 'subscription.suspended only.' })),
  text: Type.String({ description: 'One line for people, e.g. for a bot to forward.' }),
});
export type UserEventBody = Static<typeof UserEventBody>;

/** A user_events row joined with its user, subscription and plan (the select in `eventRows`). */
export interface EventRow {
  id: number | string;
  kind: UserEventKind;
  user_id: number | string;
  subscription_id: number | string;
  threshold_percent: number | string;
  end_time: number | string;
  traffic_used_bytes: number | string;
  traffic_total_bytes: number | string;
  created_at: number | string;
  user_name: string;
  user_note: string;
  plan_id: number | string;
  plan_name: string;
}

/** user_events `e` with the columns a body needs; the caller filters and orders. */
export const eventRows = (db: Knex) =>
  db
    .from('user_events as e')
    .join('users as u', 'u.id', 'e.user_id')
    .join('subscriptions as s', 's.id', 'e.subscription_id')
    .join('plans as p', 'p.id', 's.plan_id')
    .select(
      'e.id', 'e.kind', 'e.user_id', 'e.subscription_id', 'e.threshold_percent', 'e.end_time', 'e.traffic_used_bytes', 'e.traffic_total_bytes',
      'e.created_at', 'u.name as user_name', 'u.note as user_note', 's.plan_id', 'p.name as plan_name',
    );

const gib = (bytes: number) => `${Math.round((bytes / 2 ** 30) * 10) / 10} GiB`;
const day = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** The kind's own fields and its line for people. */
function described(row: EventRow, used: number, total: number, end: number): Pick<UserEventBody, 'threshold_percent' | 'days_left' | 'reason' | 'text'> {
  const name = row.user_name;
  switch (row.kind) {
    case 'usage.threshold': {
      const percent = Number(row.threshold_percent);
      return { threshold_percent: percent, text: `${name} has used ${percent}% of their traffic: ${gib(used)} of ${gib(total)}` };
    }
    case 'subscription.expiring': {
      const days = Math.max(0, Math.ceil((end - Number(row.created_at)) / DAY_MS));
      return { days_left: days, text: `${name}'s subscription ends in ${days} day${days === 1 ? '' : 's'}, on ${day(end)}` };
    }
    case 'subscription.suspended':
      return { reason: 'quota', text: `${name} ran out of traffic (${gib(used)} of ${gib(total)}): suspended until the traffic is reset` };
    case 'subscription.expired':
      return { text: `${name}'s subscription expired on ${day(end)}` };
    case 'subscription.renewed':
      return { text: `${name}'s subscription was renewed until ${day(end)}` };
  }
}

export function eventBody(row: EventRow): UserEventBody {
  const used = Number(row.traffic_used_bytes);
  const total = Number(row.traffic_total_bytes);
  const end = Number(row.end_time);
  return {
    event: row.kind,
    id: Number(row.id),
    created_at: iso(row.created_at),
    user: { id: Number(row.user_id), name: row.user_name, note: row.user_note },
    subscription: {
      id: Number(row.subscription_id),
      plan_id: Number(row.plan_id),
      plan_name: row.plan_name,
      end_time: iso(end),
      traffic_used_bytes: used,
      traffic_total_bytes: total,
    },
    ...described(row, used, total, end),
  };
}
