import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import sysmetrics from '../../../plugins/sysmetrics/index.js';

interface Metrics {
  cpu: { load_percent: number; cores: number };
  memory: { total_bytes: number; used_bytes: number; available_bytes: number };
  disk: { mount: string; total_bytes: number; used_bytes: number } | null;
  network: { rx_bytes: number; tx_bytes: number; rx_per_s: number | null; tx_per_s: number | null };
  agent: { rss_bytes: number; heap_used_bytes: number; uptime_s: number };
  sampled_at: string;
}

// These read the real machine, so they check plausibility, not exact values.
describe('sysmetrics.current', () => {
  let harness: Harness;
  let first: Metrics;

  beforeAll(async () => {
    harness = await createHarness(sysmetrics);
    first = await harness.execute<Metrics>('sysmetrics.current');
  });
  afterAll(() => harness.close());

  it('reports CPU load as a percentage over at least one core', () => {
    expect(first.cpu.cores).toBeGreaterThanOrEqual(1);
    expect(first.cpu.load_percent).toBeGreaterThanOrEqual(0);
    expect(first.cpu.load_percent).toBeLessThanOrEqual(100);
  });

  it('reports memory with used and available within the total', () => {
    const { total_bytes, used_bytes, available_bytes } = first.memory;
    expect(total_bytes).toBeGreaterThan(0);
    expect(used_bytes).toBeGreaterThan(0);
    expect(used_bytes).toBeLessThanOrEqual(total_bytes);
    expect(available_bytes).toBeLessThanOrEqual(total_bytes);
    expect(used_bytes + available_bytes).toBe(total_bytes);
  });

  it('reports the size and use of the root (or largest) filesystem', () => {
    expect(first.disk).not.toBeNull();
    expect(first.disk!.mount).toMatch(/^\//);
    expect(first.disk!.total_bytes).toBeGreaterThan(0);
    expect(first.disk!.used_bytes).toBeLessThanOrEqual(first.disk!.total_bytes);
  });

  it('reports the agent process itself', () => {
    expect(first.agent.rss_bytes).toBeGreaterThan(first.agent.heap_used_bytes);
    expect(first.agent.heap_used_bytes).toBeGreaterThan(0);
    expect(first.agent.uptime_s).toBeGreaterThanOrEqual(0);
    expect(Math.abs(first.agent.uptime_s - process.uptime())).toBeLessThan(60);
  });

  it('gives network totals but no rates on the first sample, and rates from the second on', async () => {
    expect(first.network.rx_bytes).toBeGreaterThanOrEqual(0);
    expect(first.network.tx_bytes).toBeGreaterThanOrEqual(0);
    expect(first.network.rx_per_s).toBeNull();
    expect(first.network.tx_per_s).toBeNull();

    await new Promise((resolve) => setTimeout(resolve, 250));
    const second = await harness.execute<Metrics>('sysmetrics.current');
    expect(second.network.rx_bytes).toBeGreaterThanOrEqual(first.network.rx_bytes);
    expect(second.network.tx_bytes).toBeGreaterThanOrEqual(first.network.tx_bytes);
    expect(second.network.rx_per_s).toBeGreaterThanOrEqual(0);
    expect(second.network.tx_per_s).toBeGreaterThanOrEqual(0);
    expect(Date.parse(second.sampled_at)).toBeGreaterThan(Date.parse(first.sampled_at));
  });

  it('leaves nothing running between calls', async () => {
    // An idle agent must cost nothing: a sample leaves no timers, processes or sockets behind.
    const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const before = handles();
    await harness.execute('sysmetrics.current');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handles()).toBeLessThanOrEqual(before);
  });
});
