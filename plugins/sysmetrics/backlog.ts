// The traffic ledger's backlog (entries and bytes not yet acknowledged by the hub), counted through
// clash-stats' public `traffic.position` and `traffic.drain`. Entries are head − acked; bytes are
// summed over the drained pages and kept, so a scrape reads only what was appended since the last
// one, and counts afresh only after the hub acknowledged something.

interface DrainPage {
  entries: { seq: number; upload_bytes: number; download_bytes: number }[];
  head_seq: number;
  acked_seq: number;
}

const PAGE = 10_000;
/** Pages read per scrape; a larger backlog is counted over the next scrapes (`complete: false`). */
const PAGES_PER_READ = 5;

export interface Backlog {
  entries: number;
  bytes: number;
  /** False while bytes are still being counted: `bytes` is then a lower bound. */
  complete: boolean;
}

export class BacklogCounter {
  private acked = 0;
  /** Bytes of the entries in (acked, counted]. */
  private counted = 0;
  private bytes = 0;

  constructor(
    private readonly position: () => Promise<{ head_seq: number; acked_seq: number }>,
    private readonly drain: (input: { after_seq: number; limit: number }) => Promise<DrainPage>,
  ) {}

  private reset(acked: number): void {
    this.acked = acked;
    this.counted = acked;
    this.bytes = 0;
  }

  private page(): Promise<DrainPage> {
    return this.drain({ after_seq: this.counted, limit: PAGE });
  }

  async read(): Promise<Backlog> {
    // The hub acknowledged something (or this is the first read): count from what it acknowledged.
    const { acked_seq } = await this.position();
    if (acked_seq !== this.acked) this.reset(acked_seq);
    let page = await this.page();
    for (let n = 1; ; n++) {
      for (const entry of page.entries) {
        if (entry.seq <= this.counted) continue;
        this.bytes += entry.upload_bytes + entry.download_bytes;
        this.counted = entry.seq;
      }
      if (page.entries.length < PAGE || this.counted >= page.head_seq || n >= PAGES_PER_READ) break;
      page = await this.page();
    }
    return { entries: Math.max(page.head_seq - page.acked_seq, 0), bytes: this.bytes, complete: this.counted >= page.head_seq };
  }
}
