// The plans users subscribe to.
import { request } from './http.js';

export const RESET_POLICIES = ['none', 'daily', 'weekly', 'monthly', 'rolling_30d', 'yearly'] as const;
export type ResetPolicy = (typeof RESET_POLICIES)[number];

export interface Plan {
  id: number;
  name: string;
  traffic_limit_bytes: number;
  duration_days: number;
  price: number;
  is_enabled: boolean;
  node_tags: string[];
  /** When used traffic goes back to 0; the calendar ones at 00:00 in the hub's reset_timezone. */
  reset_policy: ResetPolicy;
  /** The day of the month a monthly plan resets on; null for the other policies. */
  reset_day: number | null;
  created_at: string;
}

export type NewPlan = Pick<Plan, 'name' | 'traffic_limit_bytes' | 'duration_days'> & Partial<Pick<Plan, 'price' | 'node_tags' | 'reset_policy' | 'is_enabled'>> & {
  /** Only with reset_policy monthly: the hub refuses it with another. */
  reset_day?: number;
};

export const listPlans = () => request<{ items: Plan[] }>('GET', '/api/v1/plans').then((r) => r.items);

export const createPlan = (body: NewPlan) => request<Plan>('POST', '/api/v1/plans', body);

export const updatePlan = (id: number, body: Partial<NewPlan>) => request<Plan>('PATCH', `/api/v1/plans/${id}`, body);

/** Refused (409) while any subscription, even an ended one, uses the plan: disable it instead. */
export const deletePlan = (id: number) => request<void>('DELETE', `/api/v1/plans/${id}`);
