// JSON-lines logging shared by the agent and the hub, in Elastic Common Schema field names
// (agent-core/common/ecs.ts), plus whatever default fields the process adds (node_id on the agent)
// and trace.id while a trace is active.
// Written here rather than with a logging library: the agent idles on a 1 GB node, and winston with
// its formats and streams cost the idle agent about 1.5 MB for what is one JSON.stringify per line.
import { ecsLine, type LogLevel } from './ecs.js';
import { openLogFile } from './log-file.js';
import { traceId } from './tracing.js';

export type { LogLevel } from './ecs.js';
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const satisfies readonly LogLevel[];

const RANK: Record<string, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface LoggerOptions {
  service: 'agent' | 'hub' | 'cli';
  level: LogLevel;
  /** Also append to this file, created readable by this user only (0600). */
  file?: string;
  /** Past this size the file gets no more lines until it is reopened (standard error still does). */
  maxFileBytes?: number;
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
  /** Opens the log file anew: logrotate moved it away and signalled the process. */
  reopen(): void;
  /** Ends the log file; resolves once what was logged is written. */
  close(): Promise<void>;
}

export function createLogger({ service, level, file, maxFileBytes, fields = {} }: LoggerOptions): RootLogger {
  const name = `boxfleet-${service}`;
  const notice = (message: string, meta: Record<string, unknown>) =>
    process.stderr.write(ecsLine({ level: 'error', message, service: name, fields, meta }));
  const sink = file ? openLogFile(file, maxFileBytes, notice) : undefined;
  const shared = { level: level as string };
  const make = (own: Record<string, unknown>): AppLogger => {
    const at =
      (lineLevel: LogLevel): LogMethod =>
      (message, meta) => {
        if (RANK[lineLevel]! > (RANK[shared.level] ?? RANK.info!)) return;
        const text = ecsLine({ level: lineLevel, message, service: name, fields: own, meta, traceId: traceId() });
        process.stderr.write(text);
        sink?.write(text);
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
  return Object.assign(make(fields), {
    reopen: () => sink?.reopen(),
    close: () => sink?.end() ?? Promise.resolve(),
  });
}
