// One log record as an Elastic Common Schema line: Filebeat, Elasticsearch and other shippers
// index `@timestamp`, `log.level`, `message`, `service.name`, `trace.id`, `event.*` and `error.*`
// without parsing rules. Dotted keys at the top level, as the ECS logging spec writes them.
// Written here rather than with @elastic/ecs-winston-format: that needs winston, which costs the
// idle agent on a 1 GB node more than this one function does.
export const ECS_VERSION = '8.11.0';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** BigInts as text and errors as their message, so a line never fails to serialise. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

/** Callers pass `error` (a message or an Error) and `stack`: ECS keeps them under `error.*`. */
function errorFields(meta: Record<string, unknown>): Record<string, unknown> {
  const { error, stack, ...rest } = meta;
  const fields: Record<string, unknown> = rest;
  if (error instanceof Error) {
    fields['error.type'] = error.name;
    fields['error.message'] = error.message;
    fields['error.stack_trace'] = error.stack;
  } else if (error !== undefined) {
    fields['error.message'] = error;
  }
  if (stack !== undefined) fields['error.stack_trace'] = stack;
  return fields;
}

export interface EcsRecord {
  level: LogLevel;
  message: string;
  /** `boxfleet-hub`, `boxfleet-agent`: the same names the traces carry. */
  service: string;
  /** The logger's own fields (node_id on the agent) and the call's. */
  fields: Record<string, unknown>;
  meta?: Record<string, unknown>;
  traceId?: string;
}

export function ecsLine({ level, message, service, fields, meta, traceId }: EcsRecord): string {
  const head = {
    '@timestamp': new Date().toISOString(),
    'log.level': level,
    message,
    'ecs.version': ECS_VERSION,
    'service.name': service,
    'event.dataset': service.replace('-', '.'),
  };
  const record = { ...head, ...fields, ...(meta && errorFields(meta)), ...(traceId ? { 'trace.id': traceId } : {}) };
  try {
    return `${JSON.stringify(record, replacer)}\n`;
  } catch (error) {
    // A cycle in what a caller passed: keep the message rather than lose the line.
    return `${JSON.stringify({ ...head, ...fields, 'error.message': `log fields not serialisable: ${(error as Error).message}` })}\n`;
  }
}
