// Reads a node's traffic ledger the way the hub's traffic job does, straight over the command bus:
// sample now, drain everything after the position already read, acknowledge it.
import type { AgentClient } from '../../agent-core/common/agent-client.js';

interface Entry {
  seq: number;
  user: string;
  upload_bytes: number;
  download_bytes: number;
}

export class LedgerReader {
  /** The last entry drained and acknowledged. */
  position = 0;

  constructor(private readonly client: () => AgentClient) {}

  private async call<T>(command: string, input: unknown): Promise<T> {
    return (await this.client().execute(command, input, { timeoutMs: 60_000 })).result as T;
  }

  /** Samples, drains every new entry (failing on one out of order) and acknowledges it: bytes per user. */
  async drain(): Promise<Map<string, { up: number; down: number }>> {
    await this.call('clash-stats.traffic.sample', {});
    const totals = new Map<string, { up: number; down: number }>();
    for (;;) {
      const { entries } = await this.call<{ entries: Entry[] }>('clash-stats.traffic.drain', { after_seq: this.position, limit: 1000 });
      if (entries.length === 0) return totals;
      for (const e of entries) {
        if (e.seq <= this.position) throw new Error(`ledger entry ${e.seq} after ${this.position}: out of order`);
        const t = totals.get(e.user) ?? { up: 0, down: 0 };
        totals.set(e.user, { up: t.up + e.upload_bytes, down: t.down + e.download_bytes });
        this.position = e.seq;
      }
      await this.call('clash-stats.traffic.ack', { seq: this.position });
    }
  }
}
