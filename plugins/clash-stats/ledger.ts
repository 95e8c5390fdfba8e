// The durable traffic ledger (architecture §5): an append-only JSON-lines file of per-user byte
// deltas with increasing sequence numbers, together with the counter baselines they were measured
// against. Format and guarantees: README.md, "Ledger".
//
// Every change is one line written with a single write and fsync'ed before it counts, and the
// in-memory state is only ever changed by applying a line that is on disk, with the same function
// that replays the file at start. So after kill -9 at any byte the state read back is either the
// state before the last line or after it: never half of a batch, and never entries without the
// baselines that consumed them (or the other way round).
import { randomUUID } from 'node:crypto';
import { open, rename, rm, mkdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, InternalError } from '../../agent-core/sdk.js';

export const LEDGER_FILE = 'traffic-ledger.jsonl';
const FORMAT = 'boxfleet-traffic-ledger';
const VERSION = 1;

/** [upload (client→server), download] bytes. */
export type Pair = [number, number];

/**
 * When the sing-box instance that produced a set of counters started, estimated as
 * (clock − uptime). `mono` is CLOCK_MONOTONIC seconds, comparable across processes of one boot
 * (`boot` = the kernel's boot id); `wall` is the fallback where there is no boot id.
 */
export interface InstanceMarker {
  boot: string | null;
  mono: number;
  wall: number;
}

/** The last counter values seen from one source (the V2Ray API, or one SSM endpoint). */
export interface SourceBaseline {
  instance: InstanceMarker;
  counters: Map<string, Pair>;
}

/**
 * How a sample changes the baselines, per source: `null` drops the source; `reset` replaces the
 * source's counters (and instance) with `counters`; otherwise `counters` are merged (null deletes),
 * and `instance`, when given, becomes the source's instance (a later estimate of its start).
 */
export type BaselinePatch = Record<string, SourcePatch | null>;
export interface SourcePatch {
  reset?: InstanceMarker;
  instance?: InstanceMarker;
  counters: Record<string, Pair | null>;
}

export interface Delta {
  user: string;
  upload_bytes: number;
  download_bytes: number;
}

export interface LedgerEntry extends Delta {
  seq: number;
  time: string;
}

// ---- on-disk records -------------------------------------------------------------------------

interface HeaderRecord {
  ledger: typeof FORMAT;
  version: number;
  id: string;
  acked_seq: number;
  head_seq: number;
  baselines: Record<string, { instance: InstanceMarker; counters: Record<string, Pair> }>;
  totals: Record<string, Pair>;
  /** When the ledger was created (since clash-stats 0.5.0; older ledgers have none). */
  created?: InstanceMarker;
}

/** A sample: its entries (seq, seq+1, ...) and the baseline changes they consumed. */
interface BatchRecord {
  time: string;
  seq?: number;
  entries?: [string, number, number][];
  baselines?: BaselinePatch;
  /** Written by compaction: entries already counted in the header's totals and baselines. */
  carried?: true;
}

interface AckRecord {
  ack: number;
}

type BodyRecord = BatchRecord | AckRecord;

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPair = (v: unknown): v is Pair => Array.isArray(v) && v.length === 2 && isCount(v[0]) && isCount(v[1]);
const isMarker = (v: unknown): v is InstanceMarker =>
  isObject(v) && (v.boot === null || typeof v.boot === 'string') && Number.isFinite(v.mono) && Number.isFinite(v.wall);

function isHeader(v: unknown): v is HeaderRecord {
  if (!isObject(v) || v.ledger !== FORMAT || v.version !== VERSION || typeof v.id !== 'string') return false;
  if (!isCount(v.acked_seq) || !isCount(v.head_seq) || v.acked_seq > v.head_seq) return false;
  if (v.created !== undefined && !isMarker(v.created)) return false;
  if (!isObject(v.baselines) || !isObject(v.totals) || !Object.values(v.totals).every(isPair)) return false;
  return Object.values(v.baselines).every(
    (s) => isObject(s) && isMarker(s.instance) && isObject(s.counters) && Object.values(s.counters).every(isPair),
  );
}

