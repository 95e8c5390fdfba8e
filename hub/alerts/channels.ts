// Where alert notifications go: the Telegram Bot API, email over SMTP (nodemailer) and a signed
// webhook. A channel is on when its settings are present; each send either resolves or throws with
// a message the notification row records. User events (hub/user-events) use the same Telegram and
// webhook senders with their own chat and URL.
//
// Webhook: `POST alert_webhook_url` with a JSON body ({ event, text, alert }) and the headers
//   X-Boxfleet-Event:     alert.fired | alert.resolved
//   X-Boxfleet-Timestamp: unix seconds when it was sent
//   X-Boxfleet-Signature: sha256=<hex HMAC-SHA256(alert_webhook_secret, timestamp + "." + raw body)>
// A receiver recomputes the HMAC over the raw body it got, compares in constant time and refuses
// timestamps too far from its clock (replays). Any 2xx answer counts as delivered.
import { createHmac, timingSafeEqual } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { HubConfig } from '../config.js';
import type { AlertChannel } from '../db/models.js';

const SEND_TIMEOUT_MS = 10_000;

export interface AlertMessage {
  event: 'fired' | 'resolved';
  /** One line, for Telegram and the email subject. */
  subject: string;
  /** A few lines with the details. */
  text: string;
  /** What the webhook receives as `alert`. */
  alert: unknown;
}

export type ChannelSender = (message: AlertMessage) => Promise<void>;

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Checks a webhook's signature header (for receivers; the tests use it). */
export function verifyWebhook(secret: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

async function readError(res: Response): Promise<string> {
  const body = (await res.text().catch(() => '')).slice(0, 300);
  return `HTTP ${res.status}${body ? `: ${body}` : ''}`;
}

/**
 * Sends text to one Telegram chat through the hub's bot (telegram_bot_token). The token is part of
 * the URL: it is kept out of errors, which the API shows to viewers.
 */
export function telegramSender(config: Pick<HubConfig, 'telegram_bot_token' | 'telegram_api_url'>, chatId: string): (text: string) => Promise<void> {
  const url = `${config.telegram_api_url.replace(/\/+$/, '')}/bot${config.telegram_bot_token}/sendMessage`;
  const scrub = (e: unknown) => {
    const error = e as Error & { cause?: Error };
    const hide = (text: string) => text.split(config.telegram_bot_token).join('<bot token>');
    return Object.assign(new Error(hide(error.message ?? String(e))), { cause: error.cause && new Error(hide(error.cause.message ?? '')) });
  };
  const send = async (text: string) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: chatId, text, disable_web_page_preview: true }),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    // The Bot API answers { ok: true, result: Message } or { ok: false, error_code, description }.
    const answer = (await res.json().catch(() => null)) as { ok?: boolean; description?: string } | null;
    if (!res.ok || answer?.ok !== true) throw new Error(`telegram: ${answer?.description ?? `HTTP ${res.status}`}`);
  };
  return (text) => send(text).catch((e: unknown) => Promise.reject(scrub(e)));
}

/** POSTs `body` as JSON to `url` with the X-Boxfleet-* headers above, signed when `secret` is set. */
export function webhookSender(url: string, secret: string): (event: string, body: unknown) => Promise<void> {
  return async (event, payload) => {
    const body = JSON.stringify(payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-boxfleet-event': event, 'x-boxfleet-timestamp': timestamp };
    if (secret) headers['x-boxfleet-signature'] = signWebhook(secret, timestamp, body);
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`webhook: ${await readError(res)}`);
    await res.body?.cancel().catch(() => undefined);
  };
}

/** The channels the settings turn on, by name. */
export function configuredChannels(config: HubConfig): Map<AlertChannel, ChannelSender> {
  const channels = new Map<AlertChannel, ChannelSender>();

  if (config.telegram_bot_token && config.telegram_chat_id) {
    const send = telegramSender(config, config.telegram_chat_id);
    channels.set('telegram', (message) => send(`${message.subject}\n\n${message.text}`));
  }

  if (config.smtp_url && config.alert_email_to) {
    // smtp://user:pass@host:587 upgrades with STARTTLS when the server offers it; smtps:// is TLS from the start.
    const transport = nodemailer.createTransport({
      url: config.smtp_url,
      connectionTimeout: SEND_TIMEOUT_MS,
      greetingTimeout: SEND_TIMEOUT_MS,
      socketTimeout: SEND_TIMEOUT_MS,
    });
    channels.set('email', async (message) => {
      await transport.sendMail({ from: config.alert_email_from, to: config.alert_email_to, subject: message.subject, text: message.text });
    });
  }

  if (config.alert_webhook_url) {
    const post = webhookSender(config.alert_webhook_url, config.alert_webhook_secret);
    channels.set('webhook', (message) =>
      post(`alert.${message.event}`, { event: `alert.${message.event}`, text: `${message.subject}\n${message.text}`, alert: message.alert }),
    );
  }

  return channels;
}
