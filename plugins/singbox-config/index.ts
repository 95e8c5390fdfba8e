// Owns the sing-box process and its config (architecture §4): base config + managed users +
// contributions from firewall and clash-stats → render → check → replace → reload → verify, rolled
// back to the last good config on failure. This file wires the pieces to the commands:
// render.ts (what is served), apply.ts (putting it in service), supervisor.ts (the process),
// ssm.ts (live shadowsocks users), users.ts (batching and local limits), store.ts (disk).
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  configHash,
  definePlugin,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  type Static,
} from '../../agent-core/sdk.js';
import { applyServed, restartServed, toServed, verify, type ApplyEnv, type BadConfig, type Served } from './apply.js';
import { describeVersionFailure, parseVersion, resolveBinary, VERSION_TIMEOUT_MS } from './binary.js';
import { checkBase, hasConfigUserInbound, managedInbounds, redact, render, type SingboxConfig, type User } from './render.js';
import { commands, events, Settings } from './schemas.js';
import { newPrefix, ssmEndpoints, syncSsmUsers } from './ssm.js';
import { hashText, History, readIfExists, StateStore, type BaseState, type LocalRemoval, type UsersState } from './store.js';
import { createProcessRunner, createSystemdRunner, type Runner, type RunnerHooks } from './supervisor.js';
import { assertDistinct, Batcher, bytesByUser, hasLimits, pastLimits, servedUsers, type LedgerTotals } from './users.js';

const run = promisify(execFile);

type SettingsT = Static<typeof Settings>;
type UsersSyncInput = Static<(typeof commands)['users.sync']['input']>;
type UsersSyncResult = Static<(typeof commands)['users.sync']['output']>;
/** A users.sync waiting for its batch, with the ledger totals at its ledger_seq taken when it arrived. */
type PendingSync = { input: UsersSyncInput; baseline: Record<string, number> | undefined };
type LastApply = { time: string; action: string; ok: boolean; message: string; timings_ms?: { render: number; check: number; reload: number } };

/** Cross-field and path checks the schema cannot express; errors name the field. */
function checkSettings(settings: SettingsT, workDir: string): void {
  const at = 'plugins.singbox-config';
  if (!path.isAbsolute(settings.config_path)) throw new InvalidArgumentError(`${at}.config_path: must be an absolute path`);
  if (!path.isAbsolute(workDir)) throw new InvalidArgumentError(`${at}.work_dir: must be an absolute path`);
  if (path.resolve(workDir) === path.dirname(path.resolve(settings.config_path))) {
    throw new InvalidArgumentError(
      `${at}.work_dir: must not be the folder of config_path (sing-box -C would load the plugin's own .json files)`,
    );
  }
  if (settings.degraded_check_s > settings.degraded_after_s) {
    throw new InvalidArgumentError(`${at}.degraded_check_s: must not exceed degraded_after_s (${settings.degraded_after_s})`);
  }
}

