// The durable traffic ledger (architecture §5): an append-only JSON-lines file of per-user byte
// deltas with increasing sequence numbers, together with the counter baselines they were measured
// against. This module is its file I/O (append, fsync, compaction, replay, drain); the record format
// and what each record does to the state are in ledger-record.ts. Guarantees: README.md, "Ledger".
//
// Every change is one line written with a single write and fsync'ed before it counts, and the
// in-memory state is only ever changed by applying a line that is on disk, with the same function
// that replays the file at start. So after kill -9 at any byte the state read back is either the
// state before the last line or after it: never half of a batch, and never entries without the
// baselines that consumed them (or the other way round).
import { randomUUID } from 'node:crypto';
import { open, rename, rm, mkdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, InternalError, syncDir } from '../../agent-core/sdk.js';
import {
  decodeBody,
  encodeRecord,
  LedgerState,
  newHeader,
  replayLines,
  sampleRecord,
  type BaselinePatch,
  type BatchRecord,
  type BodyRecord,
  type Delta,
  type EntryTuple,
  type InstanceMarker,
  type LedgerEntry,
  type Line,
  type Pair,
  type SourceBaseline,
} from './ledger-record.js';

export const LEDGER_FILE = 'traffic-ledger.jsonl';

// ---- reading lines -----------------------------------------------------------------------------

const CHUNK = 64 * 1024;

/** The lines of `[from, to)`; the last one is `terminated: false` when the file does not end with a newline. */
async function* readLines(file: FileHandle, from: number, to: number): AsyncGenerator<Line> {
  const chunk = Buffer.allocUnsafe(CHUNK);
  let pending: Buffer[] = [];
  let lineStart = from;
  let pos = from;
  while (pos < to) {
    const { bytesRead } = await file.read(chunk, 0, Math.min(CHUNK, to - pos), pos);
    if (bytesRead === 0) break;
    let i = 0;
    while (i < bytesRead) {
      const nl = chunk.indexOf(10, i);
      if (nl === -1 || nl >= bytesRead) {
        pending.push(Buffer.from(chunk.subarray(i, bytesRead)));
        break;
      }
      const bytes = pending.length ? Buffer.concat([...pending, chunk.subarray(i, nl)]) : chunk.subarray(i, nl);
      pending = [];
      yield { offset: lineStart, size: bytes.length + 1, text: bytes.toString('utf8'), terminated: true };
      lineStart += bytes.length + 1;
      i = nl + 1;
    }
    pos += bytesRead;
  }
  if (pending.length) {
    const bytes = Buffer.concat(pending);
    yield { offset: lineStart, size: bytes.length, text: bytes.toString('utf8'), terminated: false };
  }
}

async function writeAll(file: FileHandle, data: Buffer): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await file.write(data, done, data.length - done);
    done += bytesWritten;
  }
}

// ---- the ledger --------------------------------------------------------------------------------

/** Drain reads from the nearest of these points; one per 64 KiB of file keeps memory bounded. */
interface IndexPoint {
  offset: number;
  /** No line at or after `offset` has entries below this seq. */
  seq: number;
}

/** Adds a point for a line with entries from `seq` at `offset`, unless the last is within CHUNK bytes. */
function addPoint(points: IndexPoint[], offset: number, seq: number): void {
  const previous = points[points.length - 1];
  if (!previous || offset - previous.offset >= CHUNK) points.push({ offset, seq });
}

export interface LedgerOptions {
  /** Called when a torn last line is dropped at open. */
  onTornTail?(info: { offset: number; bytes: number }): void;
  /** Rewrite on ack when the file is at most this big, else only when half of it is acknowledged. */
  compactBelowBytes?: number;
  /**
   * Now, on the clocks sing-box's starts are estimated on: a new ledger records it as its creation
   * (`createdAt`). Without it a new ledger has no creation marker, like one from before clash-stats 0.5.0.
   */
  now?(): InstanceMarker;
}

