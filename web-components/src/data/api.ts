// Everything the dashboard asks the hub, as plain functions. Components never call fetch.
import type { AgentDescription } from '../../../agent-core/common/description.js';
import type { Role } from '../../../agent-core/common/roles.js';
import type { Sample } from '../../../plugins/sysmetrics/contract.js';

const TOKEN_KEY = 'boxfleet.token';

/** Sent on window when the hub no longer accepts the session (expired, or the admin was disabled). */
export const SESSION_ENDED = 'bf-session-ended';

/** A failed API call, with the hub's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function session(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function signOut(): void {
  localStorage.removeItem(TOKEN_KEY);
}

async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const token = session();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  if (!res.ok) {
    const error = (data ?? {}) as { code?: string; message?: string };
    if (res.status === 401) {
      signOut();
      window.dispatchEvent(new Event(SESSION_ENDED));
    }
    throw new ApiError(res.status, error.code ?? 'HUB_ERR_INTERNAL', error.message ?? res.statusText);
  }
  return data as T;
}


export interface Admin {
  id: number;
  username: string;
  role: Role;
}

export async function signIn(username: string, password: string): Promise<Admin> {
  const result = await request<{ token: string; admin: Admin }>('POST', '/api/v1/auth/login', { username, password });
  localStorage.setItem(TOKEN_KEY, result.token);
  return result.admin;
}

export const currentAdmin = () => request<Admin>('GET', '/api/v1/auth/me');

/** Ends the admin's sessions on the hub (every browser it signed in on), then forgets the token here. */
export async function logOut(): Promise<void> {
  // Forgotten here even when the hub cannot be reached: the browser is signed out either way.
  await request<void>('POST', '/api/v1/auth/logout').catch(() => undefined);
  signOut();
}

/** Where clients reach one inbound instead of the node's public host and the inbound's port. */
export interface InboundOverride {
  host?: string;
  port?: number;
}

export interface NodeSummary {
  id: string;
  name: string;
  /** The agent's gRPC address, which the hub dials. */
  address: string;
  /** What users' clients dial; null: the host of `address`. */
  public_host: string | null;
  /** By inbound tag. */
  inbound_overrides: Record<string, InboundOverride>;
  tags: string[];
  multiplier: number;
  enabled: boolean;
  online: boolean;
  error: string | null;
  agent: { agentVersion: string; plugins: { id: string; state: string; healthy: boolean }[] } | null;
  /** Set while the node serves a config other than the version the hub applied to it. */
  config_drift: ConfigDrift | null;
}

/** The base config hash a node serves against the one the hub expects, and since when they differ. */
export interface ConfigDrift {
  served_hash: string | null;
  expected_hash: string | null;
  since: string;
}

export const listNodes = () => request<{ nodes: NodeSummary[] }>('GET', '/api/v1/nodes').then((r) => r.nodes);

/** Adds a node from the enrollment string its agent printed; the hub dials it before saying yes. */
export const enrollNode = (body: { enrollment: string; tags?: string[]; name?: string; multiplier?: number }) =>
  request<NodeSummary>('POST', '/api/v1/nodes', body);

/** What an admin may change on a node (PATCH /api/v1/nodes/:id); new tags re-sync its users. */
export type NodeSettings = Partial<Pick<NodeSummary, 'name' | 'address' | 'public_host' | 'inbound_overrides' | 'tags' | 'multiplier' | 'enabled'>>;

export const updateNode = (id: string, settings: NodeSettings) => request<NodeSummary>('PATCH', `/api/v1/nodes/${encodeURIComponent(id)}`, settings);

/** Removes the node from the hub; its agent and sing-box keep running as they are. */
export const deleteNode = (id: string) => request<void>('DELETE', `/api/v1/nodes/${encodeURIComponent(id)}`);


export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}

/** `?a=1&b=x`, leaving out empty values. */
function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

// ---- Nodes ----

export interface NodeDetail extends Omit<NodeSummary, 'agent'> {
  agent: AgentDescription | null;
  /** The base config version the hub wants on the node, and the one the node runs. */
  desired_config_version: number | null;
  applied_config_version: number | null;
}

/** What a new node gets when its install command adds it. */
export interface InstallCommandSettings {
  tags?: string[];
  name?: string;
  multiplier?: number;
}

/** A new install command: `command` is shown once, here; the hub keeps only a hash of its token. */
export interface InstallCommand {
  id: number;
  command: string;
  expires_at: string;
  /** The Linux architectures the hub has an agent tarball for. */
  architectures: string[];
  version: string;
}

export type InstallCommandStatus = 'pending' | 'used' | 'expired' | 'revoked';

export interface InstallCommandSummary {
  id: number;
  status: InstallCommandStatus;
  name: string | null;
  tags: string[];
  multiplier: number | null;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_by_node: string | null;
}

