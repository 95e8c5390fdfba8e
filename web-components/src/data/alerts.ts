// Alerts the hub raised on nodes.
import { query, request, type Page } from './http.js';

export type AlertRule = 'cpu' | 'memory' | 'disk' | 'offline' | 'ledger_backlog' | 'unreachable' | 'plugin_unhealthy';

export interface Alert {
  id: number;
  node_id: string;
  rule: AlertRule;
  state: 'firing' | 'resolved';
  /** Percent for cpu, memory and disk; seconds for offline and unreachable; entries for ledger_backlog. */
  value: number;
  last_value: number;
  threshold: number;
  fired_at: string;
  resolved_at: string | null;
}

export const listAlerts = (options: { state?: Alert['state']; node_id?: string; page?: number; per_page?: number }) =>
  request<Page<Alert>>('GET', `/api/v1/alerts${query(options)}`);
