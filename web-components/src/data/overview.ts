// The fleet at a glance: counts, and its traffic per day.
import { query, request } from './http.js';

export interface Overview {
  nodes_online: number;
  nodes_offline: number;
  active_users: number;
  traffic_today_bytes: number;
  open_alerts: number;
}

export const getOverview = () => request<Overview>('GET', '/api/v1/overview');

export interface DailyUsage {
  day: string;
  upload_bytes: number;
  download_bytes: number;
  billed_bytes: number;
}

/** The fleet's traffic per UTC day, the last `days` days, today last. */
export const getDailyUsage = (days = 7) => request<DailyUsage[]>('GET', `/api/v1/usage/daily${query({ days })}`);