/** NOT_FOUND / FAILED_PRECONDITION from another plugin: it is not there or not set up, which is allowed. */
function isAbsent(error: unknown): boolean {
  const status = (error as { status?: unknown }).status;
  return status === 'NOT_FOUND' || status === 'FAILED_PRECONDITION';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export default definePlugin({
  id: 'singbox-config',
  version: '0.3.0',
  agent: '>=0.1.0 <1',
  description: 'The sing-box process and its config: users, contributions, checked reloads with rollback.',
  config: Settings,
  commands,
  events,
  async start(ctx) {
    const settings = ctx.config;
    const workDir = settings.work_dir ?? ctx.stateDir;
    checkSettings(settings, workDir);
    const { config_path: configPath } = settings;
    const { logger } = ctx;
    await mkdir(workDir, { recursive: true, mode: 0o700 });

    const store = new StateStore(workDir);
    const history = new History(configPath, settings.history_size);
    let base: BaseState | undefined = await store.readBase();
    let users: UsersState | undefined = await store.readUsers();
    const ssm = (await store.readSsm()) ?? { prefixes: {} };
    let served: Served | undefined;
    const servedText = base ? await readIfExists(configPath) : undefined;
    if (servedText !== undefined) {
      try {
        served = { text: servedText, config: JSON.parse(servedText) as SingboxConfig, hash: hashText(servedText) };
      } catch {
        logger.warn('the served config file is not JSON; the next apply replaces it', { config_path: configPath });
      }
    }
    let lastApply: LastApply | null = null;
    let reloads = 0;
    let stopped = false;
    // "Since the agent started" when the hub has not called yet: the process start, not this plugin's.
    const agentStartedAt = performance.timeOrigin;

    // One sing-box operation at a time: applies, reloads, restarts, local removals.
    let queue: Promise<unknown> = Promise.resolve();
    function serialize<T>(work: () => Promise<T>): Promise<T> {
      const next = queue.then(work);
      queue = next.catch(() => undefined);
      return next;
    }

    async function binary(): Promise<string> {
      const resolved = await resolveBinary(settings.binary);
      if ('reason' in resolved) throw new FailedPreconditionError(`sing-box not found: ${resolved.reason}; set plugins.singbox-config.binary`);
      return resolved.file;
    }

    /** Another plugin's command, or undefined when that plugin is absent or not set up. */
    async function callPeer<T>(command: string, input: unknown): Promise<T | undefined> {
      try {
        return await ctx.call<T>(command, input);
      } catch (error) {
        if (isAbsent(error)) {
          logger.debug(`${command} not available; going on without it`, { error: messageOf(error) });
          return undefined;
        }
        throw new UnavailableError(`${command} failed: ${messageOf(error)}`, { cause: error });
      }
    }

    /** Counters into the ledger before a reload zeroes them (architecture §5.2). */
    async function sample(): Promise<void> {
      try {
        await callPeer('clash-stats.traffic.sample', {});
      } catch (error) {
        throw new UnavailableError(`${messageOf(error)}; not reloading, so that no counted traffic is lost`, { cause: error });
      }
    }

    /** Each user's ledger total now, or undefined when clash-stats cannot say. */
    async function ledgerTotals(): Promise<Record<string, number> | undefined> {
      try {
        await callPeer('clash-stats.traffic.sample', {});
        const totals = await callPeer<LedgerTotals>('clash-stats.traffic.totals', {});
        return totals && bytesByUser(totals);
      } catch (error) {
        logger.warn('could not read the traffic ledger totals', { error: messageOf(error) });
        return undefined;
      }
    }

    /**
     * Each user's ledger total as of `ledgerSeq`, the hub's committed position its remaining_bytes
     * were computed at, so that the bytes after it (not yet in remaining_bytes) count too; undefined
     * when the ledger cannot go back there (it was started afresh, or the hub has acknowledged past
     * that position since).
     */
    async function totalsAt(ledgerSeq: number): Promise<Record<string, number> | undefined> {
      try {
        return bytesByUser(await ctx.call<LedgerTotals>('clash-stats.traffic.totals', { at_seq: ledgerSeq }));
      } catch (error) {
        logger.warn('no ledger totals at the hub\'s position; usage counts from the sync, so bytes since that position are not counted', {
          ledger_seq: ledgerSeq,
          error: messageOf(error),
        });
        return undefined;
      }
    }

    const hooks: RunnerHooks = {
      logger,
      serialize,
      onExit: (info) => ctx.emit('singbox.exited', info),
      async onRestarted() {
        reloads += 1;
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

    function envFor(target: readonly User[]): ApplyEnv {
      return {
        binary,
        configPath,
        workDir,
        verifyTimeoutMs: settings.verify_timeout_ms,
        runner,
        logger,
        sample,
        // `users` is still the state in service before this apply, so a restored config gets its own users back.
        afterStart: (config, which) => syncSsmUsers(config, which === 'new' ? target : servedUsers(users)),
      };
    }

    /** After sing-box came back on its own config: wait until it listens, then send the managed users again. */
    async function resendManagedUsers(): Promise<void> {
      if (!served || managedInbounds(served.config).length === 0) return;
      const env = envFor(servedUsers(users));
      const problem = await verify(env, served.config, []);
      if (problem) throw new UnavailableError(`sing-box is not ready for its managed users: ${problem}`);
      await env.afterStart(served.config, 'new');
    }

    async function renderFor(baseConfig: SingboxConfig, target: readonly User[]): Promise<Served> {
      const firewall = await callPeer<{ route_rules?: unknown }>('firewall.singbox-contribution', {});
      if (firewall && !Array.isArray(firewall.route_rules)) throw new UnavailableError('firewall.singbox-contribution returned no route_rules array');
      // V2Ray stats count users listed by name; managed (SSM) users are counted by the SSM API instead.
      const names = hasConfigUserInbound(baseConfig) ? target.map((u) => u.name) : [];
      const stats = await callPeer<{ experimental?: unknown }>('clash-stats.singbox-contribution', { users: names });
      if (stats && !isObject(stats.experimental)) throw new UnavailableError('clash-stats.singbox-contribution returned no experimental object');
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
          experimental: stats?.experimental as Record<string, unknown> | undefined,
          ssm: { port: settings.ssm_api_port, prefixes: ssm.prefixes },
        }),
      );
    }

    /**
     * Renders `nextBase` with the served users of `nextUsers` and puts it in service. A users-only
     * change that leaves the file as it is (managed inbounds only) goes through the SSM API, no reload.
     */
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
        const result = await applyServed(envFor(target), next, options);
        const live = !result.reloaded && options.usersChanged && managedInbounds(next.config).length > 0 && (await runner.isAlive());
        if (live) await syncSsmUsers(next.config, target);
        served = next;
        if (result.reloaded) reloads += 1;
        const message = result.reloaded
          ? 'sing-box serves the new config'
          : live
            ? 'managed users changed through the SSM API, without a reload'
            : 'the served config did not change';
        lastApply = { time: new Date().toISOString(), action, ok: true, message, timings_ms: { render, ...result.timings } };
        if (result.reloaded || result.changed) {
          ctx.emit('config.applied', { action, version: nextBase.version, rendered_hash: next.hash, reloaded: result.reloaded });
        }
        return { ...result, served: next };
      } catch (error) {
        lastApply = { time: new Date().toISOString(), action, ok: false, message: messageOf(error) };
        throw error;
      }
    }

    async function applyUsers({ input, baseline }: PendingSync): Promise<UsersSyncResult> {
      return serialize(async () => {
        // Checked again here: another batch may have applied a newer revision while this one waited.
        if (users && input.revision < users.revision) {
          throw new FailedPreconditionError(`input.revision: ${input.revision} is older than the applied revision ${users.revision}`);
        }
        const cleared = users?.removed ?? [];
        const sameRevision = users?.revision === input.revision;
        const changed = !users || configHash(users.users) !== configHash(input.users) || cleared.length > 0;
        const next: UsersState = {
          revision: input.revision,
          synced_at: new Date().toISOString(),
          users: input.users,
          // Usage counts against remaining_bytes from the snapshot that set them; the same revision sent again keeps its start.
          baseline: sameRevision ? users!.baseline : null,
          removed: [],
        };
        let reloaded = false;
        if (base) reloaded = (await commit('users.sync', base, next, { bad: 'failed-precondition', usersChanged: changed })).reloaded;
        if (!sameRevision || !next.baseline) next.baseline = baseline ?? (await ledgerTotals()) ?? null;
        await store.writeUsers(next);
        users = next;
        if (cleared.length > 0) logger.info('the hub is back: locally removed users are served again', { users: cleared.map((r) => r.name) });
        return { revision: input.revision, changed, reloaded, locally_removed: cleared };
      });
    }

    /** A base config now in service becomes the current version and joins the history. */
    async function keepVersion(next: BaseState, inService: Served): Promise<void> {
      await store.writeBase(next);
      base = next;
      const entry = { version: next.version, time: next.time, comment: next.comment, hash: next.hash, rendered_hash: inService.hash };
      // The history only serves rollbacks; failing to write it must not fail an apply that is done.
      await history.add(entry, next.config, inService.config).catch((error: unknown) =>
        logger.error('could not keep the config version in the history', { dir: history.dir, error: messageOf(error) }),
      );
    }

    const batcher = new Batcher<PendingSync, UsersSyncResult>(
      settings.coalesce_ms,
      // The newest revision, with the baseline taken for its ledger_seq: they go with the remaining_bytes read with it.
      (kept, next) => (next.input.revision >= kept.input.revision ? next : kept),
      applyUsers,
    );

    // Degraded mode: while the hub is away, cut off users past their limits here (architecture §5.5).
    const isDegraded = () => Date.now() - (ctx.lastRemoteCallAt() ?? agentStartedAt) > settings.degraded_after_s * 1000;
    let checking = false;
    async function enforceLimits(): Promise<void> {
      if (!users) return;
      const totals = await ledgerTotals();
      if (totals && !users.baseline) {
        // clash-stats did not answer at users.sync: count from now on.
        users = { ...users, baseline: totals };
        await store.writeUsers(users);
      }
      const removals = pastLimits(users, totals, Date.now());
      if (removals.length === 0) return;
      const next: UsersState = { ...users, removed: [...users.removed, ...removals] };
      if (base) await commit('degraded', base, next, { bad: 'failed-precondition', usersChanged: true });
      users = next;
      await store.writeUsers(next);
      logger.warn('users removed locally while the hub is away', { users: removals });
      ctx.emit('users.removed-locally', { users: removals });
    }
    const degradedTimer = setInterval(() => {
      if (checking || stopped || batcher.busy || !users || !isDegraded() || !hasLimits(servedUsers(users))) return;
      checking = true;
      serialize(enforceLimits)
        .catch((error: unknown) => logger.error('degraded-mode limit check failed', { error: messageOf(error) }))
        .finally(() => {
          checking = false;
        });
    }, settings.degraded_check_s * 1000);
    degradedTimer.unref();

    await runner.init(served !== undefined);
    if (base && served === undefined) {
      // State says what to serve but the file is gone or broken: write it again.
      void serialize(() => commit('start', base!, users, { bad: 'failed-precondition' })).catch((error: unknown) =>
        logger.error('could not restore the served config at start', { error: messageOf(error) }),
      );
    } else if (served && managedInbounds(served.config).length > 0) {
      void serialize(resendManagedUsers).catch((error: unknown) =>
        logger.error('could not send the managed users at start', { error: messageOf(error) }),
      );
    }

    const noConfig = () => new FailedPreconditionError('no config applied yet: use singbox-config.config.apply');

    return {
      commands: {
        async status(_input, { signal }) {
          const resolved = await resolveBinary(settings.binary);
          let found = false;
          let binaryFile: string | null = null;
          let version: string | null = null;
          let tags: string[] = [];
          let message: string;
          if ('reason' in resolved) {
            message = `sing-box not found: ${resolved.reason}; set plugins.singbox-config.binary`;
          } else {
            found = true;
            binaryFile = resolved.file;
            try {
              const { stdout } = await run(binaryFile, ['version'], { timeout: VERSION_TIMEOUT_MS, signal });
              ({ version, tags } = parseVersion(stdout));
              message = version
                ? `sing-box ${version} at ${binaryFile}`
                : `${binaryFile} answered \`version\` without a sing-box version line; is it sing-box?`;
            } catch (error) {
              // Found but unusable (crashes, hangs, wrong architecture): a status report, not a failure.
              message = `${binaryFile} version failed: ${describeVersionFailure(error)}`;
            }
          }
          const state = await runner
            .state()
            .catch(() => ({ running: false, pid: null, since: null, restarts: 0, last_exit: null }));
          return {
            found,
            binary: binaryFile,
            version,
            tags,
            config_path: configPath,
            message,
            mode: settings.mode,
            ...state,
            reloads,
            config: { version: base?.version ?? null, hash: base?.hash ?? null, rendered_hash: served?.hash ?? null },
            users: {
              revision: users?.revision ?? null,
              count: users?.users.length ?? 0,
              served: servedUsers(users).length,
              locally_removed: users?.removed ?? [],
            },
            last_apply: lastApply,
            degraded: isDegraded(),
          };
        },

        'config.get': async () => ({
          version: base?.version ?? null,
          base: base?.config ?? null,
          rendered: served ? redact(served.config) : null,
        }),

        async 'config.apply'({ config, comment }) {
          checkBase(config);
          return serialize(async () => {
            const hash = configHash(config);
            const same = base?.hash === hash;
            const nextBase: BaseState =
              same && base
                ? base
                : {
                    version: Math.max(base?.version ?? 0, await history.newest()) + 1,
                    time: new Date().toISOString(),
                    comment: comment ?? '',
                    hash,
                    config,
                  };
            const result = await commit('config.apply', nextBase, users, { bad: 'invalid-argument' });
            if (!same) await keepVersion(nextBase, result.served);
            return { version: nextBase.version, hash, reloaded: result.reloaded };
          });
        },

        async 'users.sync'(input) {
          assertDistinct(input.users);
          if (users && input.revision < users.revision) {
            throw new FailedPreconditionError(`input.revision: ${input.revision} is older than the applied revision ${users.revision}`);
          }
          if (users && input.revision === users.revision && !batcher.busy) {
            if (configHash(users.users) !== configHash(input.users)) {
              throw new InvalidArgumentError(`input.revision: revision ${input.revision} was applied with other users; send a new revision`);
            }
            if (users.removed.length === 0) return { revision: input.revision, changed: false, reloaded: false, locally_removed: [] };
          }
          // The totals at the hub's position are taken now, not after the coalescing wait and the
          // reload: by then the hub may have acknowledged past it, and the ledger dropped those entries.
          const baseline = input.ledger_seq === undefined ? undefined : await totalsAt(input.ledger_seq);
          return batcher.submit({ input, baseline });
        },

        'users.list': async () => {
          const removed = new Map<string, LocalRemoval>((users?.removed ?? []).map((r) => [r.name, r]));
          return {
            revision: users?.revision ?? null,
            synced_at: users?.synced_at ?? null,
            users: (users?.users ?? []).map((u) => ({
              name: u.name,
              remaining_bytes: u.remaining_bytes,
              expires_at: u.expires_at,
              removed_locally: removed.has(u.name),
              removed_reason: removed.get(u.name)?.reason ?? null,
              removed_at: removed.get(u.name)?.at ?? null,
            })),
          };
        },

        reload: () =>
          serialize(async () => {
            if (!base) throw noConfig();
            const result = await commit('reload', base, users, { bad: 'failed-precondition', force: true });
            return { changed: result.changed, reloaded: result.reloaded, rendered_hash: result.served.hash };
          }),

        restart: () =>
          serialize(async () => {
            if (!served) throw noConfig();
            try {
              await restartServed(envFor(servedUsers(users)), served.config);
              reloads += 1;
              lastApply = { time: new Date().toISOString(), action: 'restart', ok: true, message: 'sing-box restarted' };
            } catch (error) {
              lastApply = { time: new Date().toISOString(), action: 'restart', ok: false, message: messageOf(error) };
              throw error;
            }
            const state = await runner.state();
            return { running: state.running, pid: state.pid };
          }),

        'config.history': async () => ({
          current: base?.version ?? null,
          versions: (await history.list()).map(({ version, time, hash, comment }) => ({ version, time, hash, comment })),
        }),

        'config.rollback': ({ version }) =>
          serialize(async () => {
            if (!base) throw noConfig();
            const current = base;
            let target = version;
            if (target === undefined) {
              target = (await history.list()).find((entry) => entry.version < current.version)?.version;
              if (target === undefined) throw new FailedPreconditionError(`no version before ${current.version} in the history`);
            }
            if (target === current.version) throw new FailedPreconditionError(`input.version: ${target} is the current version`);
            const found = await history.read(target);
            if (!found) {
              throw new NotFoundError(`input.version: version ${target} is not in the history (it keeps the last ${settings.history_size})`);
            }
            const nextBase: BaseState = {
              version: Math.max(current.version, await history.newest()) + 1,
              time: new Date().toISOString(),
              comment: `rollback to version ${target}`,
              hash: found.entry.hash,
              config: found.base,
            };
            const result = await commit('config.rollback', nextBase, users, { bad: 'failed-precondition' });
            await keepVersion(nextBase, result.served);
            return { version: nextBase.version, restored: target, hash: nextBase.hash, reloaded: result.reloaded };
          }),

        'ssm.endpoints': async () => ({
          endpoints: served ? ssmEndpoints(served.config).map(({ inbound, url }) => ({ inbound, url })) : [],
        }),
      },

      async health() {
        if (served && !(await runner.isAlive().catch(() => false))) return { healthy: false, message: 'sing-box is not running' };
        return { healthy: true };
      },

      stop() {
        // sing-box keeps serving: only the watching stops.
        stopped = true;
        clearInterval(degradedTimer);
        batcher.cancel(new UnavailableError('singbox-config is stopping; send users.sync again'));
        runner.close();
      },
    };
  },
});
