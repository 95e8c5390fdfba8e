// JSON-lines logging shared by the agent and the hub: time, level, msg, service, plus whatever
// default fields the process adds (node_id on the agent), and trace_id while a trace is active.
// Written here rather than with a logging library: the agent idles on a 1 GB node, and winston with
// its formats and streams cost the idle agent about 1.5 MB for what is one JSON.stringify per line.
import { createWriteStream, mkdirSync, openSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { traceId } from './tracing.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const RANK: Record<string, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface LoggerOptions {
  service: 'agent' | 'hub' | 'cli';
  level: LogLevel;
  /** Also append to this file, created readable by this user only (0600). */
  file?: string;
  fields?: Record<string, unknown>;
}

type LogMethod = (msg: string, meta?: Record<string, unknown>) => void;

/** What the agent and the hub log through (a winston logger fits it too, as tests use one). */
export interface AppLogger {
  /** Shared with every child: changing it changes what they write too. */
  level: string;
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  /** A logger adding `fields` to every line. */
  child(fields: Record<string, unknown>): AppLogger;
}

export interface RootLogger extends AppLogger {
  /** Ends the log file; resolves once what was logged is written. */
  close(): Promise<void>;
}

/** BigInts as text and errors as their message, so a line never fails to serialise. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

function line(level: LogLevel, msg: string, fields: Record<string, unknown>, meta: Record<string, unknown> | undefined): string {
  const trace = traceId();
  const record = { level, time: new Date().toISOString(), msg, ...fields, ...meta, ...(trace ? { trace_id: trace } : {}) };
  try {
    return `${JSON.stringify(record, replacer)}\n`;
  } catch (error) {
    // A cycle in what a caller passed: keep the message rather than lose the line.
    return `${JSON.stringify({ level, time: record.time, msg, ...fields, log_error: (error as Error).message })}\n`;
  }
}

/**
 * Opens the log file now, so a path that cannot be written fails the start with its reason
 * instead of crashing the process later from an unhandled stream error. Its folder is made if
 * missing, private like the file.
 */
function openSink(file: string): WriteStream {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const stream = createWriteStream('', { fd: openSync(file, 'a', 0o600) });
  let failed = false;
  // A later failure (disk full, file system gone) must not end the process: say so once, go on.
  stream.on('error', (error) => {
    if (!failed) process.stderr.write(line('error', 'writing the log file failed; logging to standard error only', {}, { file, error: error.message }));
    failed = true;
  });
  return stream;
}

export function createLogger({ service, level, file, fields = {} }: LoggerOptions): RootLogger {
  const sink: WriteStream | undefined = file ? openSink(file) : undefined;
  const shared = { level: level as string };
  const write = (text: string) => {
    process.stderr.write(text);
    sink?.write(text);
  };
  const make = (own: Record<string, unknown>): AppLogger => {
    const at =
      (lineLevel: LogLevel): LogMethod =>
      (msg, meta) => {
        if (RANK[lineLevel]! <= (RANK[shared.level] ?? RANK.info!)) write(line(lineLevel, msg, own, meta));
      };
    return {
      get level() {
        return shared.level;
      },
      set level(next: string) {
        shared.level = next;
      },
      error: at('error'),
      warn: at('warn'),
      info: at('info'),
      debug: at('debug'),
      child: (more) => make({ ...own, ...more }),
    };
  };
  const root = make({ service, ...fields });
  return Object.assign(root, {
    close: () => new Promise<void>((resolve) => (sink ? sink.end(resolve) : resolve())),
  });
}
