// Alert rules on the hub (hub/jobs/alerts.ts): samples stored through storeSamples (as hub/jobs/metrics.ts
// stores them) cross the CPU threshold → exactly one notification on each channel: a local
// Telegram Bot API stand-in, a real SMTP server (smtp-server) and a webhook whose HMAC signature
// verifies; the alert holds between threshold − hysteresis and the threshold and resolves below,
// with one resolution per channel. Everything listens on loopback. Hub on SQLite.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../agent-core/common/logger.js';
import type { AlertMessage } from '../../hub/alerts/channels.js';
import { AlertEngine } from '../../hub/jobs/alerts.js';
import { storeSamples } from '../../hub/jobs/metrics.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { startTelegramStandIn, startWebhookReceiver, type TelegramStandIn, type WebhookReceiver } from '../support/notify-receivers.js';

const BOT_TOKEN = '123456:test-bot-token';
const CHAT_ID = '-100777';
const WEBHOOK_SECRET = 'webhook signing secret';
const SMTP_USER = 'alerts';
const SMTP_PASS = 'smtp password';
const MINUTE = 60_000;

/** An enabled, online node `id` seen at `time`, for the alert rules to look at. */
const seedNode = (hub: TestHub, id: string, time: number, name = id) =>
  hub.app.db('nodes').insert({
    id, name, address: '127.0.0.1:1', insecure: true, token: 't'.repeat(20), tags: '[]',
    created_at: time, updated_at: time, enabled: true, health: 'online', last_seen_at: time,
  });

/** An alert engine on the hub's settings whose only channel collects what it would send. */
function collectingEngine(hub: TestHub): { engine: AlertEngine; sent: AlertMessage[] } {
  const sent: AlertMessage[] = [];
  const engine = new AlertEngine({
    db: hub.app.db,
    config: hub.config,
    now: () => Date.now(),
    logger: createLogger({ service: 'hub', level: 'error' }),
    channels: new Map([['webhook', async (m: AlertMessage) => void sent.push(m)]]),
  });
  return { engine, sent };
}

const listen = async (server: SMTPServer) => {
  await new Promise<void>((resolve) => (server as unknown as Server).listen(0, '127.0.0.1', resolve));
  return (server as unknown as { server: Server }).server.address() as AddressInfo;
};