/** Refused (503) while the hub's release folder holds no agent tarball; the message says where to put one. */
export const createInstallCommand = (settings: InstallCommandSettings) => request<InstallCommand>('POST', '/api/v1/nodes/install-tokens', settings);

export const listInstallCommands = (status: InstallCommandStatus) =>
  request<Page<InstallCommandSummary>>('GET', `/api/v1/nodes/install-tokens${query({ status, per_page: 200 })}`).then((r) => r.items);

/** Running a revoked command only prints that it was revoked. */
export const revokeInstallCommand = (id: number) => request<void>('DELETE', `/api/v1/nodes/install-tokens/${id}`);

export const getNode = (id: string) => request<NodeDetail>('GET', `/api/v1/nodes/${encodeURIComponent(id)}`);

export const runCommand = (nodeId: string, command: string, input: unknown) =>
  request<unknown>('POST', `/api/v1/nodes/${encodeURIComponent(nodeId)}/commands/${encodeURIComponent(command)}`, input);

// ---- Users ----

export type UserStatus = 'active' | 'disabled';

export interface User {
  id: number;
  name: string;
  note: string;
  status: UserStatus;
  created_at: string;
}

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

export interface UserDetail extends User {
  subscription: Subscription | null;
}

export const listUsers = (options: { q?: string; status?: UserStatus; page?: number; per_page?: number }) =>
  request<Page<User>>('GET', `/api/v1/users${query(options)}`);

export const getUser = (id: number) => request<UserDetail>('GET', `/api/v1/users/${id}`);

export const createUser = (body: { name: string; note?: string }) => request<User>('POST', '/api/v1/users', body);

/** The name cannot change: sing-box knows the user by it. */
export const updateUser = (id: number, body: { note?: string; status?: UserStatus }) => request<User>('PATCH', `/api/v1/users/${id}`, body);

export const deleteUser = (id: number) => request<void>('DELETE', `/api/v1/users/${id}`);

// ---- Plans ----

export interface Plan {
  id: number;
  name: string;
  traffic_limit_bytes: number;
  duration_days: number;
  price: number;
  is_enabled: boolean;
  node_tags: string[];
  reset_policy: 'none' | 'monthly';
  created_at: string;
}

export type NewPlan = Pick<Plan, 'name' | 'traffic_limit_bytes' | 'duration_days'> & Partial<Pick<Plan, 'price' | 'node_tags' | 'reset_policy' | 'is_enabled'>>;

export const listPlans = () => request<{ items: Plan[] }>('GET', '/api/v1/plans').then((r) => r.items);

export const createPlan = (body: NewPlan) => request<Plan>('POST', '/api/v1/plans', body);

export const updatePlan = (id: number, body: Partial<NewPlan>) => request<Plan>('PATCH', `/api/v1/plans/${id}`, body);

/** Refused (409) while any subscription, even an ended one, uses the plan: disable it instead. */
export const deletePlan = (id: number) => request<void>('DELETE', `/api/v1/plans/${id}`);

// ---- Subscriptions ----

export type SubscriptionAction = 'renew' | 'suspend' | 'resume' | 'reset-traffic' | 'cancel';

export const listSubscriptions = (options: { user_id?: number; plan_id?: number; status?: SubscriptionStatus; page?: number; per_page?: number }) =>
  request<Page<Subscription>>('GET', `/api/v1/subscriptions${query(options)}`);

export const assignPlan = (userId: number, planId: number) =>
  request<Subscription>('POST', '/api/v1/subscriptions', { user_id: userId, plan_id: planId });

export const changeSubscription = (id: number, action: SubscriptionAction) =>
  request<Subscription>('POST', `/api/v1/subscriptions/${id}/${action}`, {});

// ---- Audit ----

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

// ---- Admin accounts (owner only) ----

export interface AdminAccount extends Admin {
  disabled: boolean;
  created_at: string;
  last_login_at: string | null;
}

export const listAdmins = () => request<{ items: AdminAccount[] }>('GET', '/api/v1/admins').then((r) => r.items);

export const createAdminAccount = (body: { username: string; password: string; role: Role }) =>
  request<AdminAccount>('POST', '/api/v1/admins', body);

export const updateAdminAccount = (id: number, body: { role?: Role; disabled?: boolean; password?: string }) =>
  request<AdminAccount>('PATCH', `/api/v1/admins/${id}`, body);

/** Refused (409) for your own account and for the last enabled owner. */
export const deleteAdminAccount = (id: number) => request<void>('DELETE', `/api/v1/admins/${id}`);

// ---- The fleet at a glance ----

export interface Overview {
  nodes_online: number;
  nodes_offline: number;
  active_users: number;
  traffic_today_bytes: number;
  open_alerts: number;
}

