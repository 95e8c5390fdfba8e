// Host and agent metrics: periodic samples read from /proc (cheap enough for the agent's idle
// budget, architecture §7) kept in fixed-size rings and emitted as `sysmetrics.sample` events;
// `current` reads everything at once on demand; an optional Prometheus endpoint.
import { definePlugin, Type } from '../../agent-core/sdk.js';
import { BacklogCounter } from './backlog.js';
import { CurrentInput, CurrentOutput, HistoryInput, HistoryOutput, Sample, type SampleKind } from './contract.js';
import { cpuPercent, rate, readCpuTimes, readDiskIo, readDiskUsage, readMemory, readNetwork, type ByteCounters, type CpuTimes } from './proc.js';
import { serveMetrics, type Metric, type MetricsServer } from './prometheus.js';
import { SampleRing } from './ring.js';

// systeminformation is large; load it with the first sample so an agent that is never asked
// does not carry it (the agent's idle memory budget on a 1 GB node is tight).
type SystemInformation = typeof import('systeminformation');
let si: Promise<SystemInformation> | undefined;
// A CommonJS module: its exports are the namespace's `default` once bundled.
const systeminformation = () =>
  (si ??= import('systeminformation').then((m) => ((m as { default?: SystemInformation }).default ?? m) as SystemInformation));

interface Counters {
  rx: number;
  tx: number;
  at: number;
}

/** Bytes per second between two readings; null when there is no earlier one or a counter went back (reset). */
function ratePerSecond(now: number, before: number | undefined, seconds: number): number | null {
  if (before === undefined || seconds <= 0 || now < before) return null;
  return Math.round((now - before) / seconds);
}

const CPU_MEMORY = ['cpu_percent', 'memory_total_bytes', 'memory_used_bytes', 'memory_available_bytes'] as const;
const DISK_NETWORK = ['disk_total_bytes', 'disk_used_bytes', 'disk_read_per_s', 'disk_write_per_s', 'net_rx_per_s', 'net_tx_per_s'] as const;
/** Upper bound on one ring, whatever history_s / interval says (short test intervals). */
const MAX_RING = 20_000;

const Interval = (fallback: number) =>
  Type.Number({ minimum: 0, maximum: 3600, default: fallback, description: 'Seconds between samples; 0 turns them off.' });

