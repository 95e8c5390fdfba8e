// /sub/:token: what an end user's proxy client fetches; /sub/:token/info: the same profile as JSON
// (status, usage, links) for the portal and for clients; /sub/:token/usage: the user's traffic per day and
// per node (by name), for the portal; the QR codes. Public (the token is the secret), never
// audited, and the token never reaches a log line (the request log names the route pattern only).
// An unknown token answers exactly like an unknown path. Rate-limited per token and per client IP.
//
// A suspended or expired user (or a disabled one, or one without a plan) still gets 200 and a
// valid profile, with one stand-in entry that reaches nothing and whose name says why, plus the
// status in profile-title (hub/subscriptions/profile.ts decides which). The client then shows the
// reason where the user picks a node, instead of a bare "update failed". Peer panels: Marzban
// keeps answering with the user's usual configs (the node side is what stops working) and can put
// the status into the remarks; 3x-ui/Hiddify style panels add such info entries. We give out no
// node address or credential at all.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import rateLimit from '../rate-limit-store.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import type { AppLogger } from '../../agent-core/common/logger.js';
import { HubError } from '../errors.js';
import { bodyRenderer } from '../subscriptions/body-cache.js';
import {
  FORMATS,
  SUBSCRIPTION_FORMATS,
  UPDATE_INTERVAL_HOURS,
  chooseFormat,
  contentDisposition,
  profileTitle,
  subscriptionUserinfo,
  type Format,
  type Usage,
} from '../subscriptions/format.js';
import { SubscriptionInfo, subscriptionInfo } from '../subscriptions/info.js';
import { subscriptionLookup, type Holder } from '../subscriptions/lookup.js';
import { profileBuilder, refusalOf, usageOf, STATUS_TEXT, type Status } from '../subscriptions/profile.js';
import { shareLink } from '../subscriptions/share-link.js';
import { templateLoader } from '../subscriptions/templates-store.js';
import type { RenderOptions } from '../subscriptions/subscription-format.js';
import { dayRange, MAX_USAGE_DAYS, userUsage } from '../user-usage.js';
import { CalendarDay, StringEnum, UsageBytes } from './schemas.js';

export interface SubRoutesOptions {
  /** Requests per token per minute. Default 60 (a client refreshes every few hours). */
  perTokenPerMinute?: number;
  /** Requests per client IP per minute, over all tokens. Default 600 (many users behind one NAT). */
  perIpPerMinute?: number;
  /** Room for rendered bodies, in bytes (hub/subscriptions/body-cache.ts): the sub_cache_mb setting. */
  cacheBytes: number;
  /** The profiles' urltest settings (sub_urltest_*). */
  render: RenderOptions;
  /** Leave out nodes the inbound check found unhealthy (on while inbound_check_interval_s > 0). */
  excludeUnhealthy: boolean;
  /** sub_entry_name_template: how entry names are made ('' : the usual names). */
  entryNameTemplate?: string;
  /** reset_timezone: whose calendar days /usage sums by. */
  timeZone: string;
  logger: AppLogger;
}

const Params = Type.Object({ token: Type.String({ maxLength: 200 }) });
const FormatQuery = Type.Object({ format: Type.Optional(StringEnum(FORMATS)) });
const QrQuery = Type.Object({ link: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })) });
const PORTAL_USAGE_DAYS = 30;
const UsageQuery = Type.Object({ days: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_USAGE_DAYS, default: PORTAL_USAGE_DAYS })) });
/** The user's own usage: days and nodes by name only (the portal shows no node id or address). */
const PortalUsage = Type.Object({
  from: CalendarDay(),
  to: CalendarDay(),
  time_zone: Type.String(),
  days: Type.Array(Type.Object({ day: CalendarDay(), ...UsageBytes })),
  nodes: Type.Array(Type.Object({ name: Type.String(), ...UsageBytes })),
  totals: Type.Object(UsageBytes),
});

/**
 * Per token and per client IP, checked before anything is read. Kept here, in one place, so the
 * limiter's store can be swapped (a store shared by several hubs) without touching the routes.
 */
async function limitRequests(app: FastifyInstance, opts: SubRoutesOptions): Promise<void> {
  await app.register(rateLimit, { global: false });
  const perToken = app.createRateLimit({
    max: opts.perTokenPerMinute ?? 60,
    timeWindow: 60_000,
    keyGenerator: (req) => `sub-token:${(req.params as { token?: string }).token ?? ''}`,
  });
  const perIp = app.createRateLimit({ max: opts.perIpPerMinute ?? 600, timeWindow: 60_000, keyGenerator: (req) => `sub-ip:${req.ip}` });
  app.addHook('onRequest', async (request, reply) => {
    for (const limiter of [perIp, perToken]) {
      const result = await limiter(request);
      if (!result.isAllowed && result.isExceeded) {
        reply.header('retry-after', String(result.ttlInSeconds));
        throw new HubError('HUB_ERR_RATE_LIMITED', `too many requests; try again in ${result.ttlInSeconds} s`);
      }
    }
  });
}

