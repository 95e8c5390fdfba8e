// Connectivity, latency and reach checks from the node: probes on a schedule (agent.yaml) and on
// demand, unlock checks (does a streaming or AI service serve this node), and the node's inventory.
// The schedule is one timer; unlock checks and the inventory load their code when they first run.
import { definePlugin, Type, type Static } from '../../agent-core/sdk.js';
import {
  DnsInput,
  HttpInput,
  Inventory,
  InventoryInput,
  MAX_TIMEOUT_MS,
  ProbeEvent,
  ProbeKind,
  ProbeOutcome,
  ResultsInput,
  ResultsOutput,
  TcpInput,
  UnlockCheck,
  UnlockInput,
  UnlockReport,
  type ProbeEntry,
} from './contract.js';
import { probeDns, probeHttp, probeTcp, runProbe, serverAddress, targetOf, type ProbeSpec } from './probes.js';
import { Ring, Schedule, type Task } from './schedule.js';
import { pinnedLookup, resolveAll, targetGuard } from './targets.js';
import type { UnlockTaskInput } from './unlock.js';

const Probe = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$', description: 'Unique; names the probe in results and events.' }),
  kind: ProbeKind,
  host: Type.Optional(TcpInput.properties.host),
  port: Type.Optional(TcpInput.properties.port),
  url: Type.Optional(HttpInput.properties.url),
  record: DnsInput.properties.record,
  server: DnsInput.properties.server,
  expect_status: HttpInput.properties.expect_status,
  interval_s: Type.Number({ minimum: 1, maximum: 86_400, default: 60 }),
  timeout_ms: TcpInput.properties.timeout_ms,
});

const UNLOCK_TIMEOUT_MAX = 15_000;
/** Inside the unlock command's own deadline, so a stuck run fails with its own message. */
const UNLOCK_TASK_TIMEOUT_MS = 4 * UNLOCK_TIMEOUT_MAX + 3000;
const INVENTORY_KEPT_MS = 3_600_000;
const INVENTORY_START_DELAY_MS = 10_000;
/** Inside the inventory command's own deadline (30 s), so a stuck gathering fails with its own message. */
const INVENTORY_TASK_TIMEOUT_MS = 25_000;
const Config = Type.Object({
  probes: Type.Array(Probe, { maxItems: 100, default: [], description: 'Scheduled probes; none by default.' }),
  history: Type.Integer({ minimum: 1, maximum: 1440, default: 60, description: 'Results kept per probe (a fixed ring).' }),
  allow_private_targets: Type.Boolean({ default: false, description: 'Let probe commands reach loopback, link-local and private addresses.' }),
  allowed_cidrs: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100, default: [], description: 'Non-public CIDRs probe commands may reach all the same.' }),
  unlock: Type.Object(
    {
      interval_s: Type.Number({ minimum: 0, maximum: 7 * 86_400, default: 21_600, description: 'Seconds between scheduled unlock runs; 0: only on command.' }),
      first_run_s: Type.Number({ minimum: 0, maximum: 86_400, default: 600, description: 'Seconds after start of the first scheduled run.' }),
      timeout_ms: Type.Integer({ minimum: 1, maximum: UNLOCK_TIMEOUT_MAX, default: 8000, description: 'Per request of a check.' }),
      checks: Type.Record(Type.String({ pattern: '^[a-z0-9_-]{1,64}$' }), Type.Union([Type.Null(), Type.Partial(UnlockCheck)]), {
        default: {},
        description: 'By check id: fields replacing the bundled check’s, a whole new check, or null to turn one off.',
      }),
    },
    { default: {} },
  ),
  inventory_at_start: Type.Boolean({ default: true, description: 'Gather the inventory 10 s after the agent starts (loads systeminformation).' }),
});
type Config = Static<typeof Config>;

