// Putting a rendered config in service: sing-box check → port pre-check → sample the counters →
// atomic replace → reload → verify → on any failure, the last good config back (architecture §7:
// sing-box is never left stopped, or on an unchecked config, because of boxfleet).
import { execFile } from 'node:child_process';
import { chown, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { FailedPreconditionError, httpRequest, InvalidArgumentError, UnavailableError, type Logger } from '../../agent-core/sdk.js';
import { assertBindable, describeListener, notFreshlyListening, reachableHost, sockets, tcpConnects, type Socket } from './ports.js';
import { clashApi, listeners, withoutUsers, type Listener, type SingboxConfig } from './render.js';
import { renameSynced, writeSynced } from '../../agent-core/sdk.js';
import { hashText, readIfExists } from './store.js';
import { fatalLine, type Runner } from './supervisor.js';

const run = promisify(execFile);

const CHECK_TIMEOUT_MS = 20_000;
/** A reload that cannot bind kills sing-box within milliseconds; wait this long before trusting it. */
const SETTLE_MS = 300;
const POLL_MS = 200;

/** A config ready to serve: the file text and what it parses to. */
export interface Served {
  text: string;
  config: SingboxConfig;
  hash: string;
}

/**
 * What the plugin keeps of the served config between applies: its hash and the config without the
 * users (render.ts withoutUsers); not the file's text, which at 10,000 users is a multi-megabyte
 * string needed only while it is written. The file itself is the full served config.
 */
export type ServedState = Omit<Served, 'text'>;

export function toServed(config: SingboxConfig): Served {
  const text = `${JSON.stringify(config, null, 2)}\n`;
  return { text, config, hash: hashText(text) };
}

export function servedState(config: SingboxConfig, hash: string): ServedState {
  return { config: withoutUsers(config), hash };
}

export interface ApplyEnv {
  /** The sing-box binary as an absolute path; throws when there is none. */
  binary(): Promise<string>;
  configPath: string;
  workDir: string;
  verifyTimeoutMs: number;
  runner: Runner;
  logger: Logger;
  /** clash-stats.traffic.sample; resolves when clash-stats is absent, throws UnavailableError when it fails. */
  sample(): Promise<void>;
  /**
   * After every start or reload: re-send the managed (SSM) users of the config now in service (the
   * new one, or the previous one after a restore); throws when it cannot.
   */
  afterStart(config: SingboxConfig, which: 'new' | 'previous'): Promise<void>;
}

/** Whether a bad config is the caller's input (config.apply) or the node's state (everything else). */
export type BadConfig = 'invalid-argument' | 'failed-precondition';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `sing-box check`; a refusal carries sing-box's own FATAL line, verbatim. */
export async function check(env: ApplyEnv, file: string, bad: BadConfig): Promise<void> {
  const binary = await env.binary();
  try {
    await run(binary, ['check', '-c', file, '-D', env.workDir, '--disable-color'], { timeout: CHECK_TIMEOUT_MS });
  } catch (error) {
    const e = error as { code?: unknown; killed?: boolean; stderr?: string; message: string };
    if (e.killed) throw new UnavailableError(`sing-box check did not finish within ${CHECK_TIMEOUT_MS} ms`);
    if (typeof e.code !== 'number') throw new FailedPreconditionError(`cannot run ${binary} check: ${e.message}`, { cause: error });
    const stderr = (e.stderr ?? '').trim();
    const fatal = stderr.split('\n').filter((line) => line.includes('FATAL')).join('\n') || stderr.split('\n').at(-1) || `exit code ${e.code}`;
    const Refusal = bad === 'invalid-argument' ? InvalidArgumentError : FailedPreconditionError;
    throw new Refusal(`sing-box check refused the config: ${fatal}`);
  }
}

function parse(text: string | undefined): SingboxConfig | undefined {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as SingboxConfig);
  } catch {
    return undefined;
  }
}

/** Why the config is not in service yet, or undefined when every listener is fresh and answers. */
async function notReady(config: SingboxConfig, wanted: Listener[], before: Socket[]): Promise<string | undefined> {
  const missing = notFreshlyListening(wanted, before, await sockets());
  if (missing.length > 0) return `not listening: ${missing.map(describeListener).join(', ')}`;
  for (const l of wanted) {
    if (l.proto === 'tcp' && !(await tcpConnects(l))) return `no TCP connection to ${describeListener(l)}`;
  }
  const clash = clashApi(config);
  if (clash) {
    const address = `${reachableHost(clash.host)}:${clash.port}`;
    try {
      const response = await httpRequest(`http://${address}/`, {
        headers: clash.secret ? { authorization: `Bearer ${clash.secret}` } : {},
        timeoutMs: 1000,
        maxBody: 0,
      });
      if (response.status < 200 || response.status >= 300) return `Clash API at ${address} answered HTTP ${response.status}`;
    } catch (error) {
      return `Clash API at ${address} did not answer: ${(error as { code?: string }).code ?? (error as Error).message}`;
    }
  }
  return undefined;
}

/**
 * After a start or reload: sing-box is alive after a settle, every listener of `config` is open anew
 * (its socket did not exist in `before`, so it is not the old instance's), TCP ones take a
 * connection, and the Clash API answers. Returns why not, or undefined.
 */