describe('alerts: thresholds with hysteresis, sent to Telegram, SMTP and a signed webhook', () => {
  let hub: TestHub;
  let telegram: TelegramStandIn;
  let webhook: WebhookReceiver<{ event: string; text: string; alert: Record<string, unknown> }>;
  let smtp: SMTPServer;
  /** Messages each stand-in accepted. */
  const emails: { from: string; to: string[]; raw: string }[] = [];
  let t0: number;

  beforeAll(async () => {
    telegram = await startTelegramStandIn(BOT_TOKEN);
    webhook = await startWebhookReceiver(WEBHOOK_SECRET);

    smtp = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASS) callback(null, { user: auth.username });
        else callback(new Error('Invalid username or password'));
      },
      onData(stream, session, callback) {
        const parts: Buffer[] = [];
        stream.on('data', (c: Buffer) => parts.push(c));
        stream.on('end', () => {
          emails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(parts).toString('utf8'),
          });
          callback();
        });
      },
    });

    const sm = await listen(smtp);
    hub = await startTestHub('sqlite', {
      config: {
        telegram_bot_token: BOT_TOKEN,
        telegram_chat_id: CHAT_ID,
        telegram_api_url: telegram.url,
        smtp_url: `smtp://${SMTP_USER}:${encodeURIComponent(SMTP_PASS)}@127.0.0.1:${sm.port}`,
        alert_email_to: 'ops@example.test',
        alert_email_from: 'boxfleet@example.test',
        alert_webhook_url: `${webhook.url}/hooks/boxfleet`,
        alert_webhook_secret: WEBHOOK_SECRET,
      },
    });
    t0 = Date.now() - 30 * MINUTE;
    await seedNode(hub, 'n1', t0, 'edge-1');
  });

  afterAll(async () => {
    await hub?.close();
    await telegram?.close();
    await webhook?.close();
    await new Promise((r) => smtp?.close(() => r(undefined)));
  });

  /** A cpu-memory sample `minute` minutes after t0; memory stays at 30 %. */
  const cpu = (minute: number, cpu_percent: number) => ({
    node: 'n1',
    kind: 'cpu-memory' as const,
    time: new Date(t0 + minute * MINUTE).toISOString(),
    values: { cpu_percent, memory_total_bytes: 1000, memory_used_bytes: 300, memory_available_bytes: 700 },
  });
  const tick = async () => {
    const run = await hub.app.jobs.run('alerts');
    expect(run.ran).toBe(true);
    return (run as { result: Record<string, number> }).result;
  };
  const counts = () => [telegram.messages.length, emails.length, webhook.received.length];
  const list = async (query = '') => {
    const res = await hub.app.inject({ method: 'GET', url: `/api/v1/alerts${query}`, headers: await hub.as('viewer') });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { items: Record<string, any>[]; total: number };
  };
  const subjectOf = (raw: string) => /^Subject: (.*)$/im.exec(raw.replace(/\r\n(?=[ \t])/g, ''))?.[1] ?? '';

  it('stays quiet below the threshold', async () => {
    await storeSamples(hub.app.db, [cpu(1, 50)]);
    expect(await tick()).toMatchObject({ samples: 1, fired: 0 });
    expect(counts()).toEqual([0, 0, 0]);
    expect((await list()).total).toBe(0);
  });

  it('fires once when CPU crosses 80 %: one message on each channel', async () => {
    await storeSamples(hub.app.db, [cpu(2, 85)]);
    expect(await tick()).toMatchObject({ samples: 1, fired: 1, sent: 3, failed: 0 });
    expect(counts()).toEqual([1, 1, 1]);

    expect(telegram.messages[0]!.chat_id).toBe(CHAT_ID);
    expect(telegram.messages[0]!.text).toContain('[boxfleet] FIRING: node edge-1 (n1) CPU 85% > 80%');

    expect(emails[0]!.from).toBe('boxfleet@example.test');
    expect(emails[0]!.to).toEqual(['ops@example.test']);
    expect(subjectOf(emails[0]!.raw)).toBe('[boxfleet] FIRING: node edge-1 (n1) CPU 85% > 80%');

    expect(webhook.received[0]!.event).toBe('alert.fired');
    expect(webhook.received[0]!.body).toMatchObject({ event: 'alert.fired', alert: { node_id: 'n1', rule: 'cpu', state: 'firing', value: 85, threshold: 80, clear_below: 75 } });
  });

  it('sends nothing more while the value stays high', async () => {
    await storeSamples(hub.app.db, [cpu(3, 95), cpu(4, 90)]);
    expect(await tick()).toMatchObject({ samples: 2, fired: 0, resolved: 0, sent: 0 });
    expect(await tick()).toMatchObject({ samples: 0, fired: 0, sent: 0 });
    expect(counts()).toEqual([1, 1, 1]);
  });

  it('keeps firing below the threshold but above threshold − hysteresis', async () => {
    await storeSamples(hub.app.db, [cpu(5, 78), cpu(6, 75)]);
    expect(await tick()).toMatchObject({ samples: 2, fired: 0, resolved: 0 });
    expect(counts()).toEqual([1, 1, 1]);
    const firing = await list('?state=firing&node_id=n1');
    expect(firing.total).toBe(1);
    expect(firing.items[0]).toMatchObject({ rule: 'cpu', state: 'firing', value: 85, last_value: 75, resolved_at: null });
  });

  it('resolves below threshold − hysteresis, with one resolution message per channel', async () => {
    await storeSamples(hub.app.db, [cpu(7, 74.9)]);
    expect(await tick()).toMatchObject({ samples: 1, resolved: 1, sent: 3, failed: 0 });
    expect(counts()).toEqual([2, 2, 2]);
    expect(telegram.messages[1]!.text).toContain('[boxfleet] RESOLVED: node edge-1 (n1) CPU 74.9%');
    expect(subjectOf(emails[1]!.raw)).toBe('[boxfleet] RESOLVED: node edge-1 (n1) CPU 74.9%');
    expect(webhook.received[1]!.body).toMatchObject({ event: 'alert.resolved', alert: { state: 'resolved', resolved_value: 74.9 } });

    // Lower still, or back between the levels: nothing more.
    await storeSamples(hub.app.db, [cpu(8, 20), cpu(9, 79)]);
    expect(await tick()).toMatchObject({ samples: 2, fired: 0, resolved: 0, sent: 0 });
    expect(counts()).toEqual([2, 2, 2]);
  });

  it('lists the alert with its states and notifications through the API', async () => {
    expect((await list('?state=firing')).total).toBe(0);
    expect((await list('?node_id=other')).total).toBe(0);
    const { items, total } = await list('?state=resolved&node_id=n1');
    expect(total).toBe(1);
    const alert = items[0]!;
    expect(alert).toMatchObject({
      node_id: 'n1',
      rule: 'cpu',
      state: 'resolved',
      value: 85,
      threshold: 80,
      clear_below: 75,
      fired_at: new Date(t0 + 2 * MINUTE).toISOString(),
      resolved_at: new Date(t0 + 7 * MINUTE).toISOString(),
      resolved_value: 74.9,
    });
    expect(alert.notifications.map((n: Record<string, unknown>) => [n.event, n.channel, n.status, n.attempts, n.last_error])).toEqual([
      ['fired', 'telegram', 'sent', 1, null],
      ['fired', 'email', 'sent', 1, null],
      ['fired', 'webhook', 'sent', 1, null],
      ['resolved', 'telegram', 'sent', 1, null],
      ['resolved', 'email', 'sent', 1, null],
      ['resolved', 'webhook', 'sent', 1, null],
    ]);
    // Paging.
    const page = await list('?per_page=1&page=2');
    expect(page).toMatchObject({ total: 1, items: [] });
  });

  it('records a failing channel and retries it at the next tick', async () => {
    webhook.refusals = 1;
    const before = counts();
    await storeSamples(hub.app.db, [{ node: 'n1', kind: 'cpu-memory', time: new Date(t0 + 10 * MINUTE).toISOString(), values: { cpu_percent: 10, memory_total_bytes: 1000, memory_used_bytes: 800 } }]);
    expect(await tick()).toMatchObject({ fired: 1, sent: 2, failed: 1 });
    let alert = (await list('?state=firing&rule=memory')).items[0]!;
    expect(alert).toMatchObject({ rule: 'memory', value: 80, threshold: 70 });
    expect(alert.notifications.find((n: Record<string, unknown>) => n.channel === 'webhook')).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: 'webhook: HTTP 503: receiver busy',
    });
    expect(await tick()).toMatchObject({ sent: 1, failed: 0 });
    alert = (await list('?state=firing&rule=memory')).items[0]!;
    expect(alert.notifications.find((n: Record<string, unknown>) => n.channel === 'webhook')).toMatchObject({ status: 'sent', attempts: 2 });
    expect(counts()).toEqual(before.map((n) => n + 1));
  });

  it('marks a notification failed after alert_max_attempts (4) and never blocks the other channels', async () => {
    webhook.refusals = 100;
    const before = counts();
    const disk = { node: 'n1', kind: 'disk-network' as const, time: new Date(t0 + 11 * MINUTE).toISOString(), values: { disk_total_bytes: 100, disk_used_bytes: 95 } };
    await storeSamples(hub.app.db, [disk]);
    expect(await tick()).toMatchObject({ fired: 1, sent: 2, failed: 1 });
    for (let k = 2; k <= 4; k++) expect(await tick()).toMatchObject({ sent: 0, failed: 1 });
    expect(await tick()).toMatchObject({ sent: 0, failed: 0 });
    webhook.refusals = 0;
    const alert = (await list('?rule=disk')).items[0]!;
    expect(alert).toMatchObject({ state: 'firing', value: 95, threshold: 90, clear_below: 85 });
    expect(alert.notifications.find((n: Record<string, unknown>) => n.channel === 'webhook')).toMatchObject({
      status: 'failed',
      attempts: 4,
      last_error: 'webhook: HTTP 503: receiver busy',
      sent_at: null,
    });
    expect(counts()).toEqual([before[0]! + 1, before[1]! + 1, before[2]!]);
  });

  it('fires when a node is offline too long and resolves when it is back', async () => {
    const before = counts();
    await hub.app.db('nodes').where({ id: 'n1' }).update({ health: 'offline', last_seen_at: Date.now() - 10 * MINUTE });
    expect(await tick()).toMatchObject({ fired: 1, sent: 3 });
    const offline = (await list('?state=firing&rule=offline')).items[0]!;
    expect(offline).toMatchObject({ rule: 'offline', threshold: 300, clear_below: null });
    expect(offline.value).toBeGreaterThanOrEqual(600);
    expect(await tick()).toMatchObject({ fired: 0, resolved: 0, sent: 0 });
    await hub.app.db('nodes').where({ id: 'n1' }).update({ health: 'online', last_seen_at: Date.now() });
    expect(await tick()).toMatchObject({ resolved: 1, sent: 3 });
    expect(counts()).toEqual(before.map((n) => n + 2));
    expect(telegram.messages.at(-2)!.text).toContain('FIRING: node edge-1 (n1) offline for');
  });
});

