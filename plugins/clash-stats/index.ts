// Statistics from sing-box (architecture §4, §5): per-user traffic sampled from the V2Ray stats API
// and the SSM API into a durable ledger the hub drains, plus node totals and open connections from
// the Clash API. README.md has the config, the commands and the ledger's guarantees.
import path from 'node:path';
import { definePlugin, FailedPreconditionError, type Logger, Type, wallClock } from '../../agent-core/sdk.js';
import {
  connectionView,
  externalController,
  fetchConnections,
  type ClashConnections,
} from './clash-api.js';
import {
  ClashSummary,
  ConnectionsInput,
  ConnectionsOutput,
  LedgerPosition,
  SingboxContributionInput,
  SingboxContributionOutput,
  SummaryInput,
  TrafficAckInput,
  TrafficAckOutput,
  TrafficDrainInput,
  TrafficDrainOutput,
  TrafficPositionInput,
  TrafficSampleInput,
  TrafficSampleOutput,
  TrafficTotalsInput,
  TrafficTotalsOutput,
} from './contract.js';
import { clockNow, readBootId, readCounters, type SsmEndpoint } from './counters.js';
import { computeDeltas, PRECISE_UPTIME_CALL_S } from './deltas.js';
import { Ledger } from './ledger.js';

/** Each V2Ray and SSM call of a sample; sing-box is on the same machine. */
const SAMPLE_CALL_TIMEOUT_MS = 3000;
/** A failure that keeps happening is logged again at most this often. */
const WARN_EVERY_MS = 5 * 60_000;

const Config = Type.Object({
  clash_api: Type.Optional(
    Type.Object({
      url: Type.String({ pattern: '^https?://', description: "sing-box's experimental.clash_api address, e.g. http://127.0.0.1:9090" }),
      secret: Type.String({ default: '' }),
    }),
  ),
  cache_ttl_s: Type.Integer({ minimum: 0, default: 300, description: 'How long a Clash API summary is reused.' }),
  v2ray_api: Type.Object(
    {
      listen: Type.String({
        default: '127.0.0.1:10085',
        // The V2Ray API has no authentication: it must never listen beyond this machine.
        pattern: '^(127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|localhost|\\[::1\\]):\\d{1,5}$',
        description: 'Loopback host:port for sing-box experimental.v2ray_api.listen.',
      }),
    },
    { default: {} },
  ),
  sample_interval_s: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 10,
    description: 'Seconds between traffic samples; 0 samples only when traffic.sample is called.',
  }),
  ledger_dir: Type.Optional(Type.String({ minLength: 1, description: "Where the ledger lives; default the plugin's state directory." })),
});

/** Logs a failure once, then at most every WARN_EVERY_MS while it lasts, and once when it clears. */
function throttledWarnings(logger: Logger) {
  const failing = new Map<string, { since: number; loggedAt: number; skipped: number; message: string }>();
  return {
    fail(key: string, text: string, meta: Record<string, unknown> = {}) {
      const now = Date.now();
      const message = typeof meta.error === 'string' ? `${text}: ${meta.error}` : text;
      const state = failing.get(key);
      if (!state) {
        failing.set(key, { since: now, loggedAt: now, skipped: 0, message });
        logger.warn(text, meta);
      } else if (now - state.loggedAt >= WARN_EVERY_MS) {
        logger.warn(text, { ...meta, failing_since: new Date(state.since).toISOString(), repeats: state.skipped + 1 });
        Object.assign(state, { loggedAt: now, skipped: 0, message });
      } else {
        Object.assign(state, { skipped: state.skipped + 1, message });
      }
    },
    ok(key: string, message: string) {
      const state = failing.get(key);
      if (!state) return;
      failing.delete(key);
      logger.info(message, { failing_since: new Date(state.since).toISOString() });
    },
    failure(key: string) {
      return failing.get(key);
    },
  };
}

