// kill -9 at random moments: a child process samples, appends, drains, stores and acks in a loop
// (clash-stats.ledger-crash-writer.ts) and is SIGKILLed again and again. After every kill the
// ledger must hold every append the child was told was written, and its totals must equal both
// the counters its baselines say were consumed and what the "hub" stored plus what is still to be
// drained: a lost or doubled batch, or entries without their baselines, breaks one of these.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeDeltas } from '../../../plugins/clash-stats/deltas.js';
import type { Pair } from '../../../plugins/clash-stats/ledger-record.js';
import { Ledger } from '../../../plugins/clash-stats/ledger.js';
import { INSTANCE, USERS, countersAt, readHub } from './clash-stats.ledger-crash-writer.js';

const KILLS = 30;

let dir: string;
let writer: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'clash-stats-crash-'));
  writer = path.join(dir, 'writer.mjs');
  await build({
    entryPoints: [path.join(import.meta.dirname, 'clash-stats.ledger-crash-writer.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: writer,
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the writer until it has reported some appends, then kills it after a random pause. */
async function runAndKill(ledgerDir: string, hubFile: string, t0: number, compactBelow: number) {
  const child = spawn(process.execPath, [writer, ledgerDir, hubFile, String(t0), String(compactBelow)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = Date.now();
  while (!stdout.includes('\n') && child.exitCode === null && Date.now() - started < 10_000) await sleep(5);
  await sleep(10 + Math.random() * 250);
  child.kill('SIGKILL');
  const code = await exited;
  const killedAt = Date.now();
  if (code !== null) throw new Error(`writer exited on its own (${code}): ${stderr}`);
  const reported = stdout.split('\n').filter(Boolean).map(Number);
  return { lastReported: reported.at(-1) ?? 0, appends: reported.length, killedAt };
}

function add(sums: Map<string, Pair>, user: string, up: number, down: number) {
  const [u, d] = sums.get(user) ?? [0, 0];
  sums.set(user, [u + up, d + down]);
}

describe('traffic ledger under kill -9', () => {
  it(`neither loses nor double-counts a byte across ${KILLS} kills at random moments`, { timeout: 180_000 }, async () => {
    const ledgerDir = path.join(dir, 'ledger');
    const hubFile = path.join(dir, 'hub.json');
    const t0 = Date.now();
    let torn = 0;
    let totalAppends = 0;
    let lastHead = 0;

    for (let round = 0; round < KILLS; round++) {
      // Half the rounds rewrite the file on every ack, half mostly append ack lines.
      const { lastReported, appends, killedAt } = await runAndKill(ledgerDir, hubFile, t0, round % 2 ? 0 : 1 << 30);
      totalAppends += appends;
      const ledger = await Ledger.open(ledgerDir, { onTornTail: () => torn++ });
      try {
        // Every append the writer was told is on disk is there; at most the one in flight is extra.
        expect(ledger.headSeq, `round ${round}`).toBeGreaterThanOrEqual(lastReported);
        expect(ledger.headSeq - lastReported, `round ${round}`).toBeLessThanOrEqual(USERS.length);
        expect(ledger.headSeq).toBeGreaterThanOrEqual(lastHead);
        lastHead = ledger.headSeq;

        // Deltas telescope: with one instance starting at 0, the totals are the consumed counters.
        const baseline = ledger.baselines.get('v2ray')!;
        const truth = countersAt(t0, killedAt);
        for (const user of USERS) {
          const total = ledger.totals.get(user) ?? [0, 0];
          expect(total, `round ${round}, ${user}: totals vs baseline`).toEqual(baseline.counters.get(user) ?? [0, 0]);
          expect(total[0]).toBeLessThanOrEqual(truth.get(user)![0]);
          expect(total[1]).toBeLessThanOrEqual(truth.get(user)![1]);
        }

        // What the hub stored plus what is left to drain is exactly the totals, entry by entry in order.
        const hub = await readHub(hubFile);
        expect(ledger.ackedSeq).toBeLessThanOrEqual(hub.last_seq);
        const seen = new Map(Object.entries(hub.sums));
        let next = hub.last_seq + 1;
        for (;;) {
          const { entries } = await ledger.drain(next - 1, 10_000);
          if (entries.length === 0) break;
          for (const entry of entries) {
            expect(entry.seq).toBe(next++);
            add(seen, entry.user, entry.upload_bytes, entry.download_bytes);
          }
        }
        expect(next - 1).toBe(ledger.headSeq);
        for (const user of USERS) expect(seen.get(user) ?? [0, 0], `round ${round}, ${user}: hub + undrained`).toEqual(ledger.totals.get(user) ?? [0, 0]);
      } finally {
        await ledger.close();
      }
    }

    // A last, clean sample of counters frozen after every kill: the ledger must hold them exactly.
    const final = countersAt(t0, Date.now());
    const ledger = await Ledger.open(ledgerDir);
    try {
      const { deltas, patch } = computeDeltas(ledger.baselines, { instance: INSTANCE, sources: new Map([['v2ray', final]]), precise: true });
      await ledger.append({ time: new Date(), deltas, patch });
      for (const user of USERS) expect(ledger.totals.get(user)).toEqual(final.get(user));
      expect(totalAppends).toBeGreaterThan(KILLS);
      console.info(`ledger crash test: ${totalAppends} appends, ${ledger.headSeq} entries, ${torn} torn tails dropped`);
    } finally {
      await ledger.close();
    }
  });
});

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