export default definePlugin({
  id: 'sysmetrics',
  version: '0.1.0',
  agent: '>=0.1.0 <1',
  description: 'CPU, memory, disk and network of the node, and the agent process itself.',
  config: Type.Object({
    cpu_memory_interval_s: Interval(30),
    disk_network_interval_s: Interval(60),
    history_s: Type.Integer({ minimum: 1, maximum: 7 * 86_400, default: 86_400, description: 'How far back samples are kept in memory.' }),
    disk_path: Type.String({ minLength: 1, default: '/', description: 'A path on the filesystem whose use is sampled.' }),
    prometheus: Type.Object(
      {
        listen: Type.String({
          default: '',
          pattern: '^$|^(\\[[0-9a-fA-F:]+\\]|[^:\\s]+):[0-9]{1,5}$',
          description: "host:port of GET /metrics, e.g. 127.0.0.1:9101; '' (default) serves none.",
        }),
      },
      { default: {} },
    ),
  }),
  events: {
    sample: { description: 'One periodic sample (every cpu_memory_interval_s or disk_network_interval_s).', schema: Sample },
  },
  commands: {
    current: {
      description: 'Reads CPU, memory, disk, network and agent process metrics now.',
      input: CurrentInput,
      output: CurrentOutput,
      // The first CPU reading needs a 0.5 s baseline, and `df` can be slow on a busy disk.
      timeoutMs: 10_000,
    },
    history: {
      description: 'Periodic samples kept in memory (the last history_s), oldest first.',
      input: HistoryInput,
      output: HistoryOutput,
    },
  },
  async start(ctx) {
    const config = ctx.config;
    let previous: Counters | undefined;
    const capacity = (interval: number) => Math.min(Math.max(Math.ceil(config.history_s / Math.max(interval, 1e-3)), 1), MAX_RING);
    const rings = {
      'cpu-memory': new SampleRing(CPU_MEMORY, capacity(config.cpu_memory_interval_s)),
      'disk-network': new SampleRing(DISK_NETWORK, capacity(config.disk_network_interval_s)),
    };
    const timers: NodeJS.Timeout[] = [];
    const record = (kind: SampleKind, time: number, values: Record<string, number | null>) => {
      (rings[kind] as SampleRing<string>).push(time, values);
      ctx.emit('sample', { kind, time: new Date(time).toISOString(), values });
    };
    // A failing reading is logged once per kind until one succeeds, never fatal.
    const failing = new Set<string>();
    const every = (seconds: number, kind: SampleKind, sample: () => Promise<void>) => {
      if (seconds <= 0) return;
      const timer = setInterval(() => {
        sample().then(
          () => failing.delete(kind),
          (error: Error) => {
            if (!failing.has(kind)) ctx.logger.warn('sample failed', { kind, error: error.message });
            failing.add(kind);
          },
        );
      }, seconds * 1000);
      timer.unref();
      timers.push(timer);
    };

    let cpu: CpuTimes = await readCpuTimes().catch(() => ({ busy: 0, total: 0 }));
    every(config.cpu_memory_interval_s, 'cpu-memory', async () => {
      const [times, memory] = await Promise.all([readCpuTimes(), readMemory()]);
      const percent = cpuPercent(times, cpu);
      cpu = times;
      record('cpu-memory', Date.now(), {
        cpu_percent: percent,
        memory_total_bytes: memory.total_bytes,
        memory_used_bytes: memory.total_bytes - memory.available_bytes,
        memory_available_bytes: memory.available_bytes,
      });
    });

    let io: { at: number; disk: ByteCounters; net: ByteCounters } | undefined;
    const readIo = async () => ({ at: Date.now(), disk: await readDiskIo(), net: await readNetwork() });
    io = await readIo().catch(() => undefined);
    every(config.disk_network_interval_s, 'disk-network', async () => {
      const [now, usage] = await Promise.all([readIo(), readDiskUsage(config.disk_path)]);
      const seconds = io ? (now.at - io.at) / 1000 : 0;
      const per = (key: 'disk' | 'net', side: keyof ByteCounters) => (io ? rate(now[key][side], io[key][side], seconds) : null);
      const values = {
        disk_total_bytes: usage.total_bytes,
        disk_used_bytes: usage.used_bytes,
        disk_read_per_s: per('disk', 'rx'),
        disk_write_per_s: per('disk', 'tx'),
        net_rx_per_s: per('net', 'rx'),
        net_tx_per_s: per('net', 'tx'),
      };
      io = now;
      record('disk-network', now.at, values);
    });

    const backlog = new BacklogCounter(
      () => ctx.call('clash-stats.traffic.position', {}),
      (input) => ctx.call('clash-stats.traffic.drain', input),
    );
    const collect = async (): Promise<Metric[]> => {
      const node = { node: ctx.nodeId };
      const [memory, times, net, disk, usage, summary, ledger, singbox] = await Promise.allSettled([
        readMemory(),
        readCpuTimes(),
        readNetwork(),
        readDiskIo(),
        readDiskUsage(config.disk_path),
        ctx.call<{ upload_total: number; download_total: number; connections: number; online_clients: number }>('clash-stats.summary', {}),
        backlog.read(),
        ctx.call<{ running: boolean; restarts: number; reloads: number; last_apply_ok: boolean | null }>('singbox-config.process', {}),
      ]);
      const ok = <T>(r: PromiseSettledResult<T>) => (r.status === 'fulfilled' ? r.value : undefined);
      const gauge = (name: string, help: string, value: number | null | undefined, labels: Record<string, string> = {}): Metric => ({
        name, help, type: 'gauge', samples: [{ labels: { ...node, ...labels }, value: value ?? null }],
      });
      const counter = (name: string, help: string, value: number | null | undefined): Metric => ({ ...gauge(name, help, value), type: 'counter' });
      const cpuSample = rings['cpu-memory'].latest();
      const proc = process.memoryUsage();
      const used = process.cpuUsage();
      const s = ok(summary);
      const l = ok(ledger);
      const p = ok(singbox);
      const flag = (value: boolean | null | undefined) => (value === undefined || value === null ? null : Number(value));
      return [
        gauge('boxfleet_node_cpu_percent', 'Node CPU busy percent over the last cpu-memory sample interval.', cpuSample?.values.cpu_percent),
        counter('boxfleet_node_cpu_busy_ticks_total', 'Node CPU time spent busy, in clock ticks (USER_HZ), all cores.', ok(times)?.busy),
        counter('boxfleet_node_cpu_ticks_total', 'Node CPU time in total, in clock ticks (USER_HZ), all cores.', ok(times)?.total),
        gauge('boxfleet_node_memory_total_bytes', 'Node memory (MemTotal).', ok(memory)?.total_bytes),
        gauge('boxfleet_node_memory_available_bytes', 'Node memory available (MemAvailable).', ok(memory)?.available_bytes),
        gauge('boxfleet_node_memory_used_bytes', 'Node memory used: total - available.', ok(memory) && ok(memory)!.total_bytes - ok(memory)!.available_bytes),
        gauge('boxfleet_node_disk_total_bytes', 'Size of the filesystem holding disk_path.', ok(usage)?.total_bytes, { path: config.disk_path }),
        gauge('boxfleet_node_disk_used_bytes', 'Use of the filesystem holding disk_path.', ok(usage)?.used_bytes, { path: config.disk_path }),
        counter('boxfleet_node_disk_read_bytes_total', 'Bytes read from physical disks.', ok(disk)?.rx),
        counter('boxfleet_node_disk_written_bytes_total', 'Bytes written to physical disks.', ok(disk)?.tx),
        counter('boxfleet_node_network_receive_bytes_total', 'Bytes received on every interface but loopback.', ok(net)?.rx),
        counter('boxfleet_node_network_transmit_bytes_total', 'Bytes sent on every interface but loopback.', ok(net)?.tx),
        gauge('boxfleet_singbox_up', '1 when the Clash API answered clash-stats.summary (possibly cached), else 0.', s ? 1 : 0),
        counter('boxfleet_singbox_upload_bytes_total', 'Bytes clients uploaded since sing-box last started (Clash API).', s?.upload_total),
        counter('boxfleet_singbox_download_bytes_total', 'Bytes clients downloaded since sing-box last started (Clash API).', s?.download_total),
        gauge('boxfleet_singbox_connections', 'Open connections through sing-box.', s?.connections),
        gauge('boxfleet_singbox_online_clients', 'Distinct client IPs with an open connection.', s?.online_clients),
        gauge('boxfleet_singbox_running', '1 while the sing-box process singbox-config runs (or its systemd unit) is alive.', flag(p?.running)),
        counter('boxfleet_singbox_restarts_total', 'Times sing-box was started again after it died on its own, since the agent started.', p?.restarts),
        counter('boxfleet_singbox_reloads_total', 'Reloads and starts singbox-config made, since the agent started.', p?.reloads),
        gauge('boxfleet_singbox_last_apply_success', '1 when the last config or users apply succeeded, 0 when it failed and was rolled back.', flag(p?.last_apply_ok)),
        gauge('boxfleet_agent_resident_memory_bytes', 'The agent process RSS.', proc.rss),
        gauge('boxfleet_agent_heap_used_bytes', 'The agent process V8 heap in use.', proc.heapUsed),
        counter('boxfleet_agent_cpu_seconds_total', 'CPU time of the agent process, user + system.', (used.user + used.system) / 1e6),
        gauge('boxfleet_ledger_backlog_entries', 'Traffic ledger entries the hub has not acknowledged yet.', l?.entries),
        gauge('boxfleet_ledger_backlog_bytes', 'Upload + download bytes in those entries (a lower bound while boxfleet_ledger_backlog_complete is 0).', l?.bytes),
        gauge('boxfleet_ledger_backlog_complete', '1 when the backlog bytes are fully counted.', l ? Number(l.complete) : null),
      ];
    };
    // An endpoint that cannot listen (port taken) leaves sampling running and the plugin unhealthy.
    let server: MetricsServer | undefined;
    let serverError: string | undefined;
    if (config.prometheus.listen) {
      try {
        server = await serveMetrics(config.prometheus.listen, collect);
        ctx.logger.info('prometheus metrics served', { listen: config.prometheus.listen, port: server.port });
      } catch (error) {
        serverError = (error as Error).message;
        ctx.logger.error('prometheus metrics not served', { error: serverError });
      }
    }

    return {
      async stop() {
        for (const timer of timers) clearInterval(timer);
        await server?.close();
      },
      health() {
        if (serverError) return { healthy: false, message: serverError };
        if (failing.size > 0) return { healthy: false, message: `sampling failed: ${[...failing].join(', ')} (see the log)` };
        return { healthy: true };
      },
      commands: {
        history({ from, to, kind }) {
          const lo = from ? Date.parse(from) : -Infinity;
          const hi = to ? Date.parse(to) : Infinity;
          const kinds = kind ? [kind] : (['cpu-memory', 'disk-network'] as const);
          const samples = kinds
            .flatMap((k) => (rings[k] as SampleRing<string>).range(lo, hi).map((s) => ({ kind: k, time: s.time, values: s.values })))
            .sort((a, b) => a.time - b.time)
            .map((s) => ({ ...s, time: new Date(s.time).toISOString() }));
          return { samples };
        },
        async current() {
          const si = await systeminformation();
          const [load, mem, filesystems, interfaces, stats] = await Promise.all([
            si.currentLoad(),
            si.mem(),
            si.fsSize(),
            si.networkInterfaces(),
            si.networkStats('*'),
          ]);

          // The filesystem holding '/', or the largest one where '/' is not listed (some containers).
          const disk = filesystems.find((fs) => fs.mount === '/') ?? [...filesystems].sort((a, b) => b.size - a.size)[0];

          // Loopback traffic is the agent talking to itself, not node traffic.
          const internal = new Set(interfaces.filter((i) => i.internal).map((i) => i.iface));
          const external = stats.filter((s) => !internal.has(s.iface));
          const now: Counters = {
            rx: external.reduce((sum, s) => sum + s.rx_bytes, 0),
            tx: external.reduce((sum, s) => sum + s.tx_bytes, 0),
            at: Date.now(),
          };
          const seconds = previous ? (now.at - previous.at) / 1000 : 0;
          const network = {
            rx_bytes: now.rx,
            tx_bytes: now.tx,
            rx_per_s: ratePerSecond(now.rx, previous?.rx, seconds),
            tx_per_s: ratePerSecond(now.tx, previous?.tx, seconds),
          };
          previous = now;

          const agent = process.memoryUsage();
          return {
            cpu: {
              load_percent: Math.round(Math.min(Math.max(load.currentLoad, 0), 100) * 10) / 10,
              cores: Math.max(load.cpus.length, 1),
            },
            memory: {
              total_bytes: mem.total,
              // total - available, like `free`: page cache the kernel can drop is not "used".
              used_bytes: mem.total - mem.available,
              available_bytes: mem.available,
            },
            disk: disk ? { mount: disk.mount, total_bytes: disk.size, used_bytes: disk.used } : null,
            network,
            agent: {
              rss_bytes: agent.rss,
              heap_used_bytes: agent.heapUsed,
              uptime_s: Math.round(process.uptime()),
            },
            sampled_at: new Date(now.at).toISOString(),
          };
        },
      },
    };
  },
});
