// The agent's state folder fills up: it is a 2 MiB tmpfs this test mounts, and a file fills it to
// the last byte while a user moves bytes. The ledger refuses to write without damaging what it
// holds, clash-stats says it is unhealthy and why, sing-box keeps serving, and the hub raises a
// plugin_unhealthy alert. Once space returns, sampling resumes from sing-box's counters (not reset
// meanwhile): every byte is billed once, and the entries written before the disk filled are intact.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultNode, type FaultNode } from '../support/fault-node.js';
import { recordFault } from '../support/fault-table.js';
import { until } from '../support/until.js';

const MB = 1024 * 1024;
type Drained = { entries: { seq: number; user: string; upload_bytes: number; download_bytes: number }[]; acked_seq: number };

/** Writes zeros into `file` until the file system refuses (ENOSPC). */
async function fill(file: string): Promise<void> {
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

describe('the agent state folder full', { timeout: 180_000 }, () => {
  let f: FaultNode;
  let stateDir: string;

  beforeAll(async () => {
    f = await startFaultNode({
      database: 'sqlite',
      users: ['alice'],
      configure: (config, dir) => {
        stateDir = path.join(dir, config.state_dir as string);
        mkdirSync(stateDir, { recursive: true });
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', stateDir]);
      },
    });
  });

  afterAll(async () => {
    if (stateDir) execFileSync('umount', ['-l', stateDir]);
    await f?.close();
  });

  const clashStats = async () => {
    const node = await f.api('GET', '/api/v1/nodes/fault');
    return (node.agent.plugins as { id: string; healthy: boolean; message: string }[]).find((p) => p.id === 'clash-stats')!;
  };
  const alerts = async (state: 'firing' | 'resolved') =>
    (await f.api('GET', `/api/v1/alerts?state=${state}&rule=plugin_unhealthy&node_id=fault`)).items as { value: number }[];

  it('refuses to write without damage, reports and alerts, keeps serving, and counts the bytes once when space returns', async () => {
    const started = Date.now();
    // Billed and acknowledged, then more entries left on the node for the hub to drain later.
    for (let i = 0; i < 2; i++) expect(await f.download('alice', 2 * MB)).toBe(true);
    await f.call('clash-stats.traffic.sample');
    await f.hub.app.jobs.run('traffic');
    expect(await f.download('alice', 2 * MB)).toBe(true);
    await f.call('clash-stats.traffic.sample');
    const before = await f.call<Drained>('clash-stats.traffic.drain', { after_seq: 0, limit: 10000 }).catch(async () => {
      const { acked_seq } = await f.call<{ acked_seq: number }>('clash-stats.traffic.position');
      return f.call<Drained>('clash-stats.traffic.drain', { after_seq: acked_seq, limit: 10000 });
    });
    expect(before.entries.length).toBeGreaterThan(0);

    const filler = path.join(stateDir, 'filler');
    await fill(filler);
    // sing-box serves while the agent cannot write; its counters hold the bytes.
    // The file's last page still has room for a few lines: the writes fail once it is used up.
    let refused: Error | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      expect(await f.download('alice', 256 * 1024)).toBe(true);
      refused = await f.call('clash-stats.traffic.sample').then(() => undefined, (error: Error) => error);
    }
    expect(refused?.message).toMatch(/ENOSPC/);
    const fullAt = Date.now();
    // Full for 10 s, the agent's own sampling (every second) failing meanwhile.
    while (Date.now() - fullAt < 10_000) {
      expect(await f.download('alice', MB)).toBe(true);
      await new Promise((r) => setTimeout(r, 250));
    }
    await expect(f.call('clash-stats.traffic.sample')).rejects.toThrow(/ENOSPC/);
    const sick = await until('clash-stats reported unhealthy', async () => {
      await f.hub.app.jobs.run('node-status');
      const p = await clashStats();
      return !p.healthy && p;
    });
    expect(sick.message).toMatch(/^traffic ledger cannot be written: ENOSPC: no space left on device, write \(since /);
    await f.hub.app.jobs.run('alerts');
    expect(await alerts('firing')).toMatchObject([{ value: 1 }]);
    // What the ledger held before is still there, unchanged, with what it could write since.
    const during = await f.call<Drained>('clash-stats.traffic.drain', { after_seq: before.acked_seq, limit: 10000 });
    expect(during.entries.slice(0, before.entries.length)).toEqual(before.entries);

    await rm(filler);
    const freedAt = Date.now();
    await until('clash-stats healthy again', async () => {
      await f.call('clash-stats.traffic.sample');
      await f.hub.app.jobs.run('node-status');
      return (await clashStats()).healthy;
    });
    const recoveredS = (Date.now() - freedAt) / 1000;
    await f.hub.app.jobs.run('alerts');
    expect(await alerts('resolved')).toHaveLength(1);
    expect(await alerts('firing')).toHaveLength(0);
    await f.hub.app.jobs.run('traffic');
    await f.hub.app.jobs.run('traffic');
    const moved = f.moved('alice');
    const billed = await f.billed('alice');
    recordFault({
      fault: `agent state folder full (2 MiB tmpfs) for ${((freedAt - fullAt) / 1000).toFixed(0)} s`,
      checked: 'ledger intact; clash-stats unhealthy (ENOSPC); alert fired+resolved; sing-box served; billed once',
      movedBytes: moved,
      billedBytes: billed,
      outcome: `sampling resumed ${recoveredS.toFixed(1)} s after space returned (test ${((Date.now() - started) / 1000).toFixed(0)} s)`,
    });
  });
});
