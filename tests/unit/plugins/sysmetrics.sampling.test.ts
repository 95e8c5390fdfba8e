import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import { definePlugin, FailedPreconditionError, Type } from '../../../agent-core/sdk.js';
import sysmetrics from '../../../plugins/sysmetrics/index.js';
import { formatMetrics } from '../../../plugins/sysmetrics/prometheus.js';
import { SampleRing } from '../../../plugins/sysmetrics/ring.js';

interface Sample {
  kind: 'cpu-memory' | 'disk-network';
  time: string;
  values: Record<string, number | null>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A stand-in for clash-stats: a ledger of `head` entries of 100 bytes each, acknowledged up to `acked`.
const ledger = { head: 25_000, acked: 0, drains: 0 };
const fakeClashStats = definePlugin({
  id: 'clash-stats',
  version: '0.0.1',
  agent: '>=0.1.0 <1',
  commands: {
    summary: { description: 'x', input: Type.Object({}), output: Type.Any() },
    'traffic.drain': {
      description: 'x',
      input: Type.Object({ after_seq: Type.Integer(), limit: Type.Integer() }),
      output: Type.Any(),
    },
    'traffic.position': { description: 'x', input: Type.Object({}), output: Type.Any() },
  },
  start: () => ({
    commands: {
      summary: () => ({ upload_total: 123, download_total: 456, connections: 2, online_clients: 1, sampled_at: new Date().toISOString(), cached: false }),
      'traffic.position': () => ({ head_seq: ledger.head, acked_seq: ledger.acked }),
      'traffic.drain': ({ after_seq, limit }) => {
        ledger.drains += 1;
        if (after_seq < ledger.acked) throw new FailedPreconditionError(`after_seq ${after_seq} is below acked_seq ${ledger.acked}: gone`);
        const entries = [];
        for (let seq = after_seq + 1; seq <= Math.min(ledger.head, after_seq + limit); seq++) {
          entries.push({ seq, time: new Date().toISOString(), user: 'u', upload_bytes: 40, download_bytes: 60 });
        }
        return { entries, head_seq: ledger.head, acked_seq: ledger.acked };
      },
    },
  }),
});

// A stand-in for singbox-config: a sing-box that died on its own twice and whose last apply was rolled back.
const fakeSingboxConfig = definePlugin({
  id: 'singbox-config',
  version: '0.0.1',
  agent: '>=0.1.0 <1',
  commands: { process: { description: 'x', input: Type.Object({}), output: Type.Any() } },
  start: () => ({
    commands: {
      process: () => ({ running: true, since: new Date().toISOString(), restarts: 2, reloads: 5, last_apply_ok: false }),
    },
  }),
});

describe('SampleRing', () => {
  it('keeps only the last `capacity` samples, oldest first, with nulls kept', () => {
    const ring = new SampleRing(['a', 'b'], 3);
    for (let t = 1; t <= 5; t++) ring.push(t, { a: t, b: t === 5 ? null : -t });
    expect(ring.length).toBe(3);
    expect(ring.range().map((s) => s.time)).toEqual([3, 4, 5]);
    expect(ring.latest()).toEqual({ time: 5, values: { a: 5, b: null } });
    expect(ring.range(4, 4)).toEqual([{ time: 4, values: { a: 4, b: -4 } }]);
  });
});

describe('formatMetrics', () => {
  it('writes HELP, TYPE and labelled samples, leaving out null values', () => {
    const text = formatMetrics([
      { name: 'x_total', help: 'X.', type: 'counter', samples: [{ labels: { node: 'a"b' }, value: 3 }] },
      { name: 'y', help: 'Y.', type: 'gauge', samples: [{ value: null }] },
    ]);
    expect(text).toBe('# HELP x_total X.\n# TYPE x_total counter\nx_total{node="a\\"b"} 3\n');
  });
});

describe('sysmetrics sampling', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await createHarness([sysmetrics, fakeClashStats, fakeSingboxConfig], {
      nodeId: 'unit-node',
      config: {
        sysmetrics: { cpu_memory_interval_s: 0.1, disk_network_interval_s: 0.2, history_s: 1, prometheus: { listen: '127.0.0.1:0' } },
      },
    });
  });
  afterAll(() => harness.close());

  it('emits a cpu-memory sample every interval and a disk-network sample every other', async () => {
    const first = await harness.nextEvent('sysmetrics.sample', 1000);
    await sleep(1000);
    const samples = harness.events.filter((e) => e.name === 'sysmetrics.sample').map((e) => e.payload as Sample);
    const cpu = samples.filter((s) => s.kind === 'cpu-memory');
    const io = samples.filter((s) => s.kind === 'disk-network');
    expect(first.time).toBeGreaterThan(0);
    expect(cpu.length).toBeGreaterThanOrEqual(5);
    expect(cpu.length).toBeLessThanOrEqual(13);
    expect(io.length).toBeGreaterThanOrEqual(2);
    expect(io.length).toBeLessThanOrEqual(7);
    const c = cpu.at(-1)!.values;
    expect(c.cpu_percent).toBeGreaterThanOrEqual(0);
    expect(c.cpu_percent).toBeLessThanOrEqual(100);
    expect(c.memory_used_bytes! + c.memory_available_bytes!).toBe(c.memory_total_bytes);
    const d = io.at(-1)!.values;
    expect(d.disk_total_bytes).toBeGreaterThan(0);
    expect(d.net_rx_per_s).toBeGreaterThanOrEqual(0);
  });

  it('keeps history bounded to history_s and filters it by kind and time', async () => {
    await sleep(1200);
    const all = await harness.execute<{ samples: Sample[] }>('sysmetrics.history', {});
    const cpu = all.samples.filter((s) => s.kind === 'cpu-memory');
    // history_s 1 at 0.1 s: a ring of 10; at 0.2 s: a ring of 5 — however long it runs.
    expect(cpu.length).toBe(10);
    expect(all.samples.filter((s) => s.kind === 'disk-network').length).toBe(5);
    const times = all.samples.map((s) => Date.parse(s.time));
    expect(times).toEqual([...times].sort((a, b) => a - b));

    const only = await harness.execute<{ samples: Sample[] }>('sysmetrics.history', { kind: 'disk-network' });
    expect(only.samples.every((s) => s.kind === 'disk-network')).toBe(true);
    const from = cpu.at(-3)!.time;
    const recent = await harness.execute<{ samples: Sample[] }>('sysmetrics.history', { kind: 'cpu-memory', from });
    expect(recent.samples.length).toBeGreaterThanOrEqual(3);
    expect(recent.samples.every((s) => s.time >= from)).toBe(true);
  });

  it('serves Prometheus metrics: node, sing-box, agent process and ledger backlog', async () => {
    const line = harness.logs.find((l) => l.msg === 'prometheus metrics served')!;
    const url = `http://127.0.0.1:${line.meta.port as number}/metrics`;
    const scrape = async () => (await fetch(url)).text();
    const value = (text: string, name: string) => Number(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[2]);

    const text = await scrape();
    expect(text).toContain('# TYPE boxfleet_node_cpu_percent gauge');
    expect(text).toMatch(/^boxfleet_node_cpu_percent\{node="unit-node"\} [\d.]+$/m);
    expect(value(text, 'boxfleet_node_memory_total_bytes')).toBeGreaterThan(0);
    expect(value(text, 'boxfleet_singbox_upload_bytes_total')).toBe(123);
    expect(value(text, 'boxfleet_singbox_online_clients')).toBe(1);
    expect(text).toMatch(/^boxfleet_singbox_running\{node="unit-node"\} 1$/m);
    expect(text).toContain('# TYPE boxfleet_singbox_restarts_total counter');
    expect(value(text, 'boxfleet_singbox_restarts_total')).toBe(2);
    expect(value(text, 'boxfleet_singbox_reloads_total')).toBe(5);
    expect(value(text, 'boxfleet_singbox_last_apply_success')).toBe(0);
    expect(value(text, 'boxfleet_agent_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value(text, 'boxfleet_agent_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value(text, 'boxfleet_ledger_backlog_entries')).toBe(25_000);
    // 25,000 entries in pages of 10,000: counted in one scrape (up to 5 pages).
    expect(value(text, 'boxfleet_ledger_backlog_bytes')).toBe(2_500_000);
    expect(value(text, 'boxfleet_ledger_backlog_complete')).toBe(1);

    // New entries are counted from where the last scrape stopped; an ack starts the count afresh.
    ledger.head += 10;
    let drains = ledger.drains;
    expect(value(await scrape(), 'boxfleet_ledger_backlog_bytes')).toBe(2_501_000);
    expect(ledger.drains - drains).toBe(1);
    ledger.acked = 25_000;
    drains = ledger.drains;
    const acked = await scrape();
    expect(value(acked, 'boxfleet_ledger_backlog_entries')).toBe(10);
    expect(value(acked, 'boxfleet_ledger_backlog_bytes')).toBe(1000);
  });

  it('answers 404 to anything but GET /metrics', async () => {
    const line = harness.logs.find((l) => l.msg === 'prometheus metrics served')!;
    expect((await fetch(`http://127.0.0.1:${line.meta.port as number}/other`)).status).toBe(404);
  });
});

