// JSON-lines logging shared by the agent and the hub: time, level, msg, service, plus whatever
// default fields the process adds (node_id on the agent), and trace_id while a trace is active.
import winston from 'winston';
import { traceId } from './tracing.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface LoggerOptions {
  service: 'agent' | 'hub' | 'cli';
  level: LogLevel;
  /** Also append to this file, created readable by this user only (0600). */
  file?: string;
  fields?: Record<string, unknown>;
}

export type AppLogger = winston.Logger;

const jsonLine = winston.format.combine(
  winston.format((info) => {
    // winston calls the text `message`; our lines call it `msg`, after `time` and `level`.
    const { level, message, timestamp, ...rest } = info;
    const trace = traceId();
    return { level, time: timestamp, msg: message, ...rest, ...(trace ? { trace_id: trace } : {}) } as unknown as winston.Logform.TransformableInfo;
  })(),
  winston.format.json(),
);

export function createLogger({ service, level, file, fields }: LoggerOptions): AppLogger {
  const transports: winston.transport[] = [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })];
  if (file) transports.push(new winston.transports.File({ filename: file, options: { flags: 'a', mode: 0o600 } }));
  return winston.createLogger({
    level,
    defaultMeta: { service, ...fields },
    format: winston.format.combine(winston.format.timestamp(), jsonLine),
    transports,
  });
}
