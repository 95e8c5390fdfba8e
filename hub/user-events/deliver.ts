// The `user-events` job: sends the recorded user events (record.ts) to the operator's own bot or
// shop. User events have channels of their own, not the alerts': a shop's endpoint is seldom its
// on-call's, and an alert receiver should not start getting user traffic. A signed webhook
// (user_event_webhook_url, user_event_webhook_secret; X-Boxfleet-Event is the kind) and a Telegram
// chat (user_event_telegram_chat_id, through the alerts' bot). With neither set, events are still
// recorded (GET /api/v1/user-events lists them) but never sent, not even once a channel is set later.
//
// Each tick first queues the events recorded since the last one (a delivery row per configured
// channel, unique per event and channel), then tries every pending delivery once; a failure is
// tried again at the next tick, up to alert_max_attempts, as alert notifications are
// (hub/alerts/delivery.ts). Ticks run under the jobs' fleet-wide lease.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import type { HubConfig } from '../config.js';
import { telegramSender, webhookSender } from '../alerts/channels.js';
import { deliverRows, Undeliverable } from '../alerts/delivery.js';
import { chunks } from '../jobs/common.js';
import { eventBody, eventRows, type EventRow, type UserEventBody } from './body.js';

export const USER_EVENT_CHANNELS = ['webhook', 'telegram'] as const;
export type UserEventChannel = (typeof USER_EVENT_CHANNELS)[number];
export type UserEventSender = (event: UserEventBody) => Promise<void>;

/** Events queued per tick; the rest wait for the next. */
const BATCH = 500;

export function userEventChannels(config: HubConfig): Map<UserEventChannel, UserEventSender> {
  const channels = new Map<UserEventChannel, UserEventSender>();
  if (config.user_event_webhook_url) {
    const post = webhookSender(config.user_event_webhook_url, config.user_event_webhook_secret);
    channels.set('webhook', (event) => post(event.event, event));
  }
  if (config.telegram_bot_token && config.user_event_telegram_chat_id) {
    const send = telegramSender(config, config.user_event_telegram_chat_id);
    channels.set('telegram', (event) => send(`[boxfleet] ${event.text}`));
  }
  return channels;
}

export interface UserEventsDeps {
  db: Knex;
  config: HubConfig;
  now(): number;
  logger: AppLogger;
  /** From the settings unless a test says. */
  channels?: Map<UserEventChannel, UserEventSender>;
}

export interface UserEventsTickResult {
  /** Events given their deliveries in this tick. */
  queued: number;
  sent: number;
  /** Sends that failed in this tick (tried again at the next until alert_max_attempts). */
  failed: number;
}

interface DeliveryRow {
  id: number;
  event_id: number;
  channel: UserEventChannel;
  attempts: number;
}

export function userEventsJob(deps: UserEventsDeps): () => Promise<UserEventsTickResult> {
  const { db, config, logger } = deps;
  const channels = deps.channels ?? userEventChannels(config);

  const queue = async (): Promise<number> => {
    const ids = (await db('user_events').where('queued', false).orderBy('id').limit(BATCH).pluck('id')).map(Number);
    if (ids.length === 0) return 0;
    await db.transaction(async (trx) => {
      const rows = ids.flatMap((event_id) => [...channels.keys()].map((channel) => ({ event_id, channel, status: 'pending', attempts: 0, created_at: deps.now() })));
      for (const chunk of chunks(rows, 500)) await trx('user_event_deliveries').insert(chunk).onConflict(['event_id', 'channel']).ignore();
      await trx('user_events').whereIn('id', ids).update({ queued: true });
    });
    return ids.length;
  };

  const deliver = async () => {
    const pending: DeliveryRow[] = (await db('user_event_deliveries').where({ status: 'pending' }).orderBy('id').limit(200)).map((d) => ({
      id: Number(d.id),
      event_id: Number(d.event_id),
      channel: d.channel,
      attempts: Number(d.attempts),
    }));
    if (pending.length === 0) return { sent: 0, failed: 0 };
    const rows: EventRow[] = await eventRows(db).whereIn('e.id', [...new Set(pending.map((d) => d.event_id))]);
    const bodies = new Map(rows.map((row) => [Number(row.id), eventBody(row)]));
    return deliverRows(pending, {
      db,
      table: 'user_event_deliveries',
      maxAttempts: config.alert_max_attempts,
      now: deps.now,
      send: async (d) => {
        const body = bodies.get(d.event_id);
        if (!body) throw new Undeliverable('the event was deleted');
        const send = channels.get(d.channel);
        if (!send) throw new Undeliverable(`the ${d.channel} channel is no longer configured`);
        await send(body);
      },
      failed: (d, attempt, final, error) => logger.warn('user event delivery failed', { event_id: d.event_id, channel: d.channel, attempt, final, error }),
    });
  };

  return async () => {
    const queued = await queue();
    const { sent, failed } = await deliver();
    return { queued, sent, failed };
  };
}
