// The node's clock jumps while users move bytes: forward an hour, then back ten minutes (through
// the agent's clock seam, BOXFLEET_AGENT_CLOCK_OFFSET_FILE: the machine's clock is not ours to
// move). The ledger stays in seq order with times that never go back, no delta is negative or
// counted twice, the hub bills every byte once, and the hourly usage lands in hours that exist
// on the hub's clock: none in the future, none before the traffic began.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hourOf } from '../../hub/jobs/traffic.js';
import { startFaultNode, type FaultNode } from '../support/fault-node.js';
import { recordFault } from '../support/fault-table.js';

const MB = 1024 * 1024;
const MINUTE = 60_000;
type Drained = { entries: { seq: number; time: string; user: string; upload_bytes: number; download_bytes: number }[] };

describe('the node clock jumps', { timeout: 180_000 }, () => {
  let f: FaultNode;
  let dir: string;
  let offsetFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-clock-'));
    offsetFile = path.join(dir, 'offset-ms');
    await writeFile(offsetFile, '0');
    // Samples only when asked, so each phase's bytes are one sample at that phase's clock.
    f = await startFaultNode({ database: 'sqlite', users: ['alice'], clash: { sample_interval_s: 0 }, env: { BOXFLEET_AGENT_CLOCK_OFFSET_FILE: offsetFile } });
  });

  afterAll(async () => {
    await f?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the ledger ordered, bills once, and puts usage in sensible hours', async () => {
    const started = Date.now();
    const { acked_seq: from } = await f.call<{ acked_seq: number }>('clash-stats.traffic.position');
    const phases: [string, number][] = [['on time', 0], ['forward 1 h', 60 * MINUTE], ['back 10 min', 50 * MINUTE]];
    for (const [, offset] of phases) {
      await writeFile(offsetFile, String(offset));
      for (let i = 0; i < 2; i++) expect(await f.download('alice', 2 * MB)).toBe(true);
      await f.call('clash-stats.traffic.sample');
    }
    const { entries } = await f.call<Drained>('clash-stats.traffic.drain', { after_seq: from, limit: 10000 });
    expect(entries.length).toBeGreaterThanOrEqual(phases.length);
    for (let i = 1; i < entries.length; i++) {
      expect(entries[i]!.seq).toBe(entries[i - 1]!.seq + 1);
      expect(Date.parse(entries[i]!.time)).toBeGreaterThanOrEqual(Date.parse(entries[i - 1]!.time));
    }
    for (const e of entries) {
      expect(e.upload_bytes).toBeGreaterThanOrEqual(0);
      expect(e.download_bytes).toBeGreaterThanOrEqual(0);
    }
    // The ledger's clock was an hour ahead for the last two samples.
    expect(Date.parse(entries.at(-1)!.time) - Date.now()).toBeGreaterThan(55 * MINUTE);

    await f.hub.app.jobs.run('traffic');
    await f.hub.app.jobs.run('usage-rollup');
    const moved = f.moved('alice');
    const billed = await f.billed('alice');
    const usage = await f.api('GET', `/api/v1/usage?node_id=fault&from=${new Date(started - 2 * 60 * MINUTE).toISOString()}&to=${new Date(Date.now() + 3 * 60 * MINUTE).toISOString()}`);
    const hours = [...new Set((usage.rows as { hour: string }[]).map((r) => Date.parse(r.hour)))];
    for (const hour of hours) {
      expect(hour).toBeGreaterThanOrEqual(hourOf(started));
      expect(hour).toBeLessThanOrEqual(hourOf(Date.now()));
    }
    expect(usage.totals.upload_bytes + usage.totals.download_bytes).toBe(billed);
    recordFault({
      fault: 'node clock forward 1 h, then back 10 min',
      checked: 'ledger seq + times in order; no negative delta; usage in present hours; billed once',
      movedBytes: moved,
      billedBytes: billed,
      outcome: `${entries.length} entries in ${hours.length} hour(s) on the hub's clock (test ${((Date.now() - started) / 1000).toFixed(0)} s)`,
    });
  });
});
