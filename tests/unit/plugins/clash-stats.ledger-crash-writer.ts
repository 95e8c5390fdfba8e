// Child process of clash-stats.ledger-crash.test.ts (bundled and run with node, then SIGKILLed at
// random moments). It samples a fake sing-box whose per-user counters only grow with the clock,
// appends the deltas exactly as the plugin does, and plays the hub now and then: drain, store the
// entries durably with the drained position, ack. After every append it prints the head it was
// told is on disk.
//
// argv: <ledger dir> <hub state file> <T0 ms> <compactBelowBytes>
import { open, readFile, rename } from 'node:fs/promises';
import { computeDeltas } from '../../../plugins/clash-stats/deltas.js';
import type { InstanceMarker, Pair } from '../../../plugins/clash-stats/ledger-record.js';
import { Ledger } from '../../../plugins/clash-stats/ledger.js';

export const USERS = Array.from({ length: 60 }, (_, i) => `user-${i}`);
/** One sing-box instance for the whole test: its counters start at 0 at T0 and never go down. */
export const INSTANCE: InstanceMarker = { boot: 'crash-test', mono: 0, wall: 0 };

/** The fake sing-box's counters at `now` (ms): what every user has moved since T0. */
export function countersAt(t0: number, now: number): Map<string, Pair> {
  const elapsed = Math.max(0, now - t0);
  return new Map(USERS.map((user, i) => [user, [Math.floor((elapsed * (i + 1)) / 7), Math.floor((elapsed * (i + 3) * 11) / 5)]]));
}

export interface HubState {
  last_seq: number;
  sums: Record<string, Pair>;
}

export async function readHub(file: string): Promise<HubState> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as HubState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { last_seq: 0, sums: {} };
    throw error;
  }
}

/** Like the hub's transaction: the entries and the new position land together, or neither does. */
async function writeHub(file: string, state: HubState): Promise<void> {
  const handle = await open(`${file}.tmp`, 'w');
  await handle.writeFile(JSON.stringify(state));
  await handle.sync();
  await handle.close();
  await rename(`${file}.tmp`, file);
}

async function main(): Promise<void> {
  const [dir, hubFile, t0Text, compactText] = process.argv.slice(2);
  const t0 = Number(t0Text);
  const ledger = await Ledger.open(dir!, { compactBelowBytes: Number(compactText) });
  for (;;) {
    const reading = { instance: INSTANCE, sources: new Map([['v2ray', countersAt(t0, Date.now())]]), precise: true };
    const { deltas, patch } = computeDeltas(ledger.baselines, reading);
    const { last_seq } = await ledger.append({ time: new Date(), deltas, patch });
    process.stdout.write(`${last_seq}\n`);

    if (Math.random() < 0.3) {
      const hub = await readHub(hubFile!);
      const page = await ledger.drain(hub.last_seq, 1 + Math.floor(Math.random() * 400));
      for (const entry of page.entries) {
        const sum = hub.sums[entry.user] ?? [0, 0];
        hub.sums[entry.user] = [sum[0] + entry.upload_bytes, sum[1] + entry.download_bytes];
        hub.last_seq = entry.seq;
      }
      await writeHub(hubFile!, hub);
      if (Math.random() < 0.7) {
        const seq = ledger.ackedSeq + Math.floor(Math.random() * (hub.last_seq - ledger.ackedSeq + 1));
        await ledger.ack(seq);
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

if (process.argv[1]?.endsWith('writer.mjs')) await main();
