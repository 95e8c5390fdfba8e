// Keeps sing-box running: as a detached process the agent supervises (`mode: process`) or as a
// systemd unit (`mode: systemd`). Either way sing-box outlives the agent: stopping the plugin only
// stops watching.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, open, readFile, rm, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { FailedPreconditionError, UnavailableError, type Logger } from '../../agent-core/sdk.js';
import type { ExitInfo } from './contract.js';
import { writeFileAtomic } from '../../agent-core/sdk.js';

const run = promisify(execFile);

/** How often a sing-box that is not our child (re-attached, or systemd's) is checked. */
const WATCH_INTERVAL_MS = 2000;
/** The log is cut back to nothing (after one copy) past this size. */
const LOG_MAX_BYTES = 10 * 1024 * 1024;
const LOG_CHECK_EVERY_TICKS = 30;
/** sing-box aborts by itself when closing takes over 10 s; after this it gets SIGKILL. */
const STOP_TIMEOUT_MS = 12_000;
const TAIL_BYTES = 8192;
const TAIL_LINES = 20;

export interface RunnerState {
  running: boolean;
  pid: number | null;
  since: string | null;
  /** Times sing-box was started again after it died on its own. */
  restarts: number;
  last_exit: ExitInfo | null;
}

export interface Runner {
  readonly mode: 'process' | 'systemd';
  /** At plugin start: watch the sing-box already serving config_path, or start one if `shouldRun`. Never a second one. */
  init(shouldRun: boolean): Promise<void>;
  isAlive(): Promise<boolean>;
  state(): Promise<RunnerState>;
  /** Makes sing-box serve the config file now: reloads a running one, starts one that is not running. */
  reload(): Promise<'reloaded' | 'started'>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** The last lines sing-box wrote. */
  outputTail(): Promise<string>;
  /** Stops watching; sing-box keeps serving. */
  close(): void;
}

export interface RunnerHooks {
  logger: Logger;
  /** Runs `work` when no other sing-box operation of the plugin is running. */
  serialize<T>(work: () => Promise<T>): Promise<T>;
  /** sing-box stopped without boxfleet asking. */
  onExit(info: ExitInfo): void;
  /** sing-box runs again after it died on its own (managed users must be re-sent). */
  onRestarted(): Promise<void>;
}

/** The line that says why sing-box died (its last FATAL or panic line), or ''. */
export function fatalLine(output: string): string {
  const lines = output.split('\n').map((line) => line.trim());
  return [...lines].reverse().find((line) => /FATAL|panic:/.test(line)) ?? '';
}

function exitReason(code: number | null, signal: string | null, tail: string): string {
  const how = signal ? `killed by ${signal}` : code === null ? 'exited (not a child of this agent, so its exit code is unknown)' : `exited with code ${code}`;
  const fatal = fatalLine(tail);
  return fatal ? `${how}: ${fatal}` : how;
}

/** Alive and not a zombie (a dead child waits a moment to be reaped). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** When a process started, from /proc (clock ticks since boot; Linux uses 100 per second). */
function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(btime) ? btime * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** `sing-box run -c <configPath>` (any sing-box binary, so an upgraded binary path is still recognised). */
function servesConfig(args: string[], configPath: string, binaryName: string): boolean {
  const name = path.basename(args[0] ?? '');
  const c = args.indexOf('-c');
  return (name.includes('sing-box') || name === binaryName) && args.includes('run') && c > 0 && args[c + 1] === configPath;
}

function findServing(configPath: string, binaryName: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid !== process.pid && servesConfig(cmdline(pid), configPath, binaryName) && pidAlive(pid)) return pid;
  }
  return undefined;
}