describe('sysmetrics without clash-stats and singbox-config', () => {
  it('serves node metrics and leaves sing-box and ledger figures out', async () => {
    const harness = await createHarness(sysmetrics, { config: { sysmetrics: { prometheus: { listen: '127.0.0.1:0' } } } });
    try {
      const port = harness.logs.find((l) => l.msg === 'prometheus metrics served')!.meta.port as number;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^boxfleet_node_memory_total_bytes\{node="harness"\} \d+$/m);
      expect(text).toMatch(/^boxfleet_singbox_up\{node="harness"\} 0$/m);
      expect(text).not.toContain('boxfleet_ledger_backlog_entries');
      expect(text).not.toContain('boxfleet_singbox_running');
      expect(text).not.toContain('boxfleet_singbox_restarts_total');
    } finally {
      await harness.close();
    }
  });
});

describe('sysmetrics with its Prometheus port taken', () => {
  it('keeps sampling and reports itself unhealthy, naming the address', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const harness = await createHarness(sysmetrics, {
      config: { sysmetrics: { cpu_memory_interval_s: 0.1, prometheus: { listen: `127.0.0.1:${port}` } } },
    });
    try {
      const [status] = await harness.describe();
      expect(status).toMatchObject({ state: 'running', healthy: false });
      expect(status!.message).toContain(`prometheus.listen 127.0.0.1:${port}: listen EADDRINUSE`);
      await harness.nextEvent('sysmetrics.sample', 1000);
    } finally {
      await harness.close();
      blocker.close();
    }
  });
});
