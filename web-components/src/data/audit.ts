// The audit log of admin actions.
import { query, request, type Page } from './http.js';

export interface AuditEntry {
  id: number;
  time: string;
  admin: string;
  action: string;
  target: string;
  input: unknown;
  result: 'ok' | 'error';
  status_code: number;
  error: string | null;
  duration_ms: number;
  ip: string;
  trace_id: string | null;
}

export interface AuditFilter {
  admin?: string;
  action?: string;
  target?: string;
  from?: string;
  to?: string;
  result?: 'ok' | 'error';
}

export const listAudit = (filter: AuditFilter, page: number, per_page = 50) =>
  request<Page<AuditEntry>>('GET', `/api/v1/audit${query({ ...filter, page, per_page })}`);