export async function verify(env: ApplyEnv, config: SingboxConfig, before: Socket[]): Promise<string | undefined> {
  const wanted = listeners(config);
  const deadline = Date.now() + env.verifyTimeoutMs;
  await sleep(SETTLE_MS);
  const exited = async () => {
    const fatal = fatalLine(await env.runner.outputTail());
    return `sing-box exited${fatal ? `: ${fatal}` : ''}`;
  };
  for (;;) {
    if (!(await env.runner.isAlive())) return exited();
    const problem = await notReady(config, wanted, before);
    if (!problem) break;
    if (Date.now() >= deadline) return `${problem} (waited ${env.verifyTimeoutMs} ms)`;
    await sleep(POLL_MS);
  }
  await sleep(SETTLE_MS);
  return (await env.runner.isAlive()) ? undefined : exited();
}

/** Keeps the mode and owner of the file it replaces (sing-box may run as its own user), else 0640. */
async function writeLike(file: string, text: string, like: string): Promise<void> {
  const existing = await stat(like).catch(() => undefined);
  await writeSynced(file, text, existing ? existing.mode & 0o777 : 0o640);
  if (existing && process.getuid?.() === 0) await chown(file, existing.uid, existing.gid);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Starts or reloads sing-box on the file in place, then verifies and re-sends managed users. */
async function bringUp(env: ApplyEnv, config: SingboxConfig, which: 'new' | 'previous'): Promise<string | undefined> {
  const before = await sockets();
  try {
    await env.runner.reload();
  } catch (error) {
    return messageOf(error);
  }
  const problem = await verify(env, config, before);
  if (problem) return problem;
  try {
    await env.afterStart(config, which);
  } catch (error) {
    return messageOf(error);
  }
  return undefined;
}

/** Puts the previous file back and sing-box on it; says how that went. */
async function restore(env: ApplyEnv, previous: string | undefined): Promise<string> {
  const { configPath, runner, logger } = env;
  if (previous === undefined) {
    // There was nothing before: sing-box was not running, so it goes back to not running.
    await rm(configPath, { force: true });
    await runner.stop().catch((error: Error) => logger.error('stopping sing-box failed', { error: error.message }));
    return 'there was no config before, so sing-box is stopped again';
  }
  const temp = `${configPath}.tmp`;
  await writeLike(temp, previous, configPath);
  await renameSynced(temp, configPath);
  if (await runner.isAlive()) await env.sample().catch(() => undefined); // best effort: restoring must not wait on stats
  const problem = await bringUp(env, parse(previous) ?? {}, 'previous');
  if (problem) {
    logger.error('the previous config did not come back', { problem });
    return `restored the previous config, but it did not come back either: ${problem}`;
  }
  return 'restored the previous config; sing-box serves it';
}

export interface ApplyResult {
  /** The file changed. */
  changed: boolean;
  /** sing-box was reloaded or started on it. */
  reloaded: boolean;
  /** `sing-box check`, and reload + verify, in ms (0 for what did not run). */
  timings: { check: number; reload: number };
}

const since = (start: number) => Math.round((performance.now() - start) * 10) / 10;

/**
 * Serves `next`. Nothing happens when the file already holds it (unless `force`). A config that
 * sing-box refuses, or whose ports are taken, changes nothing; a failed reload or verify restores the
 * previous file and sing-box on it. Failures throw typed errors whose message says why.
 * `inService`: the plugin's state of the config the file holds now (its listeners are sing-box's
 * while it runs), so the previous file is parsed again only when there is none.
 */
export async function applyServed(
  env: ApplyEnv,
  next: Served,
  inService: ServedState | undefined,
  options: { force?: boolean; bad: BadConfig },
): Promise<ApplyResult> {
  const { configPath, runner, logger } = env;
  const previous = await readIfExists(configPath);
  if (previous === next.text && !options.force) return { changed: false, reloaded: false, timings: { check: 0, reload: 0 } };

  const temp = `${configPath}.tmp`; // not *.json: `sing-box -C` must never load it (pitfall 13)
  await mkdir(path.dirname(configPath), { recursive: true });
  await writeLike(temp, next.text, configPath);
  const checkStarted = performance.now();
  let checkMs = 0;
  try {
    await check(env, temp, options.bad);
    checkMs = since(checkStarted);
    const alive = await runner.isAlive();
    const held = alive ? listeners(inService?.config ?? parse(previous) ?? {}) : [];
    await assertBindable(listeners(next.config), held);
    if (alive) await env.sample();
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }

  await renameSynced(temp, configPath);
  const reloadStarted = performance.now();
  const problem = await bringUp(env, next.config, 'new');
  if (!problem) return { changed: previous !== next.text, reloaded: true, timings: { check: checkMs, reload: since(reloadStarted) } };

  logger.error('config did not come up; restoring the previous one', { problem });
  const restored = await restore(env, previous);
  throw new FailedPreconditionError(`config not applied: ${problem}; ${restored}`);
}

/** Restarts sing-box on the file in place (restart command). */
export async function restartServed(env: ApplyEnv, config: SingboxConfig): Promise<void> {
  if (await env.runner.isAlive()) await env.sample();
  const before = await sockets();
  await env.runner.restart();
  const problem = await verify(env, config, before);
  if (problem) throw new UnavailableError(`sing-box restarted but ${problem}`);
  await env.afterStart(config, 'new');
}
