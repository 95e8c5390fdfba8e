// The hub's scheduled jobs (traffic, usage-rollup, quota, reconcile, firewall, metrics, alerts,
// user-events, node-status, inbound-check, rollouts, probes, batches, batch-schedules) as one
// Fastify plugin, `app.jobs`; the `live` job (jobs/live.ts) registers itself beside them.
//
// Each tick runs under a fleet-wide lease in job_leases, so with several hubs on one database each
// tick runs once: a hub takes the lease when it has expired or is already its own, keeps it alive
// while a long tick runs, and gives its leases up when it closes. Timers start when the hub
// listens (and jobs_enabled is on), so tests that drive the app with inject() have none and call
// app.jobs.run(name) instead.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';
import type { Knex } from 'knex';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AppLogger } from '../../agent-core/common/logger.js';
import { entrySpan } from '../../agent-core/common/tracing.js';
import type { HubConfig } from '../config.js';
import { createBatch } from '../batches/index.js';
import { BatchRunner } from '../batches/runner.js';
import { JOB as SCHEDULES_JOB, runSchedulesJob } from '../batches/schedule-runner.js';
import { rolloutsJob } from '../rollouts/runner.js';
import { userEventsJob } from '../user-events/deliver.js';
import { userEventRules } from '../user-events/record.js';
import { AlertEngine } from './alerts.js';
import { withRetry } from './common.js';
import { FirewallPusher } from './firewall.js';
import { inboundChecker } from './inbound-check.js';
import { runMetricsJob } from './metrics.js';
import { runNodeStatusJob } from './node-status.js';
import { runProbesJob } from './probes.js';
import { runQuotaJob } from './quota.js';
import { Reconciler } from './reconcile.js';
import { runTrafficJob } from './traffic.js';
import { runUsageRollup } from './usage-rollup.js';

export interface JobDefinition<Result = unknown> {
  name: string;
  intervalMs: number;
  tick(): Promise<Result>;
  /** Jobs to run right after a timer tick with this result (the quota job after traffic was billed). */
  then?(result: Result): string[];
  /** Told when the hub closes, before its ticks in flight are waited for: a long tick ends early. */
  stop?(): void;
}

/** What the last tick left; the counts (runs, failures, time spent) are the Prometheus figures. */
export interface JobStats {
  last_started_at: number | null;
  last_error: string | null;
  last_result: unknown;
}

/** The jobs' Prometheus figures, one series per job (`name`: `job` is Prometheus' own label). */
function jobMetrics(registry: Registry) {
  const common = { labelNames: ['name'] as const, registers: [registry] };
  return {
    runs: new Counter({ name: 'boxfleet_hub_job_runs_total', help: 'Job ticks this hub ran to the end.', ...common }),
    failures: new Counter({ name: 'boxfleet_hub_job_failures_total', help: 'Job ticks that failed.', ...common }),
    skipped: new Counter({ name: 'boxfleet_hub_job_skipped_total', help: 'Job ticks left to another hub holding the lease.', ...common }),
    seconds: new Counter({ name: 'boxfleet_hub_job_duration_seconds_total', help: 'Time spent in job ticks.', ...common }),
    lastSeconds: new Gauge({ name: 'boxfleet_hub_job_last_duration_seconds', help: 'Duration of the last tick.', ...common }),
    running: new Gauge({ name: 'boxfleet_hub_job_running', help: '1 while a tick runs.', ...common }),
  };
}

export type JobRun = { ran: true; result: unknown; duration_ms: number } | { ran: false; holder: string };

const HEARTBEATS_PER_LEASE = 3;