export const getOverview = () => request<Overview>('GET', '/api/v1/overview');

export type AlertRule = 'cpu' | 'memory' | 'disk' | 'offline' | 'ledger_backlog';

export interface Alert {
  id: number;
  node_id: string;
  rule: AlertRule;
  state: 'firing' | 'resolved';
  /** Percent for cpu, memory and disk; seconds for offline; entries for ledger_backlog. */
  value: number;
  last_value: number;
  threshold: number;
  fired_at: string;
  resolved_at: string | null;
}

export const listAlerts = (options: { state?: Alert['state']; node_id?: string; page?: number; per_page?: number }) =>
  request<Page<Alert>>('GET', `/api/v1/alerts${query(options)}`);

// ---- Metrics and traffic (charts) ----

/** A sysmetrics sample as the hub stores and streams it. */
export type MetricSample = Sample;

/** Stored samples of a node between two times (default: the last 24 hours). */
export const getNodeMetrics = (nodeId: string, from?: string, to?: string) =>
  request<{ node: string; samples: MetricSample[]; truncated: boolean }>(
    'GET',
    `/api/v1/nodes/${encodeURIComponent(nodeId)}/metrics${query({ from, to })}`,
  ).then((r) => r.samples);

export interface DailyUsage {
  day: string;
  upload_bytes: number;
  download_bytes: number;
  billed_bytes: number;
}

/** The fleet's traffic per UTC day, the last `days` days, today last. */
export const getDailyUsage = (days = 7) => request<DailyUsage[]>('GET', `/api/v1/usage/daily${query({ days })}`);

// ---- Base config versions ----

export interface ConfigVersion {
  id: number;
  hash: string;
  size: number;
  comment: string;
  author: string;
  created_at: string;
}

/**
 * One entry of a node's config history: a version pushed (apply or rollback; applied, or the node's
 * refusal, sing-box's message), or a drift found (version: the one whose hash the node serves, if any).
 */
export interface ConfigPush {
  version: number | null;
  hash: string | null;
  action: 'apply' | 'rollback' | 'drift-detected';
  time: string;
  by: string;
  applied: boolean;
  error: string | null;
}

export interface NodeConfigHistory {
  node_id: string;
  applied_config_version: number | null;
  desired_config_version: number | null;
  pushes: ConfigPush[];
}

/** What a node did with a version: it runs it, or it is offline and gets it when it returns. */
export interface ApplyResult {
  node_id: string;
  status: 'applied' | 'pending';
  version: number;
  applied_config_version: number | null;
  error: string | null;
}

export const listConfigVersions = (limit = 50, offset = 0) =>
  request<{ versions: ConfigVersion[]; total: number }>('GET', `/api/v1/configs${query({ limit, offset })}`);

export const getConfigVersion = (id: number) => request<ConfigVersion & { config: unknown }>('GET', `/api/v1/configs/${id}`);

/** The tags of the inbounds in a config version, in its order. */
export const inboundTagsOf = (id: number) =>
  getConfigVersion(id).then(({ config }) => {
    const inbounds = (config as { inbounds?: unknown } | null)?.inbounds;
    return Array.isArray(inbounds) ? inbounds.map((i) => (i as { tag?: unknown }).tag).filter((tag): tag is string => typeof tag === 'string') : [];
  });

/** Saves a new version; the hub refuses (400, naming the field) what the agent manages itself. */
export const saveConfigVersion = (config: unknown, comment: string) =>
  request<ConfigVersion>('POST', '/api/v1/configs', { config, comment });

/** Applies a version to one node; a node that refuses it answers with its message (an ApiError). */
export const applyConfigVersion = (id: number, nodeId: string) => request<ApplyResult>('POST', `/api/v1/configs/${id}/apply`, { node_id: nodeId });

/** What every node with a tag did with a version (refusals are results here, not errors). */
export interface TagApplyResult {
  version: number;
  tag: string;
  applied: number;
  pending: number;
  refused: number;
  results: (Omit<ApplyResult, 'status'> & { status: ApplyResult['status'] | 'refused' })[];
}

/** Applies a version to every node with the tag, a few at a time. */
export const applyConfigVersionToTag = (id: number, tag: string) => request<TagApplyResult>('POST', `/api/v1/configs/${id}/apply`, { tag });

export const getNodeConfigHistory = (nodeId: string) =>
  request<NodeConfigHistory>('GET', `/api/v1/nodes/${encodeURIComponent(nodeId)}/config/history`);

/** Back to the version the node ran before its current one. */
export const rollBackNodeConfig = (nodeId: string) => request<ApplyResult>('POST', `/api/v1/nodes/${encodeURIComponent(nodeId)}/config/rollback`);