const routes: FastifyPluginAsyncTypebox<SubRoutesOptions> = async (app, opts) => {
  await limitRequests(app, opts);

  const lookup = subscriptionLookup(app.db, { excludeUnhealthy: opts.excludeUnhealthy });
  const build = profileBuilder(app, opts.entryNameTemplate);
  const refusal = (holder: Holder) => refusalOf(holder, app.now());
  const template = templateLoader(app.db, (message, fields) => opts.logger.warn(message, fields));
  const bodyOf = bodyRenderer({ build, template, refusal, maxBytes: opts.cacheBytes, render: opts.render });
  /** The whole profile, entries included, for the routes that are not a client's body. */
  const load = async (token: string) => {
    const found = await lookup(token);
    return found && (await build(found, refusal(found.holder))).profile;
  };

  /**
   * The app's not-found answer, word for word (the tests compare it with an unknown path's), sent
   * from this route rather than through reply.callNotFound(): that drops the route pattern, and the
   * request log would then print the raw URL with the token in it.
   */
  const notFound = (request: FastifyRequest, reply: FastifyReply) =>
    reply.code(404).send({ statusCode: 404, code: 'HUB_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });

  const setHeaders = (request: FastifyRequest, reply: FastifyReply, user: Holder['user'], status: Status, usage: Usage, format: Format) => {
    const title = `boxfleet · ${user.name}${status === 'active' ? '' : ` (${STATUS_TEXT[status]})`}`;
    reply
      // Clients show it as the profile's web page.
      .header('profile-web-page-url', `${request.publicUrl}/portal/${user.sub_token}`)
      .header('content-type', SUBSCRIPTION_FORMATS[format].contentType)
      .header('subscription-userinfo', subscriptionUserinfo(usage))
      .header('profile-update-interval', String(UPDATE_INTERVAL_HOURS))
      .header('profile-title', profileTitle(title))
      .header('content-disposition', contentDisposition(`boxfleet-${user.name}`, format))
      .header('cache-control', 'no-store');
  };

  app.get(
    '/:token',
    { config: { role: 'public', audit: false }, schema: { params: Params, querystring: FormatQuery, hide: true } },
    async (request, reply) => {
      const found = await lookup(request.params.token);
      if (!found) return notFound(request, reply);
      const format = chooseFormat(request.query.format, request.headers['user-agent']);
      const { body, status } = await bodyOf(found, format);
      setHeaders(request, reply, found.holder.user, status, usageOf(found.holder), format);
      return reply.send(body);
    },
  );

  app.get(
    '/:token/info',
    { config: { role: 'public', audit: false }, schema: { params: Params, response: { 200: SubscriptionInfo }, hide: true } },
    async (request, reply) => {
      const profile = await load(request.params.token);
      if (!profile) return notFound(request, reply);
      reply.header('cache-control', 'no-store');
      return subscriptionInfo(profile, request.publicUrl);
    },
  );

  // The user's traffic per day and per node, the last `days` days (today last), for the portal.
  app.get(
    '/:token/usage',
    { config: { role: 'public', audit: false }, schema: { params: Params, querystring: UsageQuery, response: { 200: PortalUsage }, hide: true } },
    async (request, reply) => {
      const found = await lookup(request.params.token);
      if (!found) return notFound(request, reply);
      const range = dayRange({}, app.now(), opts.timeZone, request.query.days ?? PORTAL_USAGE_DAYS);
      const { days, nodes, totals } = await userUsage(app.db, found.holder.user.id, range, opts.timeZone);
      reply.header('cache-control', 'no-store');
      return { ...range, time_zone: opts.timeZone, days, nodes: nodes.map(({ node_id: _, ...named }) => named), totals };
    },
  );

  /** The text a QR code stands for: the subscription URL, or one share link by index. */
  const qrText = async (request: FastifyRequest, token: string, index: number | undefined, reply: FastifyReply) => {
    const profile = await load(token);
    if (!profile) {
      await notFound(request, reply);
      return null;
    }
    if (index === undefined) return `${request.publicUrl}/sub/${token}`;
    const entry = profile.entries[index];
    if (!entry) throw new HubError('HUB_ERR_NOT_FOUND', `no link ${index}; this subscription has ${profile.entries.length}`);
    return shareLink(entry);
  };

  app.get(
    '/:token/qr.svg',
    { config: { role: 'public', audit: false }, schema: { params: Params, querystring: QrQuery, hide: true } },
    async (request, reply) => {
      const text = await qrText(request, request.params.token, request.query.link, reply);
      if (text === null) return reply;
      const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      return reply.header('content-type', 'image/svg+xml').header('cache-control', 'no-store').send(svg);
    },
  );

  app.get(
    '/:token/qr.png',
    { config: { role: 'public', audit: false }, schema: { params: Params, querystring: QrQuery, hide: true } },
    async (request, reply) => {
      const text = await qrText(request, request.params.token, request.query.link, reply);
      if (text === null) return reply;
      const png = await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 512 });
      return reply.header('content-type', 'image/png').header('cache-control', 'no-store').send(png);
    },
  );
};

export default routes;