/** The last lines of `file`, from byte `from` on (so an old run's FATAL line is not quoted). */
async function readTail(file: string, from = 0): Promise<string> {
  try {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(size - TAIL_BYTES, Math.min(from, size));
      const length = size - start;
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, start);
      return buffer.subarray(0, bytesRead).toString('utf8').split('\n').slice(-TAIL_LINES - 1).join('\n').trim();
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/** Sends a signal; a process that is already gone is not an error (the caller checks afterwards). */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitDead(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!pidAlive(pid)) return true;
    await sleep(50);
  }
  return !pidAlive(pid);
}

export interface ProcessRunnerOptions {
  /** Resolves the configured binary to an absolute path; throws when there is none. */
  binary(): Promise<string>;
  binaryName: string;
  configPath: string;
  workDir: string;
  backoffMaxS: number;
}

interface Tracked {
  pid: number;
  child?: ChildProcess;
  since: number;
  /** Size of the log when it started: its own output comes after. */
  logOffset: number;
  /** boxfleet stopped it, so its exit is no news. */
  stopping: boolean;
  exited: boolean;
}

/**
 * sing-box as a detached process (own session and process group, output to sing-box.log in
 * work_dir, pid in sing-box.pid), so it keeps serving when the agent dies. A restarted agent finds
 * it again by pid file (or by scanning /proc) and the command line, and only watches it.
 */
