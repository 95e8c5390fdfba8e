// Host and agent metrics. Nothing runs on a timer yet: numbers are read only when a command asks,
// so an idle agent costs nothing here (it must idle under 1% CPU on one vCPU).
import { definePlugin, Type } from '../../agent-core/sdk.js';

// systeminformation is large; load it with the first sample so an agent that is never asked
// does not carry it (the agent's idle memory budget on a 1 GB node is tight).
type SystemInformation = typeof import('systeminformation');
let si: Promise<SystemInformation> | undefined;
// A CommonJS module: its exports are the namespace's `default` once bundled.
const systeminformation = () =>
  (si ??= import('systeminformation').then((m) => ((m as { default?: SystemInformation }).default ?? m) as SystemInformation));

const Bytes = Type.Integer({ minimum: 0 });
const Rate = Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
  description: 'Bytes per second since the previous sample; null on the first.',
});

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

export default definePlugin({
  id: 'sysmetrics',
  version: '0.1.0',
  agent: '>=0.1.0 <1',
  description: 'CPU, memory, disk and network of the node, and the agent process itself.',
  commands: {
    current: {
      description: 'Reads CPU, memory, disk, network and agent process metrics now.',
      input: Type.Object({}),
      output: Type.Object({
        cpu: Type.Object({
          load_percent: Type.Number({ minimum: 0, maximum: 100, description: 'Average over all cores since the previous sample.' }),
          cores: Type.Integer({ minimum: 1 }),
        }),
        memory: Type.Object({ total_bytes: Bytes, used_bytes: Bytes, available_bytes: Bytes }),
        disk: Type.Union([Type.Object({ mount: Type.String(), total_bytes: Bytes, used_bytes: Bytes }), Type.Null()], {
          description: "The filesystem holding '/' (else the largest); null when none could be read.",
        }),
        network: Type.Object({ rx_bytes: Bytes, tx_bytes: Bytes, rx_per_s: Rate, tx_per_s: Rate }),
        agent: Type.Object({ rss_bytes: Bytes, heap_used_bytes: Bytes, uptime_s: Type.Integer({ minimum: 0 }) }),
        sampled_at: Type.String({ format: 'date-time' }),
      }),
      // The first CPU reading needs a 0.5 s baseline, and `df` can be slow on a busy disk.
      timeoutMs: 10_000,
    },
  },
  start() {
    let previous: Counters | undefined;

    return {
      commands: {
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