/** Refuses at start what the schema cannot say: the fields each kind needs, unique names, regexes that compile. */
function checkConfig(config: Config): void {
  const names = new Set<string>();
  config.probes.forEach((p, i) => {
    const where = `probes[${i}] (${p.name})`;
    if (names.has(p.name)) throw new Error(`${where}: the name is taken by another probe`);
    names.add(p.name);
    if (p.kind === 'tcp' && (p.host === undefined || p.port === undefined)) throw new Error(`${where}: a tcp probe needs host and port`);
    if (p.kind === 'http' && p.url === undefined) throw new Error(`${where}: an http probe needs url`);
    if (p.kind === 'dns' && p.host === undefined) throw new Error(`${where}: a dns probe needs host`);
  });
  for (const [id, check] of Object.entries(config.unlock.checks)) {
    const sources = [...(check?.rules ?? []).flatMap((r) => [r.status, r.location, r.final_url, r.body]), ...(check?.region ?? []).map((r) => r.regex)];
    for (const source of sources) {
      if (source === undefined) continue;
      try {
        new RegExp(source);
      } catch (error) {
        throw new Error(`unlock.checks.${id}: ${(error as Error).message}`);
      }
    }
  }
}

export default definePlugin({
  id: 'health-probe',
  version: '0.2.0',
  agent: '>=0.1.0 <1',
  description: 'Connectivity, latency and unlock checks from the node, and its inventory.',
  config: Config,
  events: {
    result: { description: 'One scheduled probe ran.', schema: ProbeEvent },
    unlock: { description: 'The unlock checks ran (on schedule or by command).', schema: UnlockReport },
  },
  commands: {
    tcp: {
      description: 'Opens a TCP connection to host:port and reports how long it took, then closes it.',
      input: TcpInput,
      output: ProbeOutcome,
      role: 'operator',
      // Room for the longest probe the input allows, so it ends with its own "timed out" result.
      timeoutMs: MAX_TIMEOUT_MS + 1000,
    },
    http: {
      description: 'GETs a URL (no redirects followed) and reports its status and how long the answer took.',
      input: HttpInput,
      output: ProbeOutcome,
      role: 'operator',
      timeoutMs: MAX_TIMEOUT_MS + 1000,
    },
    dns: {
      description: "Resolves a name's A or AAAA records with the node's DNS servers and reports how long it took.",
      input: DnsInput,
      output: ProbeOutcome,
      role: 'operator',
      timeoutMs: MAX_TIMEOUT_MS + 1000,
    },
    results: {
      description: 'The scheduled probes with their latest results and history, and the last unlock run.',
      input: ResultsInput,
      output: ResultsOutput,
    },
    unlock: {
      description: 'Runs the unlock checks now (all, or those named): which streaming and AI services serve this node.',
      input: UnlockInput,
      output: UnlockReport,
      role: 'operator',
      // Up to 4 requests one after the other per check, the checks in parallel.
      timeoutMs: 4 * UNLOCK_TIMEOUT_MAX + 5000,
    },
    inventory: {
      description: "The node's OS, kernel, virtualization, CPU, memory, disks, file systems and network interfaces.",
      input: InventoryInput,
      output: Inventory,
      // systeminformation runs a few system tools the first time.
      timeoutMs: 30_000,
    },
  },
  // Rare work that loads much runs in a process of its own that takes it along when it ends:
  // systeminformation (about 2–3 MB of an agent's memory once loaded, code and caches that would
  // stay) and the unlock checks (their rules, HTTP clients and TLS sessions, every six hours).
  tasks: {
    inventory: async () => (await import('./inventory.js')).gatherInventory(),
    unlock: async (input) => {
      const { checks, only, timeout_ms } = input as UnlockTaskInput;
      return (await import('./unlock.js')).runUnlockChecks(checks, only, timeout_ms, new AbortController().signal);
    },
  },
  async start(ctx) {
    const config = ctx.config;
    checkConfig(config);
    const check = targetGuard(config);

    const probes = config.probes.map((p) => ({ spec: p as ProbeSpec, target: targetOf(p as ProbeSpec), ring: new Ring<ProbeEntry>(config.history) }));
    const tasks: Task[] = probes.map((probe) => ({
      intervalMs: probe.spec.interval_s * 1000,
      firstAt: Date.now(),
      async run() {
        const outcome = await runProbe(probe.spec, ctx.signal);
        const entry: ProbeEntry = { time: new Date().toISOString(), ...outcome };
        probe.ring.push(entry);
        ctx.emit('result', { name: probe.spec.name, kind: probe.spec.kind, target: probe.target, ...entry });
      },
    }));

    let lastUnlock: UnlockReport | null = null;
    const unlock = async (only?: readonly string[]) => {
      const input: UnlockTaskInput = { checks: config.unlock.checks, only, timeout_ms: config.unlock.timeout_ms };
      const report = await ctx.runTask<UnlockReport>('unlock', input, { timeoutMs: UNLOCK_TASK_TIMEOUT_MS });
      // A run of some checks replaces theirs in the last report and keeps the others'.
      const ran = new Set(report.results.map((r) => r.id));
      const kept = (lastUnlock?.results ?? []).filter((r) => !ran.has(r.id));
      lastUnlock = { checked_at: report.checked_at, results: [...kept, ...report.results] };
      ctx.emit('unlock', lastUnlock);
      return report;
    };
    if (config.unlock.interval_s > 0) {
      tasks.push({ intervalMs: config.unlock.interval_s * 1000, firstAt: Date.now() + config.unlock.first_run_s * 1000, run: () => unlock().then(() => undefined) });
    }

    const schedule = new Schedule(tasks, (error) => ctx.logger.warn('scheduled check failed', { error: error.message }));
    schedule.start();

    // The inventory changes with a reinstall or an upgrade: one gathered within the hour is answered as it is.
    let lastInventory: { at: number; inventory: Promise<Inventory> } | undefined;
    const inventory = (fresh = false) => {
      if (fresh || !lastInventory || Date.now() - lastInventory.at > INVENTORY_KEPT_MS) {
        const gathered = ctx.runTask<Inventory>('inventory', {}, { timeoutMs: INVENTORY_TASK_TIMEOUT_MS });
        lastInventory = { at: Date.now(), inventory: gathered };
        gathered.catch(() => (lastInventory = undefined));
      }
      return lastInventory.inventory;
    };
    // A few seconds after start, not during it: the task's process and systeminformation's tools
    // would compete with the agent's own start for the CPU.
    const atStart = config.inventory_at_start
      ? setTimeout(() => inventory().catch((error: Error) => ctx.logger.warn('inventory not gathered', { error: error.message })), INVENTORY_START_DELAY_MS).unref()
      : undefined;

    /**
     * Resolves an operator's target, checks every address (a refused one is an error naming it),
     * then probes those addresses; a name that does not resolve is a failed probe.
     */
    const reach = async (host: string, port: number | string, probe: (lookup: ReturnType<typeof pinnedLookup>) => Promise<ProbeOutcome>) => {
      let addresses;
      try {
        addresses = await resolveAll(host);
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        return { ok: false, error: `${e.code ?? e.message} ${host}:${port}` };
      }
      for (const { address } of addresses) check(address);
      return probe(pinnedLookup(addresses));
    };

    return {
      stop() {
        schedule.stop();
        clearTimeout(atStart);
      },
      commands: {
        tcp: ({ host, port, timeout_ms }, { signal }) => reach(host, port, (lookup) => probeTcp(host, port, timeout_ms, signal, lookup)),
        http: ({ url, expect_status, timeout_ms }, { signal }) => {
          const { hostname, port, protocol } = new URL(url);
          const host = hostname.replace(/^\[(.*)\]$/, '$1');
          return reach(host, port || (protocol === 'https:' ? 443 : 80), (lookup) => probeHttp(url, expect_status, timeout_ms, signal, lookup));
        },
        // A lookup connects to nothing but a DNS server, so only a server given here is checked.
        dns: ({ host, record, server, timeout_ms }) => {
          if (server) check(serverAddress(server));
          return probeDns(host, record, timeout_ms, server);
        },
        results: ({ name, limit }) => ({
          probes: probes
            .filter((p) => name === undefined || p.spec.name === name)
            .map((p) => ({
              name: p.spec.name,
              kind: p.spec.kind,
              target: p.target,
              interval_s: p.spec.interval_s,
              latest: p.ring.latest() ?? null,
              history: p.ring.list(limit),
            })),
          unlock: lastUnlock,
        }),
        unlock: ({ checks }) => unlock(checks),
        inventory: ({ fresh }) => inventory(fresh),
      },
    };
  },
});