const COMPACT_BELOW_BYTES = 4 * 1024 * 1024;

export class Ledger {
  readonly file: string;
  private readonly state = new LedgerState();
  private size = 0;
  private points: IndexPoint[] = [];
  /** Where the first line after the header starts. */
  private headerEnd = 0;
  private appender: FileHandle | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Set when a failed write could not be undone: the file may end in a line we did not count. */
  private broken: string | undefined;

  private constructor(
    readonly dir: string,
    private readonly options: LedgerOptions,
  ) {
    this.file = path.join(dir, LEDGER_FILE);
  }

  /** Opens (or creates) the ledger in `dir`, dropping a torn last line. */
  static async open(dir: string, options: LedgerOptions = {}): Promise<Ledger> {
    const ledger = new Ledger(dir, options);
    await mkdir(dir, { recursive: true });
    // A compaction that died before its rename; the ledger itself is intact.
    await rm(`${ledger.file}.tmp`, { force: true });
    let handle: FileHandle;
    try {
      handle = await open(ledger.file, 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await ledger.create();
      handle = await open(ledger.file, 'r+');
    }
    try {
      await ledger.replay(handle);
    } finally {
      await handle.close();
    }
    ledger.appender = await open(ledger.file, 'a');
    return ledger;
  }

  get ledgerId(): string {
    return this.state.id;
  }
  get headSeq(): number {
    return this.state.head;
  }
  get ackedSeq(): number {
    return this.state.acked;
  }
  /** When this ledger was created; undefined for a ledger created before clash-stats 0.5.0. */
  get createdAt(): InstanceMarker | undefined {
    return this.state.created;
  }
  get sizeBytes(): number {
    return this.size;
  }
  get failure(): string | undefined {
    return this.broken;
  }
  /** Last counter values per source. Read-only: only appended lines change it. */
  get baselines(): ReadonlyMap<string, SourceBaseline> {
    return this.state.baselines;
  }
  /** Cumulative bytes per user over every entry ever appended (compaction keeps them). */
  get totals(): ReadonlyMap<string, Pair> {
    return this.state.totals;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async create(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await writeAll(handle, Buffer.from(encodeRecord(newHeader(randomUUID(), this.options.now?.()))));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.file);
    await syncDir(this.dir);
  }

  private corrupt(offset: number, why: string): Error {
    return new InternalError(
      `traffic ledger ${this.file} is damaged at byte ${offset} (${why}); it was not changed. ` +
        'Move it aside to start a new ledger (its unacknowledged entries would then be lost).',
    );
  }

  private async replay(handle: FileHandle): Promise<void> {
    const { size } = await handle.stat();
    const { headerEnd, end } = await replayLines(
      readLines(handle, 0, size),
      this.state,
      (record, offset) => this.index(record, offset),
      (offset, why) => this.corrupt(offset, why),
    );
    this.headerEnd = headerEnd;
    if (end < size) {
      await handle.truncate(end);
      await handle.sync();
      this.options.onTornTail?.({ offset: end, bytes: size - end });
    }
    this.size = end;
  }

  /** Indexes a line at `offset` that is now part of the state. */
  private index(record: BodyRecord, offset: number): void {
    if (!('ack' in record) && record.entries) addPoint(this.points, offset, record.seq!);
  }

  private usable(): FileHandle {
    if (this.broken) throw new InternalError(`traffic ledger is not writable until the agent restarts: ${this.broken}`);
    if (!this.appender) throw new FailedPreconditionError('traffic ledger is closed');
    return this.appender;
  }

  /** Writes one line and fsyncs it; on failure cuts the file back so that no partial line stays. */
  private async appendLine(record: BodyRecord): Promise<void> {
    const file = this.usable();
    const problem = this.state.check(record);
    if (problem) throw new InternalError(`refusing to append an inconsistent ledger line: ${problem}`);
    const data = Buffer.from(encodeRecord(record));
    try {
      await writeAll(file, data);
      await file.sync();
    } catch (error) {
      try {
        await file.truncate(this.size);
        await file.sync();
      } catch (undo) {
        this.broken = `a failed append could not be undone: ${(undo as Error).message}`;
      }
      throw error;
    }
    const offset = this.size;
    this.size += data.length;
    this.state.apply(record);
    this.index(record, offset);
  }

  /**
   * Appends one sample: non-zero `deltas` get the next sequence numbers, and `patch` moves the
   * baselines, in one durable line. Writes nothing when there is nothing to record.
   */
  append(sample: { time: Date; deltas: Delta[]; patch: BaselinePatch }): Promise<{ appended: number; last_seq: number }> {
    return this.serial(async () => {
      const record = sampleRecord(sample, this.state.head);
      if (!record) return { appended: 0, last_seq: this.state.head };
      await this.appendLine(record);
      return { appended: record.entries?.length ?? 0, last_seq: this.state.head };
    });
  }

  /** Entries with seq > afterSeq, oldest first, at most `limit`. */
  drain(afterSeq: number, limit: number): Promise<{ entries: LedgerEntry[]; head_seq: number; acked_seq: number }> {
    return this.serial(async () => {
      if (afterSeq < this.state.acked) {
        throw new FailedPreconditionError(
          `after_seq ${afterSeq} is below acked_seq ${this.state.acked}: entries up to ${this.state.acked} were acknowledged and compacted away`,
        );
      }
      if (afterSeq > this.state.head) {
        throw new FailedPreconditionError(
          `after_seq ${afterSeq} is beyond head_seq ${this.state.head}: this node's ledger (id ${this.state.id}) is not the one those entries came from`,
        );
      }
      const entries: LedgerEntry[] = [];
      if (afterSeq < this.state.head) {
        for await (const { seq, time, entries: list } of this.batchesFrom(afterSeq + 1)) {
          for (let i = 0; i < list.length && entries.length < limit; i++) {
            const [user, up, down] = list[i]!;
            if (seq + i > afterSeq) entries.push({ seq: seq + i, time, user, upload_bytes: up, download_bytes: down });
          }
          if (entries.length >= limit) break;
        }
      }
      return { entries, head_seq: this.state.head, acked_seq: this.state.acked };
    });
  }

  /**
   * Bytes per user as of `seq`: the totals minus every entry after it. Those entries are still in
   * the file, since only acknowledged ones are dropped; a user first seen after `seq` is left out.
   */
  totalsAt(seq: number): Promise<Map<string, Pair>> {
    return this.serial(async () => {
      if (seq < this.state.acked) {
        throw new FailedPreconditionError(
          `input.at_seq: ${seq} is below acked_seq ${this.state.acked}: entries up to ${this.state.acked} were acknowledged and compacted away`,
        );
      }
      if (seq > this.state.head) {
        throw new FailedPreconditionError(
          `input.at_seq: ${seq} is beyond head_seq ${this.state.head}: this node's ledger (id ${this.state.id}) is not the one that position came from`,
        );
      }
      const totals = new Map(this.state.totals);
      if (seq === this.state.head) return totals;
      for await (const batch of this.batchesFrom(seq + 1)) {
        batch.entries.forEach(([user, up, down], i) => {
          if (batch.seq + i <= seq) return;
          const [totalUp, totalDown] = totals.get(user)!;
          totals.set(user, [totalUp - up, totalDown - down]);
        });
      }
      // Every entry has bytes, so nothing left means no entry up to seq.
      for (const [user, [up, down]] of totals) if (up === 0 && down === 0) totals.delete(user);
      return totals;
    });
  }

  /** Lines with entries that may hold `fromSeq` or later, from the nearest index point on. */
  private async *batchesFrom(fromSeq: number): AsyncGenerator<{ seq: number; time: string; entries: EntryTuple[]; offset: number }> {
    const start = this.pointBefore(fromSeq);
    const handle = await open(this.file, 'r');
    try {
      for await (const line of readLines(handle, start, this.size)) {
        const record = decodeBody(line.text);
        if (!record) throw this.corrupt(line.offset, 'unreadable line while draining');
        if ('ack' in record || !record.entries) continue;
        if (record.seq! + record.entries.length - 1 < fromSeq) continue;
        yield { seq: record.seq!, time: record.time, entries: record.entries, offset: line.offset };
      }
    } finally {
      await handle.close();
    }
  }

  /** Byte offset from which every entry >= seq can be found (the header's end at worst). */
  private pointBefore(seq: number): number {
    let lo = 0;
    let hi = this.points.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.points[mid]!.seq <= seq) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found >= 0 ? this.points[found]!.offset : this.headerEnd;
  }

