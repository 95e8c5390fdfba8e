// A hub with data in every table, for the backup tests (backup.test.ts on SQLite, the move to
// MariaDB in backup.mariadb.test.ts), made through the API and the jobs as an operator's hub gets
// it: admins, users (the newest one deleted, so the next id is not max + 1), plans, subscriptions
// in several states (one reset by its plan's reset day, so recorded), an enrolled node (a real agent process with the ledger and singbox-config
// doubles) and an unreachable one, billed traffic, config versions and their objects, live figures,
// probe results, metrics samples, alerts with their notifications, a user event with its delivery, install commands, firewall rule sets
// and a node's failed firewall push, a batch command, a batch schedule with the fire times it missed,
// a paused rollout, profile template versions, the audit log, the JWT secret and job leases.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '../../agent-core/common/logger.js';
import type { AlertChannel } from '../../hub/db/models.js';
import { AlertEngine } from '../../hub/jobs/alerts.js';
import type { ChannelSender } from '../../hub/alerts/channels.js';
import { DEFAULT_CLASH_TEMPLATE } from '../../hub/subscriptions/formats/clash.js';
import { storeSamples } from '../../hub/jobs/metrics.js';
import { storeDescription } from '../../hub/node-status.js';
import { userEventsJob } from '../../hub/user-events/deliver.js';
import type { AgentProcess } from '../support/agent-process.js';
import type { TestHub } from '../support/hub.js';
import { enroll, nodeCommand, seedUnreachableNode } from './jobs.suite.js';