describe('alerts: alert_resolve_after_s keeps an alert until the value has stayed low that long', () => {
  let hub: TestHub;
  const t0 = Date.parse('2026-03-10T12:00:00Z');

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { config: { alert_resolve_after_s: 120 } });
    await seedNode(hub, 'n2', t0);
  });
  afterAll(() => hub?.close());

  it('resolves at the first sample two minutes into an unbroken run below threshold − hysteresis', async () => {
    const { engine, sent } = collectingEngine(hub);
    const at = (minute: number, cpu_percent: number) => ({ node: 'n2', kind: 'cpu-memory' as const, time: new Date(t0 + minute * MINUTE).toISOString(), values: { cpu_percent } });
    await storeSamples(hub.app.db, [at(0, 85)]);
    expect(await engine.tick()).toMatchObject({ fired: 1, sent: 1 });
    // Low, back up between the levels (the run starts again), low for one minute: still firing.
    await storeSamples(hub.app.db, [at(1, 70), at(2, 76), at(3, 70), at(4, 70)]);
    expect(await engine.tick()).toMatchObject({ samples: 4, resolved: 0 });
    await storeSamples(hub.app.db, [at(5, 72)]);
    expect(await engine.tick()).toMatchObject({ resolved: 1, sent: 1 });
    expect(sent.map((m) => m.event)).toEqual(['fired', 'resolved']);
    const res = await hub.app.inject({ method: 'GET', url: '/api/v1/alerts?node_id=n2', headers: hub.auth });
    expect(res.json().items[0]).toMatchObject({ state: 'resolved', resolved_at: new Date(t0 + 5 * MINUTE).toISOString(), resolved_value: 72 });
  });
});