export class Scheduler {
  /** This hub in job_leases: host, pid and a random part (two apps in one process differ). */
  readonly holder = `${hostname().slice(0, 60)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly jobs = new Map<string, { definition: JobDefinition<any>; stats: JobStats; queue: Promise<unknown> }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private started = false;
  private readonly metrics: ReturnType<typeof jobMetrics>;

  constructor(
    private readonly db: Knex,
    private readonly now: () => number,
    private readonly logger: AppLogger,
    registry: Registry,
  ) {
    this.metrics = jobMetrics(registry);
  }

  add<Result>(definition: JobDefinition<Result>): void {
    if (!/^[a-z][a-z0-9-]{0,63}$/.test(definition.name)) throw new Error(`job name ${definition.name} must be kebab-case`);
    if (this.jobs.has(definition.name)) throw new Error(`job ${definition.name} is added twice`);
    this.jobs.set(definition.name, {
      definition,
      queue: Promise.resolve(),
      stats: { last_started_at: null, last_error: null, last_result: null },
    });
    // Every job has its series from the start, so a rate() over a job that never ran reads 0.
    for (const metric of Object.values(this.metrics)) metric.inc({ name: definition.name }, 0);
  }

  names(): string[] {
    return [...this.jobs.keys()];
  }

  /**
   * Runs one tick of the job now, if this hub gets its lease; ticks of one job on one hub never
   * overlap (a call while one runs waits for it, then runs its own). A failing tick rejects.
   */
  run(name: string): Promise<JobRun> {
    const job = this.jobs.get(name);
    if (!job) return Promise.reject(new Error(`no job ${name}; jobs: ${this.names().join(', ')}`));
    const next = job.queue.then(() => this.tick(job.definition, job.stats));
    job.queue = next.catch(() => undefined);
    return next;
  }

  private async tick(definition: JobDefinition, stats: JobStats): Promise<JobRun> {
    const ttl = definition.intervalMs;
    const labels = { name: definition.name };
    let acquired: boolean;
    try {
      acquired = await withRetry(() => this.acquire(definition.name, ttl));
    } catch (error) {
      this.metrics.failures.inc(labels);
      stats.last_error = `job lease: ${(error as Error).message}`;
      throw error;
    }
    if (!acquired) {
      this.metrics.skipped.inc(labels);
      const row = await this.db('job_leases').where({ name: definition.name }).first();
      return { ran: false, holder: String(row?.holder ?? 'another hub') };
    }
    // A tick longer than the lease keeps it, so no other hub starts the same job meanwhile.
    const heartbeat = setInterval(() => {
      this.db('job_leases')
        .where({ name: definition.name, holder: this.holder })
        .update({ expires_at: this.now() + ttl })
        .catch((error: Error) => this.logger.warn('job lease renewal failed', { job: definition.name, error: error.message }));
    }, Math.max(50, Math.floor(ttl / HEARTBEATS_PER_LEASE)));
    const started = performance.now();
    // The process's CPU while the tick ran (other work meanwhile included), for the debug line.
    const cpuBefore = process.cpuUsage();
    this.metrics.running.set(labels, 1);
    stats.last_started_at = this.now();
    try {
      // A trace per tick, so the calls a job makes to agents hang together.
      const result = await entrySpan(`job/${definition.name}`, () => definition.tick());
      this.metrics.runs.inc(labels);
      stats.last_result = result;
      stats.last_error = null;
      return { ran: true, result, duration_ms: Math.round(performance.now() - started) };
    } catch (error) {
      this.metrics.failures.inc(labels);
      stats.last_error = (error as Error).message;
      throw error;
    } finally {
      clearInterval(heartbeat);
      const duration = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      this.metrics.running.set(labels, 0);
      this.metrics.lastSeconds.set(labels, duration / 1000);
      this.metrics.seconds.inc(labels, duration / 1000);
      this.logger.debug('job tick', { job: definition.name, duration_ms: Math.round(duration), cpu_ms: Math.round((cpu.user + cpu.system) / 1000), error: stats.last_error ?? undefined });
    }
  }

  /** Takes or renews the lease: a set-based UPDATE that only succeeds when it is free or ours. */
  private async acquire(name: string, ttl: number): Promise<boolean> {
    const now = this.now();
    const taken = await this.db('job_leases')
      .where({ name })
      .andWhere((q) => q.where('expires_at', '<', now).orWhere('holder', this.holder))
      .update({ holder: this.holder, expires_at: now + ttl });
    if (taken > 0) return true;
    if (await this.db('job_leases').where({ name }).first()) return false;
    try {
      await this.db('job_leases').insert({ name, holder: this.holder, expires_at: now + ttl });
      return true;
    } catch {
      // Another hub inserted the row first (or the database failed, which the read says).
      const row = await this.db('job_leases').where({ name }).first();
      return row?.holder === this.holder;
    }
  }

  /** Starts every job's timer: each tick is scheduled when the previous one ended. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const { definition } of this.jobs.values()) this.schedule(definition);
    this.logger.info('jobs started', { holder: this.holder, jobs: Object.fromEntries(this.names().map((n) => [n, this.jobs.get(n)!.definition.intervalMs])) });
  }

  private schedule(definition: JobDefinition): void {
    const timer = setTimeout(async () => {
      try {
        const outcome = await this.run(definition.name);
        for (const next of outcome.ran && definition.then ? definition.then(outcome.result) : []) {
          if (this.started) await this.run(next);
        }
      } catch (error) {
        this.logger.error('job failed', { job: definition.name, error: (error as Error).message });
      }
      if (this.started) this.schedule(definition);
    }, definition.intervalMs);
    timer.unref();
    this.timers.set(definition.name, timer);
  }

  /** Stops the timers, waits for ticks in flight and gives this hub's leases to the others. */
  async stop(): Promise<void> {
    this.started = false;
    for (const { definition } of this.jobs.values()) definition.stop?.();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.jobs.values()].map((j) => j.queue));
    await this.db('job_leases').where({ holder: this.holder }).update({ expires_at: 0 }).catch(() => undefined);
  }

  stats(): Record<string, JobStats> {
    return Object.fromEntries([...this.jobs].map(([name, { stats }]) => [name, { ...stats }]));
  }
}

export interface HubJobs extends Scheduler {
  /** Pushes config and users to nodes; the config routes run it for one node synchronously. */
  readonly reconciler: Reconciler;
}

declare module 'fastify' {
  interface FastifyInstance {
    jobs: HubJobs;
  }
}

export const jobsPlugin = fp<{ config: HubConfig; logger: AppLogger }>(
  async (app, { config, logger }) => {
    const deps = { db: app.db, agents: app.agents, now: () => app.now(), logger };
    const reconciler = new Reconciler({ ...deps, objects: app.objects });
    const jobs: HubJobs = Object.assign(new Scheduler(app.db, deps.now, logger, app.prometheus), { reconciler });
    jobs.add({
      name: 'traffic',
      intervalMs: config.traffic_interval_s * 1000,
      tick: () => runTrafficJob(deps),
      // Bill, then enforce at once: a subscription that crossed its quota reaches its nodes at the
      // next reconcile tick instead of a quota interval later.
      then: (result) => (result.entries > 0 ? ['quota'] : []),
    });
    const userEvents = userEventRules(config);
    jobs.add({ name: 'quota', intervalMs: config.quota_interval_s * 1000, tick: () => runQuotaJob({ ...deps, timeZone: config.reset_timezone, userEvents }) });
    jobs.add({ name: 'usage-rollup', intervalMs: config.usage_rollup_interval_s * 1000, tick: () => runUsageRollup(deps) });
    jobs.add({ name: 'reconcile', intervalMs: config.reconcile_interval_s * 1000, tick: () => reconciler.tick() });
    // Firewall rules are desired state pushed like users, so on the reconciler's interval.
    const firewall = new FirewallPusher(deps);
    jobs.add({ name: 'firewall', intervalMs: config.reconcile_interval_s * 1000, tick: () => firewall.tick() });
    jobs.add({
      name: 'metrics',
      intervalMs: config.metrics_interval_s * 1000,
      tick: () => runMetricsJob({ ...deps, retentionDays: config.metrics_retention_days }),
    });
    const alerts = new AlertEngine({ db: app.db, config, now: deps.now, logger });
    jobs.add({ name: 'alerts', intervalMs: config.alerts_interval_s * 1000, tick: () => alerts.tick() });
    // User events (hub/user-events): the quota job and the renew route record them; this job
    // sends them, on the alerts' interval.
    jobs.add({ name: 'user-events', intervalMs: config.alerts_interval_s * 1000, tick: userEventsJob({ db: app.db, config, now: deps.now, logger }) });
    jobs.add({ name: 'node-status', intervalMs: config.node_status_interval_s * 1000, tick: () => runNodeStatusJob(deps) });
    if (config.inbound_check_interval_s > 0) {
      const tick = inboundChecker({ db: app.db, objects: app.objects, config, now: deps.now, logger });
      jobs.add({ name: 'inbound-check', intervalMs: config.inbound_check_interval_s * 1000, tick });
    }
    // Staged config rollouts (hub/rollouts): a short interval, as a stage's gate is watched in seconds.
    jobs.add({ name: 'rollouts', intervalMs: config.rollouts_interval_s * 1000, tick: rolloutsJob({ ...deps, objects: app.objects, reconciler, config }) });
    jobs.add({ name: 'probes', intervalMs: config.probes_interval_s * 1000, tick: () => runProbesJob(deps) });
    // Batch commands (hub/batches): a tick runs until no node of any batch is left running.
    const batches = new BatchRunner({ ...deps, pollMs: config.batches_interval_s * 1000 });
    jobs.add({ name: 'batches', intervalMs: config.batches_interval_s * 1000, tick: () => batches.tick(), stop: () => batches.stop() });
    // Batch schedules: every second, so a fire time's batch is created within about a second of it.
    const schedules = { db: app.db, now: deps.now, logger, createBatch, missedAfterMs: config.schedule_missed_after_s * 1000 };
    jobs.add({ name: SCHEDULES_JOB, intervalMs: 1000, tick: () => runSchedulesJob(schedules) });
    app.decorate('jobs', jobs);
    if (config.jobs_enabled) app.addHook('onListen', async () => jobs.start());
    app.addHook('onClose', async () => jobs.stop());
  },
  { name: 'jobs', dependencies: ['database', 'agents', 'object-store', 'prometheus'] },
);
