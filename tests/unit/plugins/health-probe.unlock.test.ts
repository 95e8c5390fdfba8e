// Unlock checks against loopback HTTP servers that answer as each service does when it serves the
// node's IP and when it does not; agent.yaml points the bundled checks' URLs at them, so the rules
// under test are the bundled ones (unlock-checks.json), unchanged.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import { InvalidArgumentError } from '../../../agent-core/common/errors.js';
import { validate } from '../../../agent-core/common/schema.js';
import healthProbe from '../../../plugins/health-probe/index.js';
import { UnlockCheck, type ResultsOutput, type UnlockReport, type UnlockResult } from '../../../plugins/health-probe/contract.js';
import bundled from '../../../plugins/health-probe/unlock-checks.json' with { type: 'json' };

type Reply = { status: number; body?: string; location?: string };
type Mode = 'available' | 'blocked' | 'blocked-other-way';

/** What each service answers, per mode, at each path the checks ask (paths prefixed by the service). */
const SERVICES: Record<string, Record<Mode, Record<string, Reply>>> = {
  netflix: {
    available: {
      '/title/70143836': {
        status: 200,
        body: '<meta property="og:video" content="x"><script>{"requestCountry":{"supportedLocales":["en"],"id":"HK"}}</script>',
      },
    },
    blocked: { '/title/70143836': { status: 404, body: 'Not Found' } },
    'blocked-other-way': { '/title/70143836': { status: 200, body: '<h1>Oh no!</h1> This title is not available to watch instantly in your country.' } },
  },
  disney: {
    available: { '/': { status: 200, body: '<script>window.server_path = {"countryCode":"JP","lang":"ja"}</script>' } },
    blocked: { '/': { status: 302, location: '/disney/unavailable' }, '/unavailable': { status: 200, body: 'Disney+ is not available in your region.' } },
    'blocked-other-way': { '/': { status: 403, body: 'Forbidden' } },
  },
  youtube: {
    available: { '/premium': { status: 200, body: 'YouTube Premium: ad-free, background play... {"countryCode":"US"}' } },
    blocked: { '/premium': { status: 200, body: 'YouTube Premium is not available in your country' } },
    'blocked-other-way': { '/premium': { status: 200, body: '<a href="https://www.google.cn/">google.cn</a>' } },
  },
  openai: {
    available: {
      '/compliance/cookie_requirements': { status: 200, body: '{"requirements":[]}' },
      '/ios': { status: 403, body: '{"cf_details":"Request is not allowed. Please try again later.","type":"dc"}' },
      '/cdn-cgi/trace': { status: 200, body: 'fl=1\nip=203.0.113.5\nloc=SG\ntls=TLSv1.3\n' },
    },
    blocked: {
      '/compliance/cookie_requirements': { status: 403, body: '{"cancelled":"unsupported_country"}' },
      '/ios': { status: 403, body: 'denied' },
      '/cdn-cgi/trace': { status: 200, body: 'loc=CN\n' },
    },
    'blocked-other-way': {
      '/compliance/cookie_requirements': { status: 200, body: '{"requirements":[]}' },
      '/ios': { status: 403, body: '{"cf_details":"Something went wrong. You may be connected to a disallowed ISP. If you are using VPN, try disabling it."}' },
      '/cdn-cgi/trace': { status: 200, body: 'loc=US\n' },
    },
  },
  claude: {
    available: { '/': { status: 200, body: '<title>Claude</title>' }, '/cdn-cgi/trace': { status: 200, body: 'loc=DE\n' } },
    blocked: {
      '/': { status: 307, location: '/claude/app-unavailable-in-region' },
      '/app-unavailable-in-region': { status: 200, body: 'Claude is not available in your region' },
      '/cdn-cgi/trace': { status: 200, body: 'loc=RU\n' },
    },
    'blocked-other-way': {
      '/': { status: 301, location: '/claude/login/app-unavailable-in-region' },
      '/login/app-unavailable-in-region': { status: 200, body: 'unavailable' },
      '/cdn-cgi/trace': { status: 200, body: 'loc=CN\n' },
    },
  },
};

let mode: Mode = 'available';
let base = '';
const server = http.createServer((req, res) => {
  const [, service = '', ...rest] = (req.url ?? '').split('/');
  const reply = SERVICES[service]?.[mode][`/${rest.join('/')}`];
  if (!reply) return res.writeHead(404).end();
  res.writeHead(reply.status, reply.location ? { location: reply.location } : {}).end(reply.body ?? '');
});

/** agent.yaml's override: the bundled checks, each request's URL moved to the loopback service. */
const pointedAtLoopback = () => ({
  netflix: { requests: [{ url: `${base}/netflix/title/70143836` }] },
  disney: { requests: [{ url: `${base}/disney/` }] },
  youtube_premium: { requests: [{ url: `${base}/youtube/premium` }] },
  openai: {
    requests: [{ url: `${base}/openai/compliance/cookie_requirements` }, { url: `${base}/openai/ios` }, { url: `${base}/openai/cdn-cgi/trace` }],
  },
  claude: { requests: [{ url: `${base}/claude/` }, { url: `${base}/claude/cdn-cgi/trace` }] },
});

let harness: Harness;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  harness = await createHarness(healthProbe, { config: { 'health-probe': { unlock: { interval_s: 0, checks: pointedAtLoopback() } } } });
});
afterAll(async () => {
  await harness.close();
  server.close();
});

