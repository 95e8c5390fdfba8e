// Putting a base config and users in service: render with the other plugins' contributions, then
// apply.ts's check → replace → reload → verify, and keeping the state in step with what sing-box
// serves. Also owns the runner (supervisor.ts) and sends the managed users again after sing-box
// came back on its own.
import path from 'node:path';
import { FailedPreconditionError, UnavailableError } from '../../agent-core/sdk.js';
import { applyServed, servedState, toServed, verify, type ApplyEnv, type BadConfig, type Served } from './apply.js';
import { resolveBinary } from './binary.js';
import type { SyncUser } from './contract.js';
import type { Peers } from './peers.js';
import { hasConfigUserInbound, managedInbounds, render, type SingboxConfig } from './render.js';
import { newPrefix, syncSsmUsers } from './ssm.js';
import { messageOf, type Context, type State } from './state.js';
import type { BaseState, UsersState } from './store.js';
import { createProcessRunner, createSystemdRunner, type Runner, type RunnerHooks } from './supervisor.js';
import { servedUsers } from './users.js';

export interface Serving {
  readonly runner: Runner;
  /** What apply.ts needs to put `target` in service (or restore the config in service before it). */
  envFor(target: readonly SyncUser[]): ApplyEnv;
  /**
   * Renders `nextBase` with the served users of `nextUsers` and puts it in service. A users-only
   * change that leaves the file as it is (managed inbounds only) goes through the SSM API, no reload.
   */
  commit(
    action: string,
    nextBase: BaseState,
    nextUsers: UsersState | undefined,
    options: { bad: BadConfig; force?: boolean; usersChanged?: boolean },
  ): Promise<{ changed: boolean; reloaded: boolean; served: Served }>;
  /** A base config now in service becomes the current version and joins the history. */
  keepVersion(next: BaseState, inService: Served): Promise<void>;
  /** At plugin start: watch (or start) sing-box, and bring what it serves back in line with the state. */
  start(): Promise<void>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function createServing(ctx: Context, state: State, peers: Peers): Serving {
  const { settings, configPath, workDir, store, history } = state;
  const { logger } = ctx;

  async function binary(): Promise<string> {
    const resolved = await resolveBinary(settings.binary);
    if ('reason' in resolved) throw new FailedPreconditionError(`sing-box not found: ${resolved.reason}; set plugins.singbox-config.binary`);
    return resolved.file;
  }

  const hooks: RunnerHooks = {
    logger,
    serialize: state.serialize,
    onExit: (info) => ctx.emit('singbox.exited', info),
    async onRestarted() {
      state.reloads += 1;
      await resendManagedUsers();
    },
  };
  const runner: Runner =
    settings.mode === 'systemd'
      ? createSystemdRunner(settings.systemd_unit, hooks)
      : createProcessRunner(
          { binary, binaryName: path.basename(settings.binary), configPath, workDir, backoffMaxS: settings.restart_backoff_max_s },
          hooks,
        );

  function envFor(target: readonly SyncUser[]): ApplyEnv {
    return {
      binary,
      configPath,
      workDir,
      verifyTimeoutMs: settings.verify_timeout_ms,
      runner,
      logger,
      sample: peers.sample,
      // `state.users` is still the state in service before this apply, so a restored config gets its own users back.
      afterStart: (config, which) => syncSsmUsers(config, which === 'new' ? target : servedUsers(state.users)),
    };
  }

  /** After sing-box came back on its own config: wait until it listens, then send the managed users again. */
  async function resendManagedUsers(): Promise<void> {
    const { served } = state;
    if (!served || managedInbounds(served.config).length === 0) return;
    const env = envFor(servedUsers(state.users));
    const problem = await verify(env, served.config, []);
    if (problem) throw new UnavailableError(`sing-box is not ready for its managed users: ${problem}`);
    await env.afterStart(served.config, 'new');
  }

  async function renderFor(baseConfig: SingboxConfig, target: readonly SyncUser[]): Promise<Served> {
    const firewall = await peers.call<{ route_rules?: unknown; rule_sets?: unknown }>('firewall.singbox-contribution', {});
    if (firewall && !Array.isArray(firewall.route_rules)) throw new UnavailableError('firewall.singbox-contribution returned no route_rules array');
    if (firewall?.rule_sets !== undefined && !Array.isArray(firewall.rule_sets)) throw new UnavailableError('firewall.singbox-contribution returned a rule_sets that is not an array');
    // V2Ray stats count users listed by name; managed (SSM) users are counted by the SSM API instead.
    const names = hasConfigUserInbound(baseConfig) ? target.map((u) => u.name) : [];
    const stats = await peers.call<{ experimental?: unknown }>('clash-stats.singbox-contribution', { users: names });
    if (stats && !isObject(stats.experimental)) throw new UnavailableError('clash-stats.singbox-contribution returned no experimental object');
    const { ssm } = state;
    const missing = managedInbounds(baseConfig).filter(({ tag }) => !ssm.prefixes[tag]);
    if (missing.length > 0) {
      for (const { tag } of missing) ssm.prefixes[tag] = newPrefix();
      await store.writeSsm(ssm);
    }
    return toServed(
      render({
        base: baseConfig,
        users: target,
        routeRules: (firewall?.route_rules as unknown[] | undefined) ?? [],
        ruleSets: (firewall?.rule_sets as unknown[] | undefined) ?? [],
        experimental: stats?.experimental as Record<string, unknown> | undefined,
        ssm: { port: settings.ssm_api_port, prefixes: ssm.prefixes },
      }),
    );
  }

  async function commit(
    action: string,
    nextBase: BaseState,
    nextUsers: UsersState | undefined,
    options: { bad: BadConfig; force?: boolean; usersChanged?: boolean },
  ): Promise<{ changed: boolean; reloaded: boolean; served: Served }> {
    const target = servedUsers(nextUsers);
    const renderStarted = performance.now();
    try {
      const next = await renderFor(nextBase.config, target);
      const render = Math.round((performance.now() - renderStarted) * 10) / 10;
      const result = await applyServed(envFor(target), next, state.served, options);
      const live = !result.reloaded && options.usersChanged && managedInbounds(next.config).length > 0 && (await runner.isAlive());
      if (live) await syncSsmUsers(next.config, target);
      state.served = servedState(next.config, next.hash);
      if (result.reloaded) state.reloads += 1;
      const message = result.reloaded
        ? 'sing-box serves the new config'
        : live
          ? 'managed users changed through the SSM API, without a reload'
          : 'the served config did not change';
      state.lastApply = { time: new Date().toISOString(), action, ok: true, message, timings_ms: { render, ...result.timings } };
      if (result.reloaded || result.changed) {
        ctx.emit('config.applied', { action, version: nextBase.version, rendered_hash: next.hash, reloaded: result.reloaded });
      }
      return { ...result, served: next };
    } catch (error) {
      state.lastApply = { time: new Date().toISOString(), action, ok: false, message: messageOf(error) };
      throw error;
    }
  }

  async function keepVersion(next: BaseState, inService: Served): Promise<void> {
    await store.writeBase(next);
    state.base = next;
    const entry = { version: next.version, time: next.time, comment: next.comment, hash: next.hash, rendered_hash: inService.hash };
    // The history only serves rollbacks; failing to write it must not fail an apply that is done.
    await history.add(entry, next.config, inService.config).catch((error: unknown) =>
      logger.error('could not keep the config version in the history', { dir: history.dir, error: messageOf(error) }),
    );
  }

  async function start(): Promise<void> {
    const { served } = state;
    await runner.init(served !== undefined);
    if (state.base && served === undefined) {
      // State says what to serve but the file is gone or broken: write it again.
      void state
        .serialize(() => commit('start', state.base!, state.users, { bad: 'failed-precondition' }))
        .catch((error: unknown) => logger.error('could not restore the served config at start', { error: messageOf(error) }));
    } else if (served && managedInbounds(served.config).length > 0) {
      void state
        .serialize(resendManagedUsers)
        .catch((error: unknown) => logger.error('could not send the managed users at start', { error: messageOf(error) }));
    }
  }

  return { runner, envFor, commit, keepVersion, start };
}
