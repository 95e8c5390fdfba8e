// The one writer of the audit log (architecture §6): requests (hub/auth.ts) and what jobs do to
// nodes (hub/jobs) both record through it, so every row's input is redacted (hub/redact.ts) and
// cut to size the same way, and a failed write is logged, never thrown.
import type { Knex } from 'knex';
import type { AppLogger } from '../agent-core/common/logger.js';
import { traceId } from '../agent-core/common/tracing.js';
import { AuditEntry } from './db/models.js';
import { HubError } from './errors.js';
import { redact } from './redact.js';

/** The most of a request's input the audit log keeps, as JSON; beyond it, the start and the size. */
export const MAX_AUDIT_INPUT_BYTES = 16 * 1024;
const AUDIT_INPUT_HEAD = 4 * 1024;
/** The sizes of these audit_log columns: a longer value would not fit on MySQL. */
const MAX_AUDIT_FIELD = { admin: 64, action: 100, target: 200, error: 1000 } as const;

/** The input as the audit log stores it: redacted, and cut to its head when its JSON is too big. */
export function auditInput(body: unknown): unknown {
  if (body === undefined) return null;
  const redacted = redact(body);
  const json = JSON.stringify(redacted) ?? 'null';
  const bytes = Buffer.byteLength(json);
  if (bytes <= MAX_AUDIT_INPUT_BYTES) return redacted;
  return { _truncated: true, bytes, head: clip(json, AUDIT_INPUT_HEAD) };
}

/** `text` cut to at most `max` characters (max > 32), ending with how many bytes were cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const keep = max - 32; // room for the marker
  return `${text.slice(0, keep)}…[truncated ${Buffer.byteLength(text.slice(keep))} bytes]`;
}

/** One audit row as its writer knows it; the input is raw (redacted here) and the texts are clipped here. */
export type AuditRecord = Pick<
  AuditEntry,
  'time' | 'admin_id' | 'admin' | 'action' | 'target' | 'input' | 'result' | 'status_code' | 'error' | 'duration_ms' | 'ip'
>;

/**
 * Writes one row and answers its id. A row whose input cannot be stored is written without it,
 * saying why: never a silent gap in the log. Undefined when not even that could be written.
 */
export async function writeAudit(db: Knex, logger: AppLogger, record: AuditRecord): Promise<number | undefined> {
  const row = {
    ...record,
    admin: clip(record.admin, MAX_AUDIT_FIELD.admin),
    action: clip(record.action, MAX_AUDIT_FIELD.action),
    target: clip(record.target, MAX_AUDIT_FIELD.target),
    error: record.error === null ? null : clip(record.error, MAX_AUDIT_FIELD.error),
    trace_id: traceId() ?? null,
  };
  const { action, target } = row;
  try {
    return (await AuditEntry.query(db).insert({ ...row, input: auditInput(record.input) })).id;
  } catch (e) {
    logger.error('audit write failed; writing the row without its input', { action, target, error: (e as Error).message });
    const reason = `audit input not recorded: ${(e as Error).message}`;
    try {
      const error = clip(row.error === null ? reason : `${reason}; ${row.error}`, MAX_AUDIT_FIELD.error);
      return (await AuditEntry.query(db).insert({ ...row, input: null, error })).id;
    } catch (again) {
      logger.error('audit write failed', { action, target, error: (again as Error).message });
      return undefined;
    }
  }
}

/** Replaces the error text of row `id` (the count of repeated refusals on it). */
export async function amendAuditError(db: Knex, logger: AppLogger, id: number, action: string, error: string): Promise<void> {
  await AuditEntry.query(db)
    .patch({ error: clip(error, MAX_AUDIT_FIELD.error) })
    .findById(id)
    .catch((e: Error) => logger.error('audit write failed', { action, error: e.message }));
}

/** Who did something to a node, for the audit log: a job itself, or the admin whose request ran it. */
export interface Actor {
  id: number | null;
  name: string;
}

export interface JobAudit {
  actor: Actor;
  action: string;
  target: string;
  input: Record<string, unknown>;
  /** performance.now() when it started. */
  started: number;
  /** Why it failed; absent when it succeeded. */
  error?: unknown;
}

/** Records what a job (or the admin request that ran it) did to a node. */
export async function recordAudit(db: Knex, logger: AppLogger, { actor, action, target, input, started, error }: JobAudit): Promise<void> {
  await writeAudit(db, logger, {
    time: Date.now(),
    admin_id: actor.id,
    admin: actor.name,
    action,
    target,
    input,
    result: error === undefined ? 'ok' : 'error',
    status_code: error === undefined ? 200 : error instanceof HubError ? error.statusCode : 500,
    error: error === undefined ? null : (error as Error).message,
    duration_ms: Math.round(performance.now() - started),
    ip: '',
  });
}
