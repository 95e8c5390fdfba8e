// What the hub's notifications reach in tests: a webhook receiver that checks each request as an
// operator's would (signature over the raw body, a fresh timestamp) and can be down for a while,
// and a stand-in of the Telegram Bot API's sendMessage with the API's own answer shapes.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '../../hub/alerts/channels.js';

export const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });

async function listening(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const closing = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

export interface WebhookReceiver<Body> {
  /** Where it listens (no path: any path is taken). */
  url: string;
  /** What it took, signature verified, in order, with the X-Boxfleet-Event header. */
  received: { event: string; body: Body }[];
  /** How many of the next requests it answers 503 (down for a while). */
  refusals: number;
  close(): Promise<void>;
}

export async function startWebhookReceiver<Body>(secret: string): Promise<WebhookReceiver<Body>> {
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const timestamp = String(req.headers['x-boxfleet-timestamp'] ?? '');
    const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
    if (!fresh || !verifyWebhook(secret, timestamp, body, String(req.headers['x-boxfleet-signature'] ?? ''))) {
      res.statusCode = 401;
      return res.end('bad signature');
    }
    if (receiver.refusals > 0) {
      receiver.refusals -= 1;
      res.statusCode = 503;
      return res.end('receiver busy');
    }
    receiver.received.push({ event: String(req.headers['x-boxfleet-event']), body: JSON.parse(body) as Body });
    res.statusCode = 204;
    res.end();
  });
  const receiver: WebhookReceiver<Body> = { url: await listening(server), received: [], refusals: 0, close: () => closing(server) };
  return receiver;
}

export interface TelegramStandIn {
  /** The telegram_api_url to give the hub. */
  url: string;
  /** The messages it accepted, in order. */
  messages: { chat_id: string; text: string }[];
  close(): Promise<void>;
}

/** POST /bot<token>/sendMessage → { ok: true, result: Message }; a wrong token is 401, an empty text 400. */
export async function startTelegramStandIn(botToken: string): Promise<TelegramStandIn> {
  const messages: TelegramStandIn['messages'] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    res.setHeader('content-type', 'application/json');
    if (req.method !== 'POST' || req.url !== `/bot${botToken}/sendMessage`) {
      res.statusCode = req.url?.startsWith('/bot') ? 401 : 404;
      return res.end(JSON.stringify({ ok: false, error_code: res.statusCode, description: res.statusCode === 401 ? 'Unauthorized' : 'Not Found' }));
    }
    const input = JSON.parse(body) as { chat_id: string; text: string };
    if (!input.chat_id || !input.text) {
      res.statusCode = 400;
      return res.end(JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: message text is empty' }));
    }
    messages.push(input);
    res.end(
      JSON.stringify({
        ok: true,
        result: { message_id: messages.length, date: Math.floor(Date.now() / 1000), chat: { id: Number(input.chat_id), type: 'supergroup' }, text: input.text },
      }),
    );
  });
  return { url: await listening(server), messages, close: () => closing(server) };
}