function isSsmEndpoints(value: unknown): value is { endpoints: SsmEndpoint[] } {
  const endpoints = (value as { endpoints?: unknown } | null)?.endpoints;
  return (
    Array.isArray(endpoints) &&
    endpoints.every((e) => typeof e?.inbound === 'string' && e.inbound !== '' && typeof e?.url === 'string' && /^https?:\/\//.test(e.url))
  );
}

export default definePlugin({
  id: 'clash-stats',
  version: '0.5.0',
  agent: '>=0.1.0 <1',
  description: 'Per-user traffic in a durable ledger, and node totals and connections, from sing-box.',
  config: Config,
  commands: {
    'traffic.sample': {
      description: "Reads sing-box's per-user counters now and appends the new bytes to the ledger (call it before a reload).",
      input: TrafficSampleInput,
      output: TrafficSampleOutput,
      mutates: true,
      timeoutMs: 15_000,
    },
    'traffic.drain': {
      description: 'Ledger entries after after_seq, oldest first; the same after_seq gives the same entries until acknowledged.',
      input: TrafficDrainInput,
      output: TrafficDrainOutput,
      timeoutMs: 15_000,
    },
    'traffic.ack': {
      description: 'Acknowledges every entry up to seq (they are stored by the hub); the ledger drops them.',
      input: TrafficAckInput,
      output: TrafficAckOutput,
      mutates: true,
      timeoutMs: 60_000,
    },
    'traffic.position': {
      description: 'Where the ledger stands: the last entry written and the last one acknowledged.',
      input: TrafficPositionInput,
      output: LedgerPosition,
    },
    'traffic.totals': {
      description: 'Bytes per user over everything the ledger ever recorded (survives acknowledgement and restarts), or up to at_seq.',
      input: TrafficTotalsInput,
      output: TrafficTotalsOutput,
    },
    summary: {
      description: 'Node traffic totals, open connections and online clients from the Clash API.',
      input: SummaryInput,
      output: ClashSummary,
    },
    connections: {
      description: 'Open connections from the Clash API, the busiest first.',
      input: ConnectionsInput,
      output: ConnectionsOutput,
    },
    'singbox-contribution': {
      description: "The experimental.clash_api and experimental.v2ray_api sections sing-box needs for this plugin's settings.",
      input: SingboxContributionInput,
      output: SingboxContributionOutput,
    },
  },
  async start(ctx) {
    const { clash_api, cache_ttl_s, v2ray_api, sample_interval_s } = ctx.config;
    const warnings = throttledWarnings(ctx.logger);
    const ledgerDir = path.resolve(ctx.config.ledger_dir ?? ctx.stateDir);
    const bootId = await readBootId();
    // Opening replays the file: milliseconds normally, but a ledger that grew for days while the hub
    // was away takes longer than a plugin may take to start. Commands wait for it instead; a damaged
    // ledger makes the traffic commands fail and the plugin unhealthy, and the rest keeps working.
    let opened: Ledger | undefined;
    let ledgerError: string | undefined;
    const opening = Ledger.open(ledgerDir, {
      // A new ledger's creation tells which sing-box counted bytes before it existed (computeDeltas).
      now: () => clockNow(bootId),
      onTornTail: ({ offset, bytes }) =>
        ctx.logger.warn('traffic ledger ended in a torn line (interrupted write); dropped it', { offset, bytes }),
    }).then(
      (ledger) => (opened = ledger),
      (error: unknown) => {
        ledgerError = (error as Error).message;
        ctx.logger.error('traffic ledger could not be opened', { error: ledgerError, dir: ledgerDir });
        return undefined;
      },
    );
    async function openLedger(): Promise<Ledger> {
      const ledger = await opening;
      if (!ledger) throw new FailedPreconditionError(`traffic ledger unavailable: ${ledgerError}`);
      return ledger;
    }
    let lastSummary: { summary: ClashSummary; at: number } | undefined;

    async function ssmEndpoints(): Promise<SsmEndpoint[]> {
      try {
        const result = await ctx.call('singbox-config.ssm.endpoints', {});
        if (!isSsmEndpoints(result)) throw new Error('singbox-config.ssm.endpoints answered with an unexpected shape');
        warnings.ok('ssm.endpoints', 'SSM endpoints readable again');
        return result.endpoints;
      } catch (error) {
        // No singbox-config here, or it is disabled: no managed Shadowsocks inbounds to read.
        const status = (error as { status?: string }).status;
        if (status === 'NOT_FOUND' || status === 'FAILED_PRECONDITION') return [];
        warnings.fail('ssm.endpoints', 'SSM counters not read this sample: no endpoints from singbox-config', {
          error: (error as Error).message,
        });
        return [];
      }
    }

    /** The time of the last entries this process appended. */
    let lastSampleAt = 0;
    /** Errors the throttled warnings already logged. */
    const reported = new WeakSet<object>();

    async function sampleNow(): Promise<TrafficSampleOutput> {
      const ledger = await openLedger();
      const endpoints = await ssmEndpoints();
      let reading;
      try {
        reading = await readCounters({
          v2rayListen: v2ray_api.listen,
          endpoints,
          bootId,
          timeoutMs: SAMPLE_CALL_TIMEOUT_MS,
          signal: ctx.signal,
          onSourceError: (source, error) =>
            warnings.fail(`source:${source}`, 'counters of one source not read this sample', { source, error: error.message }),
        });
      } catch (error) {
        // sing-box is not running (or restarting): its counters are not readable and nothing is lost
        // by waiting; the ledger stays as it is.
        warnings.fail('v2ray', 'traffic sample skipped: sing-box counters not readable', { error: (error as Error).message });
        return { appended: 0, last_seq: ledger.headSeq };
      }
      const { deltas, patch } = computeDeltas(ledger.baselines, reading, ledger.createdAt);
      const undecided = [...reading.sources.keys()].some((source) => !ledger.baselines.has(source) && !patch[source]);
      if (!reading.precise && (undecided || Object.values(patch).some((p) => p?.reset || p?.instance))) {
        // Its start estimate could make a later sample take this same instance for a new one, or
        // (a source left without a baseline) could not tell whether it started before the ledger.
        warnings.fail('v2ray', 'traffic sample skipped: sing-box answered too slowly to record a new instance', {
          error: `uptime call took over ${PRECISE_UPTIME_CALL_S} s`,
        });
        return { appended: 0, last_seq: ledger.headSeq };
      }
      warnings.ok('v2ray', 'sing-box counters readable again');
      for (const source of reading.sources.keys()) warnings.ok(`source:${source}`, `counters of ${source} readable again`);
      try {
        // Entry times never go back along the seqs: after the clock is set back, samples keep the
        // last time until it catches up, so no bytes land in an earlier hour than bytes recorded before them.
        const time = Math.max(wallClock(), lastSampleAt);
        const appended = await ledger.append({ time: new Date(time), deltas, patch });
        if (appended.appended > 0) lastSampleAt = time;
        warnings.ok('ledger', 'traffic ledger writable again; the bytes counted meanwhile are in it');
        return appended;
      } catch (error) {
        // A full or failing disk: the line was cut back and the baselines did not move, so sing-box's
        // counters keep the bytes and the first sample that can write records them, once.
        warnings.fail('ledger', 'traffic ledger cannot be written', { error: (error as Error).message });
        // The node's state, not a bug in the command: a precondition, retried by the next sample.
        const refused = new FailedPreconditionError(`traffic ledger cannot be written: ${(error as Error).message}`, { cause: error });
        reported.add(refused);
        throw refused;
      }
    }

    // One sample at a time: two overlapping samples would both count against the same baselines.
    // The timer counts from the last sample, whoever asked for it: a caller sampling more often
    // (singbox-config's limit checks) replaces the timer's samples instead of adding to them.
    let samples: Promise<unknown> = Promise.resolve();
    let pending = 0;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    function schedule(): void {
      if (sample_interval_s === 0 || stopped) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (pending > 0) return; // a sample is running; it schedules the next one
        sample().catch((error: unknown) => {
          // A ledger that cannot be written is logged by the throttled warning, not every sample.
          if (!(error instanceof Object && reported.delete(error))) ctx.logger.error('traffic sample failed', { error: (error as Error).message });
        });
      }, sample_interval_s * 1000);
      timer.unref();
    }
    function sample(): Promise<TrafficSampleOutput> {
      pending++;
      const run = samples.then(sampleNow).finally(() => {
        pending--;
        schedule();
      });
      samples = run.catch(() => undefined);
      return run;
    }
    schedule();

    function summaryOf(body: ClashConnections): ClashSummary {
      const open = body.connections ?? [];
      const clients = new Set(open.map((c) => c?.metadata?.sourceIP).filter((ip) => typeof ip === 'string' && ip !== ''));
      return {
        upload_total: body.uploadTotal,
        download_total: body.downloadTotal,
        connections: open.length,
        online_clients: clients.size,
        sampled_at: new Date().toISOString(),
        cached: false,
      };
    }

    return {
      commands: {
        'traffic.sample': () => sample(),
        'traffic.drain': async ({ after_seq, limit }) => {
          const ledger = await openLedger();
          return { ...(await ledger.drain(after_seq, limit)), ledger_id: ledger.ledgerId };
        },
        'traffic.ack': async ({ seq }) => (await openLedger()).ack(seq),
        'traffic.position': async () => {
          const ledger = await openLedger();
          return { head_seq: ledger.headSeq, acked_seq: ledger.ackedSeq, ledger_id: ledger.ledgerId };
        },
        'traffic.totals': async ({ at_seq }) => {
          const ledger = await openLedger();
          const [lastSeq, totals] = at_seq === undefined ? [ledger.headSeq, ledger.totals] : [at_seq, await ledger.totalsAt(at_seq)];
          const users: TrafficTotalsOutput['users'] = {};
          for (const [user, [up, down]] of totals) users[user] = { upload_bytes: up, download_bytes: down };
          return { last_seq: lastSeq, users };
        },

        async summary({ fresh }, { signal }) {
          if (!fresh && lastSummary && Date.now() - lastSummary.at < cache_ttl_s * 1000) {
            return { ...lastSummary.summary, cached: true };
          }
          const summary = summaryOf(await fetchConnections(clash_api, signal));
          lastSummary = { summary, at: Date.now() };
          return summary;
        },

        async connections({ limit }, { signal }) {
          const body = await fetchConnections(clash_api, signal);
          const summary = summaryOf(body);
          lastSummary = { summary, at: Date.now() };
          const views = (body.connections ?? [])
            .filter((c) => c !== null)
            .map(connectionView)
            .sort((a, b) => b.upload + b.download - (a.upload + a.download));
          return {
            upload_total: body.uploadTotal,
            download_total: body.downloadTotal,
            open: summary.connections,
            connections: views.slice(0, limit),
            sampled_at: summary.sampled_at,
          };
        },

        'singbox-contribution': ({ users }) => ({
          experimental: {
            ...(clash_api ? { clash_api: { external_controller: externalController(clash_api.url), secret: clash_api.secret } } : {}),
            v2ray_api: { listen: v2ray_api.listen, stats: { enabled: true as const, users: [...new Set(users)] } },
          },
        }),
      },

      health() {
        if (ledgerError) return { healthy: false, message: `traffic ledger unavailable: ${ledgerError}` };
        if (opened?.failure) return { healthy: false, message: opened.failure };
        const unwritable = warnings.failure('ledger');
        if (unwritable) return { healthy: false, message: `${unwritable.message} (since ${new Date(unwritable.since).toISOString()})` };
        const failure = warnings.failure('v2ray');
        // A skipped sample or two is a reload; several in a row mean traffic is not being recorded.
        if (failure && sample_interval_s > 0 && Date.now() - failure.since > 3 * sample_interval_s * 1000) {
          return { healthy: false, message: `no traffic sample since ${new Date(failure.since).toISOString()}: ${failure.message}` };
        }
        return { healthy: true };
      },

      async stop() {
        stopped = true;
        clearTimeout(timer);
        await samples;
        await (await opening)?.close();
      },
    };
  },
});
