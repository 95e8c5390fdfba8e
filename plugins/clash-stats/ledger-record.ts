// The traffic ledger's record format (README.md, "Ledger"): the header, sample, carried-entries and
// acknowledgement lines, how each is validated, and what applying one does to the ledger's state.
// Pure: no file access here; ledger.ts reads and writes the lines.
//
// The state is the header plus every later line applied in order, by the one function (`apply`)
// used both when replaying the file and after a line is durably appended; so the state read back
// after a crash is exactly the state some prefix of whole lines describes.

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

// ---- records -----------------------------------------------------------------------------------

export interface HeaderRecord {
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

/** [user, upload, download] of one entry; its seq is the batch's seq plus its index. */
export type EntryTuple = [string, number, number];

/** A sample: its entries (seq, seq+1, ...) and the baseline changes they consumed. */
export interface BatchRecord {
  time: string;
  seq?: number;
  entries?: EntryTuple[];
  baselines?: BaselinePatch;
  /** Written by compaction: entries already counted in the header's totals and baselines. */
  carried?: true;
}

interface AckRecord {
  ack: number;
}

export type BodyRecord = BatchRecord | AckRecord;

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

/** The record a line after the header holds; undefined when it is not a complete, valid one. */
export const decodeBody = (text: string): BodyRecord | undefined => parse(text, isBody);

/** One record as its line in the file, newline included. */
export const encodeRecord = (record: HeaderRecord | BodyRecord): string => `${JSON.stringify(record)}\n`;

/** The header of a new, empty ledger. */
export function newHeader(id: string, created: InstanceMarker | undefined): HeaderRecord {
  return { ledger: FORMAT, version: VERSION, id, acked_seq: 0, head_seq: 0, baselines: {}, totals: {}, created };
}

/**
 * The line of one sample: non-zero `deltas` get the seqs after `head`, and `patch` moves the
 * baselines. Undefined when there is nothing to record.
 */
export function sampleRecord(sample: { time: Date; deltas: Delta[]; patch: BaselinePatch }, head: number): BatchRecord | undefined {
  const entries = sample.deltas
    .filter((d) => d.upload_bytes > 0 || d.download_bytes > 0)
    .map((d): EntryTuple => [d.user, d.upload_bytes, d.download_bytes]);
  const hasPatch = Object.keys(sample.patch).length > 0;
  if (entries.length === 0 && !hasPatch) return undefined;
  const record: BatchRecord = { time: sample.time.toISOString() };
  if (entries.length) {
    record.seq = head + 1;
    record.entries = entries;
  }
  if (hasPatch) record.baselines = sample.patch;
  return record;
}

// ---- state -------------------------------------------------------------------------------------

/** What the lines read so far say: position, baselines and totals. Changed only by applying records. */
export class LedgerState {
  id = '';
  head = 0;
  acked = 0;
  created: InstanceMarker | undefined;
  readonly baselines = new Map<string, SourceBaseline>();
  readonly totals = new Map<string, Pair>();

  applyHeader(header: HeaderRecord): void {
    this.id = header.id;
    this.head = header.head_seq;
    this.acked = header.acked_seq;
    this.created = header.created;
    this.baselines.clear();
    for (const [source, { instance, counters }] of Object.entries(header.baselines)) {
      this.baselines.set(source, { instance, counters: new Map(Object.entries(counters)) });
    }
    this.totals.clear();
    for (const [user, pair] of Object.entries(header.totals)) this.totals.set(user, [pair[0], pair[1]]);
  }

  /** The header that starts a file holding this state, with entries up to `ackedSeq` acknowledged. */
  header(ackedSeq: number): HeaderRecord {
    const baselines: HeaderRecord['baselines'] = {};
    for (const [source, { instance, counters }] of this.baselines) {
      baselines[source] = { instance, counters: Object.fromEntries(counters) };
    }
    return {
      ledger: FORMAT,
      version: VERSION,
      id: this.id,
      acked_seq: ackedSeq,
      head_seq: this.head,
      baselines,
      totals: Object.fromEntries(this.totals),
      created: this.created,
    };
  }