const unlock = async (m: Mode, checks?: string[]) => {
  mode = m;
  const report = await harness.execute<UnlockReport>('health-probe.unlock', checks ? { checks } : {});
  return Object.fromEntries(report.results.map((r) => [r.id, r]));
};
const summary = (results: Record<string, UnlockResult>) => Object.fromEntries(Object.entries(results).map(([id, r]) => [id, [r.result, r.region]]));

describe('unlock checks (bundled rules, loopback services)', () => {
  it('finds every service available where it serves, with its region and the evidence', async () => {
    const results = await unlock('available');
    expect(summary(results)).toEqual({
      netflix: ['available', 'HK'],
      disney: ['available', 'JP'],
      youtube_premium: ['available', 'US'],
      openai: ['available', 'SG'],
      claude: ['available', 'DE'],
    });
    expect(results.netflix).toMatchObject({
      name: 'Netflix',
      mark: 'NF',
      evidence: { rule: 'licensed title page served', error: null, requests: [{ url: `${base}/netflix/title/70143836`, status: 200, final_url: `${base}/netflix/title/70143836`, error: null }] },
    });
    expect(results.openai!.evidence.requests.map((r) => r.status)).toEqual([200, 403, 200]);
  });

  it('finds every service not available where it refuses, naming the rule that decided', async () => {
    const results = await unlock('blocked');
    expect(Object.fromEntries(Object.entries(results).map(([id, r]) => [id, [r.result, r.evidence.rule]]))).toEqual({
      netflix: ['not_available', 'title missing: originals only (404)'],
      disney: ['not_available', 'sent to the unavailable page'],
      youtube_premium: ['not_available', 'page says Premium is not available in the country'],
      openai: ['not_available', 'API says unsupported_country'],
      claude: ['not_available', 'sent to app-unavailable-in-region'],
    });
    expect(results.disney!.evidence.requests[0]).toMatchObject({ status: 200, final_url: `${base}/disney/unavailable` });
    expect(results.claude!.region).toBe('RU');
  });

  it('reads the other ways each service refuses too', async () => {
    const results = await unlock('blocked-other-way');
    expect(Object.fromEntries(Object.entries(results).map(([id, r]) => [id, r.result]))).toEqual({
      netflix: 'not_available',
      disney: 'not_available',
      youtube_premium: 'not_available',
      openai: 'not_available',
      claude: 'not_available',
    });
    expect(results.openai!.evidence.rule).toBe('app endpoint says VPN (address blocked)');
  });

  it('runs only the checks named, keeps the others of the last run in `results`, and refuses an unknown id', async () => {
    await unlock('available');
    const results = await unlock('blocked', ['netflix']);
    expect(Object.keys(results)).toEqual(['netflix']);
    const { unlock: last } = await harness.execute<ResultsOutput>('health-probe.results', {});
    expect(Object.fromEntries(last!.results.map((r) => [r.id, r.result]))).toMatchObject({ netflix: 'not_available', disney: 'available' });
    const error = await harness.execute('health-probe.unlock', { checks: ['nope'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('no check nope');
  });

  it('says unknown, with the error, when a service cannot be reached', async () => {
    const h = await createHarness(healthProbe, {
      config: { 'health-probe': { unlock: { interval_s: 0, checks: { netflix: { requests: [{ url: 'http://127.0.0.1:1/title/1' }] } } } } },
    });
    try {
      const report = await h.execute<UnlockReport>('health-probe.unlock', { checks: ['netflix'] });
      expect(report.results[0]).toMatchObject({ result: 'unknown', region: null, evidence: { rule: null, error: expect.stringContaining('ECONNREFUSED') } });
    } finally {
      await h.close();
    }
  });

  it('runs on its schedule, emits the report, and takes checks added or turned off in agent.yaml', async () => {
    const h = await createHarness(healthProbe, {
      config: {
        'health-probe': {
          unlock: {
            interval_s: 3600,
            first_run_s: 0,
            checks: {
              ...pointedAtLoopback(),
              disney: null,
              spotify: {
                name: 'Spotify',
                mark: 'SP',
                requests: [{ url: `${base}/netflix/title/70143836` }],
                rules: [{ name: 'page served', status: '^200$', result: 'available' }],
              },
            },
          },
        },
      },
    });
    try {
      mode = 'available';
      const event = await h.nextEvent('health-probe.unlock', 10_000);
      const report = event.payload as UnlockReport;
      expect(report.results.map((r) => r.id)).toEqual(['netflix', 'youtube_premium', 'openai', 'claude', 'spotify']);
      expect(report.results.find((r) => r.id === 'spotify')).toMatchObject({ result: 'available', mark: 'SP', region: null });
      expect((await h.execute<ResultsOutput>('health-probe.results', {})).unlock).toEqual(report);
    } finally {
      await h.close();
    }
  });

  it('refuses a rule whose regex does not compile at start, naming the check', async () => {
    const h = await createHarness(healthProbe, {
      config: { 'health-probe': { unlock: { checks: { netflix: { rules: [{ name: 'x', body: '(', result: 'available' }] } } } } },
    });
    try {
      const [status] = await h.describe();
      expect(status).toMatchObject({ state: 'failed', message: expect.stringContaining('unlock.checks.netflix') });
    } finally {
      await h.close();
    }
  });

  it('ships complete checks: every bundled one passes the check schema', () => {
    for (const [id, check] of Object.entries(bundled)) expect(() => validate(UnlockCheck, structuredClone(check), id)).not.toThrow();
    expect(Object.keys(bundled)).toEqual(['netflix', 'disney', 'youtube_premium', 'openai', 'claude']);
  });
});
