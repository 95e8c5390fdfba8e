// Subscriptions: a user's plan, its period and traffic, and what an admin may do with it.
import { query, request, type Page } from './http.js';

export type SubscriptionStatus = 'active' | 'expired' | 'suspended' | 'cancelled';

export interface Subscription {
  id: number;
  user_id: number;
  plan_id: number;
  start_time: string;
  end_time: string;
  traffic_used_bytes: number;
  traffic_total_bytes: number;
  status: SubscriptionStatus;
  suspended_reason: 'quota' | 'admin' | null;
}

export type SubscriptionAction = 'renew' | 'suspend' | 'resume' | 'reset-traffic' | 'cancel';

export const listSubscriptions = (options: { user_id?: number; plan_id?: number; status?: SubscriptionStatus; page?: number; per_page?: number }) =>
  request<Page<Subscription>>('GET', `/api/v1/subscriptions${query(options)}`);

export const assignPlan = (userId: number, planId: number) =>
  request<Subscription>('POST', '/api/v1/subscriptions', { user_id: userId, plan_id: planId });

export const changeSubscription = (id: number, action: SubscriptionAction) =>
  request<Subscription>('POST', `/api/v1/subscriptions/${id}/${action}`, {});