export function createProcessRunner(options: ProcessRunnerOptions, hooks: RunnerHooks): Runner {
  const { configPath, workDir, backoffMaxS, binaryName } = options;
  const pidFile = path.join(workDir, 'sing-box.pid');
  const logFile = path.join(workDir, 'sing-box.log');
  const { logger } = hooks;
  let tracked: Tracked | undefined;
  let restarts = 0;
  let lastExit: ExitInfo | null = null;
  let crashes = 0; // consecutive quick deaths, for the backoff
  let restartTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let ticks = 0;

  const alive = () => tracked !== undefined && !tracked.exited && pidAlive(tracked.pid);

  async function rotateLog(): Promise<void> {
    const size = await stat(logFile).then((s) => s.size, () => 0);
    if (size <= LOG_MAX_BYTES) return;
    // sing-box writes with O_APPEND, so truncating in place is safe while it runs.
    await copyFile(logFile, `${logFile}.1`);
    await truncate(logFile, 0);
  }

  function watch(t: Tracked): void {
    tracked = t;
    t.child?.once('exit', (code, signal) => void noteExit(t, code, signal));
  }

  // One timer for everything: a re-attached sing-box is not our child, so there is no exit event.
  const timer = setInterval(() => {
    if (tracked && !tracked.child && !tracked.exited && !pidAlive(tracked.pid)) void noteExit(tracked, null, null);
    if (++ticks % LOG_CHECK_EVERY_TICKS === 0) rotateLog().catch(() => undefined);
  }, WATCH_INTERVAL_MS);
  timer.unref();

  async function noteExit(t: Tracked, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (t.exited) return;
    t.exited = true;
    if (t !== tracked || t.stopping || closed) return;
    const tail = await readTail(logFile, t.logOffset);
    if (Date.now() - t.since >= backoffMaxS * 1000) crashes = 0; // it had been stable
    const delay = Math.min(1000 * 2 ** crashes, backoffMaxS * 1000);
    crashes += 1;
    lastExit = {
      pid: t.pid,
      time: new Date().toISOString(),
      code,
      signal,
      reason: exitReason(code, signal, tail),
      stderr_tail: tail,
      restart_in_ms: delay,
    };
    logger.error('sing-box exited on its own; restarting it', { pid: t.pid, reason: lastExit.reason, restart_in_ms: delay });
    hooks.onExit(lastExit);
    scheduleRestart(delay);
  }

  function scheduleRestart(delay: number): void {
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      hooks
        .serialize(async () => {
          if (closed || alive()) return; // an apply or restart brought it back meanwhile
          try {
            await start();
          } catch (error) {
            const next = Math.min(1000 * 2 ** crashes++, backoffMaxS * 1000);
            logger.error('sing-box restart failed; trying again', { error: (error as Error).message, retry_in_ms: next });
            scheduleRestart(next);
            return;
          }
          restarts += 1;
          logger.info('sing-box restarted', { pid: tracked?.pid, restarts });
          // If it dies again, its exit schedules the next attempt; here only the managed users are at stake.
          await hooks.onRestarted().catch((error: Error) => logger.error('after the restart', { error: error.message }));
        })
        .catch((error: Error) => logger.error('sing-box restart failed', { error: error.message }));
    }, delay);
    restartTimer.unref();
  }

  async function start(): Promise<void> {
    if (alive()) return;
    if (tracked && !tracked.exited) await noteExit(tracked, null, null);
    const binary = await options.binary();
    await rotateLog().catch(() => undefined);
    const logOffset = await stat(logFile).then((s) => s.size, () => 0);
    const fd = openSync(logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(binary, ['run', '-c', configPath, '-D', workDir, '--disable-color'], {
        cwd: workDir,
        detached: true, // own session and process group: signals to the agent's group do not reach it
        stdio: ['ignore', fd, fd],
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (error) {
      throw new UnavailableError(`cannot start ${binary}: ${(error as Error).message}`, { cause: error });
    } finally {
      closeSync(fd);
    }
    child.unref();
    watch({ pid: child.pid!, child, since: Date.now(), logOffset, stopping: false, exited: false });
    await writeFileAtomic(pidFile, `${child.pid}\n`, { mode: 0o644 });
    logger.info('sing-box started', { pid: child.pid, config: configPath });
  }

  async function stop(): Promise<void> {
    clearTimeout(restartTimer);
    const t = tracked;
    if (!t || t.exited || !pidAlive(t.pid)) return;
    t.stopping = true;
    signal(t.pid, 'SIGTERM');
    if (!(await waitDead(t.pid, STOP_TIMEOUT_MS))) {
      logger.warn('sing-box did not stop within its close timeout; killing it', { pid: t.pid });
      signal(t.pid, 'SIGKILL');
      await waitDead(t.pid, 2000);
    }
    t.exited = true;
    await rm(pidFile, { force: true });
  }

  return {
    mode: 'process',
    async init(shouldRun) {
      const fromFile = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      let pid: number | undefined;
      if (fromFile > 0 && pidAlive(fromFile) && servesConfig(cmdline(fromFile), configPath, binaryName)) pid = fromFile;
      else {
        pid = findServing(configPath, binaryName);
        if (pid) await writeFileAtomic(pidFile, `${pid}\n`, { mode: 0o644 });
      }
      if (pid) {
        const logOffset = await stat(logFile).then((s) => s.size, () => 0);
        watch({ pid, since: processStartTime(pid) ?? Date.now(), logOffset, stopping: false, exited: false });
        logger.info('watching the sing-box that already serves the config', { pid, config: configPath });
        return;
      }
      if (!shouldRun) return;
      try {
        await start();
      } catch (error) {
        logger.error('sing-box did not start; trying again', { error: (error as Error).message });
        scheduleRestart(1000);
      }
    },
    isAlive: async () => alive(),
    async state() {
      const running = alive();
      return {
        running,
        pid: running ? tracked!.pid : null,
        since: running ? new Date(tracked!.since).toISOString() : null,
        restarts,
        last_exit: lastExit,
      };
    },
    async reload() {
      if (!alive()) {
        await start();
        return 'started';
      }
      signal(tracked!.pid, 'SIGHUP');
      return 'reloaded';
    },
    async restart() {
      await stop();
      await start();
    },
    stop,
    outputTail: () => readTail(logFile, tracked?.logOffset),
    close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(restartTimer);
      tracked?.child?.removeAllListeners('exit');
    },
  };
}

/** `systemctl show` properties, as key → value. */
async function systemctlShow(unit: string): Promise<Record<string, string>> {
  const { stdout } = await run('systemctl', ['show', unit, '--property=MainPID,ActiveState,ActiveEnterTimestamp,NRestarts,ExecMainCode,ExecMainStatus,Result'], { timeout: 10_000 });
  return Object.fromEntries(
    stdout.split('\n').filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

async function systemctl(args: string[]): Promise<void> {
  try {
    await run('systemctl', args, { timeout: 60_000 });
  } catch (error) {
    const e = error as { stderr?: string; message: string; code?: unknown };
    if (e.code === 'ENOENT') throw new FailedPreconditionError('systemctl not found: mode systemd needs systemd; use mode process');
    throw new UnavailableError(`systemctl ${args.join(' ')} failed: ${(e.stderr || e.message).trim().split('\n')[0]}`, { cause: error });
  }
}

/**
 * sing-box as a systemd unit: systemd restarts it (Restart=on-failure in the packaged unit), the
 * plugin reloads and restarts it through systemctl and watches its main pid to report exits.
 */
export function createSystemdRunner(unit: string, hooks: RunnerHooks): Runner {
  const { logger } = hooks;
  let pid = 0;
  let lastExit: ExitInfo | null = null;
  let closed = false;
  let operating = 0; // a restart/stop we asked for is not news

  async function refresh(): Promise<Record<string, string>> {
    const props = await systemctlShow(unit);
    pid = props.ActiveState === 'active' ? Number(props.MainPID) || 0 : 0;
    return props;
  }

  const outputTail = async () => {
    try {
      const { stdout } = await run('journalctl', ['-u', unit, '-n', String(TAIL_LINES), '-o', 'cat', '--no-pager'], { timeout: 10_000 });
      return stdout.trim();
    } catch {
      return '';
    }
  };

  const timer = setInterval(() => {
    if (pid === 0 || operating > 0 || pidAlive(pid)) return;
    const died = pid;
    pid = 0;
    void (async () => {
      const props = await refresh().catch(() => ({}) as Record<string, string>);
      const tail = await outputTail();
      const status = Number(props.ExecMainStatus);
      lastExit = {
        pid: died,
        time: new Date().toISOString(),
        code: Number.isFinite(status) ? status : null,
        signal: null,
        reason: `${unit} main process ${died} ended (systemd result: ${props.Result ?? 'unknown'})${fatalLine(tail) ? `: ${fatalLine(tail)}` : ''}`,
        stderr_tail: tail,
        restart_in_ms: null,
      };
      if (!closed) hooks.onExit(lastExit);
    })();
  }, WATCH_INTERVAL_MS);
  timer.unref();

  return {
    mode: 'systemd',
    async init() {
      // systemd starts the unit at boot; the plugin only watches it.
      await refresh().catch((error: Error) => logger.error('systemctl show failed', { unit, error: error.message }));
      if (pid === 0) logger.warn('the sing-box unit is not active', { unit });
    },
    async isAlive() {
      await refresh();
      return pid > 0 && pidAlive(pid);
    },
    async state() {
      const props = await refresh().catch(() => ({}) as Record<string, string>);
      const since = Date.parse((props.ActiveEnterTimestamp ?? '').replace(/^\w{3} /, ''));
      return {
        running: pid > 0 && pidAlive(pid),
        pid: pid || null,
        since: pid && Number.isFinite(since) ? new Date(since).toISOString() : null,
        restarts: Number(props.NRestarts) || 0,
        last_exit: lastExit,
      };
    },
    async reload() {
      const active = (await refresh()).ActiveState === 'active';
      await systemctl([active ? 'reload' : 'restart', unit]);
      await refresh();
      return active ? 'reloaded' : 'started';
    },
    async restart() {
      operating += 1;
      try {
        await systemctl(['restart', unit]);
        await refresh();
      } finally {
        operating -= 1;
      }
    },
    async stop() {
      operating += 1;
      try {
        await systemctl(['stop', unit]);
        pid = 0;
      } finally {
        operating -= 1;
      }
    },
    outputTail,
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