describe('alerts: ledger_backlog from the ledger positions the live job stores', () => {
  let hub: TestHub;
  const t0 = Date.parse('2026-03-11T12:00:00Z');

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    await seedNode(hub, 'n3', t0);
  });
  afterAll(() => hub?.close());

  it('fires above alert_ledger_backlog_entries (10000), holds down to threshold − 1000 entries, resolves below; a position is evaluated once', async () => {
    const { engine, sent } = collectingEngine(hub);
    /** As runLiveJob stores a ledger position read `minute` minutes after t0. */
    const position = async (minute: number, head: number, acked: number) => {
      const row = { ledger_head_seq: head, ledger_acked_seq: acked, ledger_backlog_entries: head - acked, ledger_at: t0 + minute * MINUTE, updated_at: t0 + minute * MINUTE };
      await hub.app.db('node_live').insert({ node_id: 'n3', ...row }).onConflict('node_id').merge(row);
    };
    await position(0, 9_000, 0);
    expect(await engine.tick()).toMatchObject({ fired: 0, sent: 0 });
    await position(1, 12_500, 500);
    expect(await engine.tick()).toMatchObject({ fired: 1, sent: 1 });
    expect(sent[0]!.subject).toBe('[boxfleet] FIRING: node n3 ledger backlog 12000 entries > 10000 entries');
    expect(sent[0]!.alert).toMatchObject({ node_id: 'n3', rule: 'ledger_backlog', state: 'firing', value: 12_000, threshold: 10_000, clear_below: 9_000 });
    // The same position again (the live job did not run): nothing new.
    expect(await engine.tick()).toMatchObject({ fired: 0, resolved: 0, sent: 0 });
    // Between threshold − hysteresis and the threshold: still firing.
    await position(2, 13_000, 3_500);
    expect(await engine.tick()).toMatchObject({ fired: 0, resolved: 0 });
    await position(3, 13_000, 4_001);
    expect(await engine.tick()).toMatchObject({ resolved: 1, sent: 1 });
    expect(sent.map((m) => m.event)).toEqual(['fired', 'resolved']);
    const res = await hub.app.inject({ method: 'GET', url: '/api/v1/alerts?rule=ledger_backlog', headers: hub.auth });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items).toHaveLength(1);
    expect(res.json().items[0]).toMatchObject({ state: 'resolved', value: 12_000, last_value: 8_999, resolved_value: 8_999, resolved_at: new Date(t0 + 3 * MINUTE).toISOString() });
  });
});