function isPatch(v: unknown): v is BaselinePatch {
  return (
    isObject(v) &&
    Object.values(v).every(
      (s) =>
        s === null ||
        (isObject(s) &&
          (s.reset === undefined || isMarker(s.reset)) &&
          (s.instance === undefined || (s.reset === undefined && isMarker(s.instance))) &&
          isObject(s.counters) &&
          Object.values(s.counters).every((c) => c === null || isPair(c))),
    )
  );
}

function isBody(v: unknown): v is BodyRecord {
  if (!isObject(v)) return false;
  if ('ack' in v) return isCount(v.ack) && Object.keys(v).length === 1;
  if (typeof v.time !== 'string') return false;
  if (v.entries !== undefined) {
    if (!isCount(v.seq) || v.seq < 1 || !Array.isArray(v.entries) || v.entries.length === 0) return false;
    if (!v.entries.every((e) => Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && isCount(e[1]) && isCount(e[2]))) {
      return false;
    }
  } else if (v.seq !== undefined) return false;
  if (v.baselines !== undefined && !isPatch(v.baselines)) return false;
  return v.carried === undefined || (v.carried === true && v.baselines === undefined && v.entries !== undefined);
}

function parse<T>(text: string, check: (v: unknown) => v is T): T | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return check(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

// ---- reading lines -----------------------------------------------------------------------------

interface Line {
  offset: number;
  /** Bytes including the newline, if any. */
  size: number;
  text: string;
  terminated: boolean;
}

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

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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
  private id = '';
  private head = 0;
  private acked = 0;
  private created: InstanceMarker | undefined;
  private size = 0;
  private readonly baselineMap = new Map<string, SourceBaseline>();
  private readonly totalMap = new Map<string, Pair>();
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
    return this.id;
  }
  get headSeq(): number {
    return this.head;
  }
  get ackedSeq(): number {
    return this.acked;
  }
  /** When this ledger was created; undefined for a ledger created before clash-stats 0.5.0. */
  get createdAt(): InstanceMarker | undefined {
    return this.created;
  }
  get sizeBytes(): number {
    return this.size;
  }
  get failure(): string | undefined {
    return this.broken;
  }
  /** Last counter values per source. Read-only: only appended lines change it. */
  get baselines(): ReadonlyMap<string, SourceBaseline> {
    return this.baselineMap;
  }
  /** Cumulative bytes per user over every entry ever appended (compaction keeps them). */
  get totals(): ReadonlyMap<string, Pair> {
    return this.totalMap;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async create(): Promise<void> {
    const header: HeaderRecord = {
      ledger: FORMAT,
      version: VERSION,
      id: randomUUID(),
      acked_seq: 0,
      head_seq: 0,
      baselines: {},
      totals: {},
      created: this.options.now?.(),
    };
    const tmp = `${this.file}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await writeAll(handle, Buffer.from(`${JSON.stringify(header)}\n`));
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
    let headerSeen = false;
    // A damaged line is only a torn write if nothing follows it.
    let damaged: Line | undefined;
    let end = 0;
    for await (const line of readLines(handle, 0, size)) {
      if (damaged) throw this.corrupt(damaged.offset, 'a line that is not a complete record, followed by more lines');
      if (!headerSeen) {
        const header = line.terminated ? parse(line.text, isHeader) : undefined;
        if (!header) throw this.corrupt(0, 'no valid header line');
        this.applyHeader(header);
        this.headerEnd = line.offset + line.size;
        headerSeen = true;
      } else {
        const record = line.terminated ? parse(line.text, isBody) : undefined;
        if (!record) {
          damaged = line;
          continue;
        }
        const problem = this.check(record);
        if (problem) throw this.corrupt(line.offset, problem);
        this.apply(record, line.offset);
      }
      end = line.offset + line.size;
    }
    if (!headerSeen) throw this.corrupt(0, 'no valid header line');
    if (end < size) {
      await handle.truncate(end);
      await handle.sync();
      this.options.onTornTail?.({ offset: end, bytes: size - end });
    }
    this.size = end;
  }

  private applyHeader(header: HeaderRecord): void {
    this.id = header.id;
    this.head = header.head_seq;
    this.acked = header.acked_seq;
    this.created = header.created;
    this.baselineMap.clear();
    for (const [source, { instance, counters }] of Object.entries(header.baselines)) {
      this.baselineMap.set(source, { instance, counters: new Map(Object.entries(counters)) });
    }
    this.totalMap.clear();
    for (const [user, pair] of Object.entries(header.totals)) this.totalMap.set(user, [pair[0], pair[1]]);
    this.points = [];
  }

  /** Why a well-formed record cannot follow the current state, if it cannot. */
  private check(record: BodyRecord): string | undefined {
    if ('ack' in record) return record.ack > this.head ? `ack ${record.ack} beyond head ${this.head}` : undefined;
    for (const [source, patch] of Object.entries(record.baselines ?? {})) {
      // A source's first counters always come with the instance they belong to.
      if (patch && !patch.reset && !this.baselineMap.has(source)) return `baselines for unknown source ${source} without an instance`;
    }
    if (record.entries === undefined) return undefined;
    const last = record.seq! + record.entries.length - 1;
    if (record.carried) return last > this.head ? `carried entries beyond head ${this.head}` : undefined;
    return record.seq !== this.head + 1 ? `seq ${record.seq} does not follow ${this.head}` : undefined;
  }

  /** The one place state changes: at replay, and after a line is durably appended. */
  private apply(record: BodyRecord, offset: number): void {
    if ('ack' in record) {
      this.acked = Math.max(this.acked, record.ack);
      return;
    }
    if (record.entries) {
      const seq = record.seq!;
      const previous = this.points[this.points.length - 1];
      if (!previous || offset - previous.offset >= CHUNK) this.points.push({ offset, seq });
      if (record.carried) return;
      for (const [user, up, down] of record.entries) {
        // A new pair, never changed in place: callers may hold the old one.
        const [totalUp, totalDown] = this.totalMap.get(user) ?? [0, 0];
        this.totalMap.set(user, [totalUp + up, totalDown + down]);
      }
      this.head = seq + record.entries.length - 1;
    }
    for (const [source, patch] of Object.entries(record.baselines ?? {})) {
      if (patch === null) {
        this.baselineMap.delete(source);
        continue;
      }
      let baseline = this.baselineMap.get(source);
      if (patch.reset) {
        baseline = { instance: patch.reset, counters: new Map() };
        this.baselineMap.set(source, baseline);
      }
      if (!baseline) continue; // refused by check()
      if (patch.instance) {
        baseline = { instance: patch.instance, counters: baseline.counters };
        this.baselineMap.set(source, baseline);
      }
      for (const [key, pair] of Object.entries(patch.counters)) {
        if (pair === null) baseline.counters.delete(key);
        else baseline.counters.set(key, [pair[0], pair[1]]);
      }
    }
  }

  private usable(): FileHandle {
    if (this.broken) throw new InternalError(`traffic ledger is not writable until the agent restarts: ${this.broken}`);
    if (!this.appender) throw new FailedPreconditionError('traffic ledger is closed');
    return this.appender;
  }

  /** Writes one line and fsyncs it; on failure cuts the file back so that no partial line stays. */
  private async appendLine(record: BodyRecord): Promise<void> {
    const file = this.usable();
    const problem = this.check(record);
    if (problem) throw new InternalError(`refusing to append an inconsistent ledger line: ${problem}`);
    const data = Buffer.from(`${JSON.stringify(record)}\n`);
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
    this.apply(record, offset);
  }

  /**
   * Appends one sample: non-zero `deltas` get the next sequence numbers, and `patch` moves the
   * baselines, in one durable line. Writes nothing when there is nothing to record.
   */
  append(sample: { time: Date; deltas: Delta[]; patch: BaselinePatch }): Promise<{ appended: number; last_seq: number }> {
    return this.serial(async () => {
      const entries = sample.deltas
        .filter((d) => d.upload_bytes > 0 || d.download_bytes > 0)
        .map((d): [string, number, number] => [d.user, d.upload_bytes, d.download_bytes]);
      const hasPatch = Object.keys(sample.patch).length > 0;
      if (entries.length === 0 && !hasPatch) return { appended: 0, last_seq: this.head };
      const record: BatchRecord = { time: sample.time.toISOString() };
      if (entries.length) {
        record.seq = this.head + 1;
        record.entries = entries;
      }
      if (hasPatch) record.baselines = sample.patch;
      await this.appendLine(record);
      return { appended: entries.length, last_seq: this.head };
    });
  }

  /** Entries with seq > afterSeq, oldest first, at most `limit`. */
  drain(afterSeq: number, limit: number): Promise<{ entries: LedgerEntry[]; head_seq: number; acked_seq: number }> {
    return this.serial(async () => {
      if (afterSeq < this.acked) {
        throw new FailedPreconditionError(
          `after_seq ${afterSeq} is below acked_seq ${this.acked}: entries up to ${this.acked} were acknowledged and compacted away`,
        );
      }
      if (afterSeq > this.head) {
        throw new FailedPreconditionError(
          `after_seq ${afterSeq} is beyond head_seq ${this.head}: this node's ledger (id ${this.id}) is not the one those entries came from`,
        );
      }
      const entries: LedgerEntry[] = [];
      if (afterSeq < this.head) {
        for await (const { seq, time, entries: list } of this.batchesFrom(afterSeq + 1)) {
          for (let i = 0; i < list.length && entries.length < limit; i++) {
            const [user, up, down] = list[i]!;
            if (seq + i > afterSeq) entries.push({ seq: seq + i, time, user, upload_bytes: up, download_bytes: down });
          }
          if (entries.length >= limit) break;
        }
      }
      return { entries, head_seq: this.head, acked_seq: this.acked };
    });
  }

  /**
   * Bytes per user as of `seq`: the totals minus every entry after it. Those entries are still in
   * the file, since only acknowledged ones are dropped; a user first seen after `seq` is left out.
   */
  totalsAt(seq: number): Promise<Map<string, Pair>> {
    return this.serial(async () => {
      if (seq < this.acked) {
        throw new FailedPreconditionError(
          `input.at_seq: ${seq} is below acked_seq ${this.acked}: entries up to ${this.acked} were acknowledged and compacted away`,
        );
      }
      if (seq > this.head) {
        throw new FailedPreconditionError(
          `input.at_seq: ${seq} is beyond head_seq ${this.head}: this node's ledger (id ${this.id}) is not the one that position came from`,
        );
      }
      const totals = new Map(this.totalMap);
      if (seq === this.head) return totals;
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
  private async *batchesFrom(fromSeq: number): AsyncGenerator<{ seq: number; time: string; entries: [string, number, number][]; offset: number }> {
    const start = this.pointBefore(fromSeq);
    const handle = await open(this.file, 'r');
    try {
      for await (const line of readLines(handle, start, this.size)) {
        const record = parse(line.text, isBody);
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
      if (seq > this.head) throw new InvalidArgumentError(`input.seq: ${seq} is beyond head_seq ${this.head}`);
      if (seq > this.acked) {
        this.usable();
        const limit = this.options.compactBelowBytes ?? COMPACT_BELOW_BYTES;
        if (this.size <= limit || (await this.acknowledgedBytes(seq)) * 2 >= this.size - this.headerEnd) await this.compact(seq);
        else await this.appendLine({ ack: seq });
      }
      return { acked_seq: this.acked, head_seq: this.head };
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
    const baselines: HeaderRecord['baselines'] = {};
    for (const [source, { instance, counters }] of this.baselineMap) {
      baselines[source] = { instance, counters: Object.fromEntries(counters) };
    }
    const header: HeaderRecord = {
      ledger: FORMAT,
      version: VERSION,
      id: this.id,
      acked_seq: seq,
      head_seq: this.head,
      baselines,
      totals: Object.fromEntries(this.totalMap),
      created: this.created,
    };
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
      await write(`${JSON.stringify(header)}\n`);
      headerEnd = size;
      if (seq < this.head) {
        for await (const batch of this.batchesFrom(seq + 1)) {
          const skip = Math.max(0, seq + 1 - batch.seq);
          const carried: BatchRecord = { time: batch.time, seq: batch.seq + skip, entries: batch.entries.slice(skip), carried: true };
          const previous = points[points.length - 1];
          if (!previous || size - previous.offset >= CHUNK) points.push({ offset: size, seq: carried.seq! });
          await write(`${JSON.stringify(carried)}\n`);
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
    this.acked = seq;
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