export const SEED_NODE = 'backup-hk-1';
/** An admin the seed creates, whose password the tests know (the test hub's owner has a random one). */
export const SEED_ADMIN = { username: 'ops-admin', password: 'correct horse battery' };
export const SEED_CONFIGS = [
  { log: { level: 'warn' }, inbounds: [{ type: 'vless', tag: 'vless-in', listen: '::', listen_port: 443 }], outbounds: [{ type: 'direct', tag: 'direct' }] },
  { log: { level: 'info' }, inbounds: [{ type: 'trojan', tag: 'trojan-in', listen: '::', listen_port: 8443 }], outbounds: [{ type: 'direct', tag: '直连' }] },
];

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Calls the hub's API as its owner; throws on an error answer. */
export async function api<T = any>(hub: TestHub, method: Method, url: string, payload?: object): Promise<T> {
  const res = await hub.app.inject({ method, url, payload, headers: hub.auth });
  if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`);
  return (res.statusCode === 204 ? undefined : res.json()) as T;
}

export interface Seeded {
  /** The id the deleted newest user had: the next user gets a higher one. */
  deletedUserId: number;
}

export async function seedHub(hub: TestHub, agent: AgentProcess, clock: { now: number }): Promise<Seeded> {
  await api(hub, 'POST', '/api/v1/admins', { ...SEED_ADMIN, role: 'admin' });
  const viewer = await api(hub, 'POST', '/api/v1/admins', { username: 'night-viewer', password: 'another long password', role: 'viewer' });
  await api(hub, 'PATCH', `/api/v1/admins/${viewer.id}`, { disabled: true });
  await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: SEED_ADMIN });

  await enroll(hub, agent, { tags: ['hk', 'premium'], multiplier: 1.5 });
  await seedUnreachableNode(hub.app.db, 'backup-us-1', ['us']);

  const gold = await api(hub, 'POST', '/api/v1/plans', {
    name: 'Gold', traffic_limit_bytes: 200 * 2 ** 30, duration_days: 30, price: 9.99, node_tags: ['hk'], reset_policy: 'monthly', reset_day: 5,
  });
  const big = await api(hub, 'POST', '/api/v1/plans', { name: 'Ten TB', traffic_limit_bytes: 10 * 2 ** 40, duration_days: 365, price: 1234.5, node_tags: ['hk', 'us'] });
  const trial = await api(hub, 'POST', '/api/v1/plans', { name: 'Trial', traffic_limit_bytes: 2 ** 30, duration_days: 3 });
  await api(hub, 'PATCH', `/api/v1/plans/${trial.id}`, { is_enabled: false });
  // A Clash profile template saved (checked structurally, no sing-box needed) and the sing-box one reset.
  await api(hub, 'PUT', '/api/v1/profile-templates/clash', { template: DEFAULT_CLASH_TEMPLATE.replace('log-level: info', 'log-level: warning'), name_pattern: '{node} {type}' });
  await api(hub, 'DELETE', '/api/v1/profile-templates/singbox');

  const users: Record<string, { id: number }> = {};
  for (const [name, note] of [
    ['alice', 'first customer ✓ 東京'],
    ['bob', "pays late; 'quotes' and \\backslashes\\"],
    ['carol', ''],
    ['dave', 'line one\nline two'],
    ['erin', 'leaves soon'],
  ] as const) {
    users[name] = await api(hub, 'POST', '/api/v1/users', { name, note });
  }
  await api(hub, 'POST', `/api/v1/users/${users.bob!.id}/token/rotate`);
  await api(hub, 'PATCH', `/api/v1/users/${users.dave!.id}`, { status: 'disabled' });
  const subscribe = (user: string, plan: { id: number }) => api(hub, 'POST', '/api/v1/subscriptions', { user_id: users[user]!.id, plan_id: plan.id });
  await subscribe('alice', gold);
  const bobs = await subscribe('bob', gold);
  const carols = await subscribe('carol', big);
  await api(hub, 'POST', `/api/v1/subscriptions/${carols.id}/suspend`, {});
  const daves = await subscribe('dave', gold);
  await api(hub, 'POST', `/api/v1/subscriptions/${daves.id}/cancel`, {});
  await subscribe('erin', big);
  await api(hub, 'DELETE', `/api/v1/users/${users.erin!.id}`);

  // Traffic over two hours, billed by the traffic job; the reconciler pushes users to the node.
  // Alice's is rolled up into usage_hourly, Bob's still pending.
  const hour = 3_600_000;
  await nodeCommand(hub, SEED_NODE, 'clash-stats.traffic.append', { user: 'alice', upload_bytes: 3 * 2 ** 30, download_bytes: 7 * 2 ** 30, count: 2, time: new Date(clock.now - 2 * hour).toISOString() });
  for (const job of ['reconcile', 'traffic', 'usage-rollup']) await hub.app.jobs.run(job);
  await nodeCommand(hub, SEED_NODE, 'clash-stats.traffic.append', { user: 'bob', upload_bytes: 12_345, download_bytes: 678_901, count: 3, time: new Date(clock.now - hour).toISOString() });
  // Bob's last reset was before Gold's reset day this month (the 5th): the quota job resets him, recording it.
  await hub.app.db('subscriptions').where({ id: bobs.id }).update({ last_reset_at: clock.now - 3 * 24 * hour });
  for (const job of ['traffic', 'quota']) await hub.app.jobs.run(job);
  // Renewing Bob is a user event; sent through a stand-in webhook, it has a delivery.
  await api(hub, 'POST', `/api/v1/subscriptions/${bobs.id}/renew`, { days: 30 });
  const events = userEventsJob({ db: hub.app.db, config: hub.config, now: () => clock.now, logger: createLogger({ service: 'hub', level: 'error' }), channels: new Map([['webhook', async () => {}]]) });
  await events();

  for (const [i, config] of SEED_CONFIGS.entries()) {
    const version = await api(hub, 'POST', '/api/v1/configs', { config, comment: `version ${i + 1} — ${i ? 'trojan' : 'vless'}` });
    if (i === 0) await api(hub, 'POST', `/api/v1/configs/${version.id}/apply`, { node_id: SEED_NODE });
    // A staged rollout of the second version, paused before its first stage.
    if (i === 1) {
      const rollout = await api(hub, 'POST', '/api/v1/rollouts', { version: version.id, target: { node_ids: [SEED_NODE] }, gate: { soak_s: 60 } });
      await api(hub, 'POST', `/api/v1/rollouts/${rollout.id}/pause`);
    }
  }

  await nodeCommand(hub, SEED_NODE, 'clash-stats.summary.set', { connections: 12, online_clients: 4, upload_total: 5 * 2 ** 40, download_total: 2 ** 41, sampled_at: new Date(clock.now).toISOString() });
  await hub.app.jobs.run('live');
  // Nothing listens on the seed config's inbounds: each one's failed check is kept.
  await hub.app.jobs.run('inbound-check');
  // health-probe's results and the node's inventory, as the probes job stores them.
  await hub.app.jobs.run('probes');

  // Metrics samples as the metrics job stores them; CPU crosses the alert threshold and back.
  const minute = 60_000;
  const sample = (minutes: number, cpu_percent: number) => ({
    node: SEED_NODE, kind: 'cpu-memory' as const, time: new Date(clock.now - minutes * minute).toISOString(),
    values: { cpu_percent, memory_total_bytes: 2 ** 30, memory_used_bytes: 0.25 * 2 ** 30, memory_available_bytes: 0.75 * 2 ** 30 },
  });
  const channels = new Map<AlertChannel, ChannelSender>([
    ['webhook', async () => {}],
    ['telegram', async () => Promise.reject(new Error('telegram: 502 Bad Gateway'))],
  ]);
  const engine = new AlertEngine({ db: hub.app.db, config: hub.config, now: () => clock.now, logger: createLogger({ service: 'hub', level: 'error' }), channels });
  await storeSamples(hub.app.db, [sample(10, 20.5), sample(9, 91.25), { node: SEED_NODE, kind: 'disk-network' as const, time: new Date(clock.now - 9 * minute).toISOString(), values: { disk_used_percent: 40, rx_bytes_per_s: null } }]);
  await engine.tick();
  await storeSamples(hub.app.db, [sample(8, 95), sample(7, 10)]);
  await engine.tick();
  await storeSamples(hub.app.db, [sample(6, 99.9)]);
  await engine.tick();

  // Firewall rule sets; backup-us-1 described a firewall plugin before it went away, so the
  // firewall job records its failed push.
  await api(hub, 'POST', '/api/v1/firewall/rule-sets', {
    name: 'Abuse',
    tags: ['us'],
    comment: 'from the abuse desk — 東京',
    rules: [
      { id: 'scanner', kind: 'source_ip', value: '198.51.100.0/24', comment: 'port scans' },
      { id: 'smtp', kind: 'destination_port', port: 25, protocol: 'tcp' },
    ],
  });
  await api(hub, 'POST', '/api/v1/firewall/rule-sets', { name: 'Everywhere', rules: [{ id: 'p2p', kind: 'bittorrent' }] });
  const firewall = { name: 'firewall.rules.sync', description: '', input: {}, output: {}, mutates: true, role: 'admin', timeoutMs: 90_000 };
  await storeDescription(
    hub.app.db,
    'backup-us-1',
    { agentVersion: '0.1.0', nodeId: 'backup-us-1', plugins: [{ id: 'firewall', version: '0.1.0', state: 'running', healthy: true, message: '', commands: [firewall], events: [] }] },
    clock.now - minute,
  );
  await hub.app.jobs.run('firewall');

  // Install commands for new nodes: one pending, one revoked (the hub needs an agent release to offer).
  const tarball = 'boxfleet-agent-9.9.9-linux-amd64.tar.gz';
  await mkdir(hub.config.release_dir, { recursive: true });
  await writeFile(path.join(hub.config.release_dir, tarball), 'a stand-in: the tarball is only named and summed here');
  await writeFile(path.join(hub.config.release_dir, 'SHA256SUMS'), `${'0'.repeat(64)}  ${tarball}\n`);
  await api(hub, 'POST', '/api/v1/nodes/install-tokens', { tags: ['hk'], name: 'hk-2' });
  const revoked = await api(hub, 'POST', '/api/v1/nodes/install-tokens', { tags: ['us'], multiplier: 1.5 });
  await api(hub, 'DELETE', `/api/v1/nodes/install-tokens/${revoked.id}`);

  // A batch command on every node: the enrolled one answers, the unreachable one fails.
  await api(hub, 'POST', '/api/v1/batches', { target: { all: true }, command: 'singbox-config.status' });
  await hub.app.jobs.run('batches');

  // A schedule whose hubs were down for the last hour: its fire times in it are recorded missed.
  const schedule = await api(hub, 'POST', '/api/v1/batch-schedules', {
    name: 'hk status',
    cron: '*/20 * * * *',
    timezone: 'Asia/Shanghai',
    batch: { target: { tags: ['hk'] }, command: 'singbox-config.status' },
  });
  await hub.app.db('batch_schedules').where({ id: schedule.id }).update({ checked_until: clock.now - hour });
  await hub.app.jobs.run('batch-schedules');
  return { deletedUserId: users.erin!.id };
}