  /**
   * Acknowledges every entry up to `seq`: they are no longer drained and the file drops them
   * (rewritten at once while small, else when at least half of it is acknowledged).
   */
  ack(seq: number): Promise<{ acked_seq: number; head_seq: number }> {
    return this.serial(async () => {
      if (seq > this.state.head) throw new InvalidArgumentError(`input.seq: ${seq} is beyond head_seq ${this.state.head}`);
      if (seq > this.state.acked) {
        this.usable();
        const limit = this.options.compactBelowBytes ?? COMPACT_BELOW_BYTES;
        if (this.size <= limit || (await this.acknowledgedBytes(seq)) * 2 >= this.size - this.headerEnd) await this.compact(seq);
        else await this.appendLine({ ack: seq });
      }
      return { acked_seq: this.state.acked, head_seq: this.state.head };
    });
  }

  /** Bytes after the header taken by lines whose entries are all <= seq. */
  private async acknowledgedBytes(seq: number): Promise<number> {
    let cut = this.size;
    for await (const batch of this.batchesFrom(seq + 1)) {
      cut = batch.offset;
      break;
    }
    return cut - this.headerEnd;
  }

  /** Rewrites the file as a header with the current state plus the entries after `seq`; atomic by rename. */
  private async compact(seq: number): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const out = await open(tmp, 'w');
    const points: IndexPoint[] = [];
    let size = 0;
    let headerEnd = 0;
    try {
      let buffered: Buffer[] = [];
      let bufferedBytes = 0;
      const write = async (text: string, flush = false) => {
        if (text) {
          const data = Buffer.from(text);
          buffered.push(data);
          bufferedBytes += data.length;
          size += data.length;
        }
        if (bufferedBytes >= CHUNK || (flush && bufferedBytes > 0)) {
          await writeAll(out, Buffer.concat(buffered));
          buffered = [];
          bufferedBytes = 0;
        }
      };
      await write(encodeRecord(this.state.header(seq)));
      headerEnd = size;
      if (seq < this.state.head) {
        for await (const batch of this.batchesFrom(seq + 1)) {
          const skip = Math.max(0, seq + 1 - batch.seq);
          const carried: BatchRecord = { time: batch.time, seq: batch.seq + skip, entries: batch.entries.slice(skip), carried: true };
          addPoint(points, size, carried.seq!);
          await write(encodeRecord(carried));
        }
      }
      await write('', true);
      await out.sync();
    } catch (error) {
      await out.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw error;
    }
    await out.close();
    await rename(tmp, this.file);
    // From here the new file is the ledger, whether or not the directory sync below succeeds.
    const previousAppender = this.appender;
    this.appender = undefined;
    await previousAppender?.close().catch(() => undefined);
    this.state.apply({ ack: seq });
    this.size = size;
    this.headerEnd = headerEnd;
    this.points = points;
    try {
      this.appender = await open(this.file, 'a');
    } catch (error) {
      this.broken = `could not reopen after compaction: ${(error as Error).message}`;
      throw error;
    }
    await syncDir(this.dir);
  }

  /** Waits for the operation in progress and closes the file. */
  close(): Promise<void> {
    return this.serial(async () => {
      const file = this.appender;
      this.appender = undefined;
      await file?.close();
    });
  }
}