  /** Why a well-formed record cannot follow this state, if it cannot. */
  check(record: BodyRecord): string | undefined {
    if ('ack' in record) return record.ack > this.head ? `ack ${record.ack} beyond head ${this.head}` : undefined;
    for (const [source, patch] of Object.entries(record.baselines ?? {})) {
      // A source's first counters always come with the instance they belong to.
      if (patch && !patch.reset && !this.baselines.has(source)) return `baselines for unknown source ${source} without an instance`;
    }
    if (record.entries === undefined) return undefined;
    const last = record.seq! + record.entries.length - 1;
    if (record.carried) return last > this.head ? `carried entries beyond head ${this.head}` : undefined;
    return record.seq !== this.head + 1 ? `seq ${record.seq} does not follow ${this.head}` : undefined;
  }

  /** The one place state changes: at replay, and after a line is durably appended. */
  apply(record: BodyRecord): void {
    if ('ack' in record) {
      this.acked = Math.max(this.acked, record.ack);
      return;
    }
    if (record.entries) {
      if (record.carried) return;
      for (const [user, up, down] of record.entries) {
        // A new pair, never changed in place: callers may hold the old one.
        const [totalUp, totalDown] = this.totals.get(user) ?? [0, 0];
        this.totals.set(user, [totalUp + up, totalDown + down]);
      }
      this.head = record.seq! + record.entries.length - 1;
    }
    for (const [source, patch] of Object.entries(record.baselines ?? {})) {
      if (patch === null) {
        this.baselines.delete(source);
        continue;
      }
      let baseline = this.baselines.get(source);
      if (patch.reset) {
        baseline = { instance: patch.reset, counters: new Map() };
        this.baselines.set(source, baseline);
      }
      if (!baseline) continue; // refused by check()
      if (patch.instance) {
        baseline = { instance: patch.instance, counters: baseline.counters };
        this.baselines.set(source, baseline);
      }
      for (const [key, pair] of Object.entries(patch.counters)) {
        if (pair === null) baseline.counters.delete(key);
        else baseline.counters.set(key, [pair[0], pair[1]]);
      }
    }
  }
}

// ---- replay ------------------------------------------------------------------------------------

/** One line of the file. */
export interface Line {
  offset: number;
  /** Bytes including the newline, if any. */
  size: number;
  text: string;
  terminated: boolean;
}

/**
 * Reads the file's lines into `state` (header first), calling `applied` for every record after
 * the header once the state took it. Returns where the header ends and where the last whole record
 * ends: anything after that is a torn tail (a last line without its newline, or not a complete
 * record, e.g. zeros from a crash after the file grew) for the caller to cut off. A damaged line
 * is only a torn write if nothing follows it; `damaged` makes the error for anything else.
 */
export async function replayLines(
  lines: AsyncIterable<Line>,
  state: LedgerState,
  applied: (record: BodyRecord, offset: number) => void,
  damaged: (offset: number, why: string) => Error,
): Promise<{ headerEnd: number; end: number }> {
  let headerEnd: number | undefined;
  let torn: Line | undefined;
  let end = 0;
  for await (const line of lines) {
    if (torn) throw damaged(torn.offset, 'a line that is not a complete record, followed by more lines');
    if (headerEnd === undefined) {
      const header = line.terminated ? parse(line.text, isHeader) : undefined;
      if (!header) throw damaged(0, 'no valid header line');
      state.applyHeader(header);
      headerEnd = line.offset + line.size;
    } else {
      const record = line.terminated ? decodeBody(line.text) : undefined;
      if (!record) {
        torn = line;
        continue;
      }
      const problem = state.check(record);
      if (problem) throw damaged(line.offset, problem);
      state.apply(record);
      applied(record, line.offset);
    }
    end = line.offset + line.size;
  }
  if (headerEnd === undefined) throw damaged(0, 'no valid header line');
  return { headerEnd, end };
}
