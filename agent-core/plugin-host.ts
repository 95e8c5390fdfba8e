// Runs the node's plugins: checks them at start-up, starts and stops them as the config changes,
// and executes commands with input validation, deadlines and failure isolation.
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import type { AnyPluginDefinition, CommandSpec, EventSpec, Health, Logger, PluginInstance, Role } from './sdk.js';
import {
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  isAgentError,
} from './common/errors.js';
import { MAX_JSON_DEPTH, valueNestsDeeper } from './common/json-depth.js';
import { validate } from './common/schema.js';
import { runTaskHere, type TaskRunner } from './tasks.js';

const PLUGIN_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const START_TIMEOUT_MS = 30_000;
const HEALTH_TIMEOUT_MS = 1_000;

/** A plugin as the config names it: its definition, whether it runs here, and its raw settings. */
export interface PluginEntry {
  definition: AnyPluginDefinition;
  enabled: boolean;
  settings: Record<string, unknown>;
  /** The file a third-party plugin was loaded from (a task's process loads it again). */
  module?: string;
}

export interface CommandInfo {
  name: string;
  description: string;
  input: object;
  output: object;
  mutates: boolean;
  role: Role;
  timeoutMs: number;
}

export interface EventTypeInfo {
  name: string;
  description: string;
  schema: object;
}

export type PluginState = 'starting' | 'running' | 'stopping' | 'failed' | 'disabled';

export interface PluginStatus {
  id: string;
  version: string;
  state: PluginState;
  healthy: boolean;
  message: string;
  commands: CommandInfo[];
  events: EventTypeInfo[];
}

export interface AgentEvent {
  name: string;
  payload: unknown;
  time: number;
}

export interface ExecuteOptions {
  requestId: string;
  /** Absolute time (ms since epoch) by which the caller stops waiting. */
  deadline?: number;
  /** Aborted when the caller goes away. */
  signal?: AbortSignal;
  /** The command came over the network, not from another plugin. */
  remote?: boolean;
  /**
   * Nobody else holds `input` (it was just parsed from the request), so it is validated in place
   * rather than copied first: a users.sync of 10,000 users is megabytes of objects to copy.
   */
  inputOwned?: boolean;
}

export interface HostOptions {
  nodeId: string;
  agentVersion: string;
  stateDir: string;
  logger: Logger & { child(meta: Record<string, unknown>): Logger };
  commandTimeoutMs: number;
  /** How plugin tasks run; default: in this process. */
  runTask?: TaskRunner;
}

interface Prepared {
  definition: AnyPluginDefinition;
  module?: string;
  enabled: boolean;
  config: Record<string, unknown>;
  configKey: string;
}

interface Slot extends Prepared {
  state: PluginState;
  instance?: PluginInstance<Record<string, CommandSpec>>;
  /** Why it failed to start, or the last unexpected error a command threw. */
  error?: string;
  inflight: Set<Promise<unknown>>;
  abort: AbortController;
}

const DEFAULT_TASK_TIMEOUT_MS = 30_000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export class PluginHost {
  private readonly slots = new Map<string, Slot>();
  private readonly events = new EventEmitter();
  private applying: Promise<void> = Promise.resolve();
  private lastRemoteCallAt: number | undefined;

  constructor(private readonly options: HostOptions) {
    this.events.setMaxListeners(0);
  }

  /**
   * Checks every entry (id, duplicates, agent version range, config) without touching what runs.
   * Throws InvalidArgumentError naming the plugin and field.
   */
  prepare(entries: PluginEntry[]): Prepared[] {
    const seen = new Set<string>();
    return entries.map(({ definition, module, enabled, settings }) => {
      const id = definition.id;
      if (typeof id !== 'string' || !PLUGIN_ID.test(id)) {
        throw new InvalidArgumentError(`plugin id ${JSON.stringify(id)} must be kebab-case`);
      }
      if (seen.has(id)) throw new InvalidArgumentError(`plugins.${id}: two plugins have the id ${id}`);
      seen.add(id);
      if (!semver.validRange(definition.agent)) {
        throw new InvalidArgumentError(`plugins.${id}: agent range ${JSON.stringify(definition.agent)} is not a semver range`);
      }
      if (!semver.satisfies(this.options.agentVersion, definition.agent, { includePrerelease: true })) {
        throw new InvalidArgumentError(
          `plugins.${id}: needs agent ${definition.agent}, this agent is ${this.options.agentVersion}`,
        );
      }
      for (const name of Object.keys(definition.commands)) {
        if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/.test(name)) {
          throw new InvalidArgumentError(`plugins.${id}: command name ${JSON.stringify(name)} is not valid`);
        }
      }
      const config = definition.config
        ? validate<Record<string, unknown>>(definition.config, structuredClone(settings), `plugins.${id}`)
        : {};
      if (!definition.config && Object.keys(settings).length > 0) {
        throw new InvalidArgumentError(`plugins.${id}.${Object.keys(settings)[0]}: unknown field (the plugin takes no settings)`);
      }
      return { definition, module, enabled, config, configKey: JSON.stringify(config) };
    });
  }

  /** Starts, stops and restarts plugins so that what runs matches `entries`. Calls run one at a time. */
  apply(entries: PluginEntry[]): Promise<void> {
    const prepared = this.prepare(entries);
    const run = this.applying.then(() => this.reconcile(prepared));
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async reconcile(next: Prepared[]): Promise<void> {
    const wanted = new Map(next.map((p) => [p.definition.id, p]));
    const stops: Promise<void>[] = [];
    for (const [id, slot] of this.slots) {
      const want = wanted.get(id);
      const unchanged = want?.enabled && want.definition === slot.definition && want.configKey === slot.configKey;
      // A failed plugin is retried on every apply (SIGHUP), even when its config did not change.
      if (unchanged && slot.state !== 'disabled' && slot.state !== 'failed') continue;
      if (!want) this.slots.delete(id);
      stops.push(this.stop(slot));
    }
    await Promise.all(stops);
    await Promise.all(
      next.map(async (p) => {
        const current = this.slots.get(p.definition.id);
        if (current && current.state !== 'disabled') return;
        current?.abort.abort();
        const slot: Slot = { ...p, state: 'disabled', inflight: new Set(), abort: new AbortController() };
        this.slots.set(p.definition.id, slot);
        if (p.enabled) await this.start(slot);
      }),
    );
  }

  private async start(slot: Slot): Promise<void> {
    const { id } = slot.definition;
    const logger = this.options.logger.child({ plugin: id });
    const stateDir = path.join(this.options.stateDir, id);
    slot.state = 'starting';
    try {
      await mkdir(stateDir, { recursive: true });
      const ctx = {
        nodeId: this.options.nodeId,
        config: deepFreeze(structuredClone(slot.config)),
        stateDir,
        logger,
        signal: slot.abort.signal,
        emit: (event: string, payload: unknown) => this.emit(slot, event, payload),
        call: <T>(command: string, input?: unknown) =>
          this.execute(command, input ?? {}, { requestId: `${id}:${command}` }) as Promise<T>,
        lastRemoteCallAt: () => this.lastRemoteCallAt,
        runTask: (task: string, input?: unknown, { timeoutMs = DEFAULT_TASK_TIMEOUT_MS }: { timeoutMs?: number } = {}) =>
          (this.options.runTask ?? runTaskHere)({ plugin: id, module: slot.module, task, input: input ?? {} }, slot.definition, { timeoutMs, signal: slot.abort.signal }),
      };
      slot.instance = await withTimeout(
        Promise.resolve(slot.definition.start(ctx as never)),
        START_TIMEOUT_MS,
        () => new Error(`start() did not finish within ${START_TIMEOUT_MS} ms`),
      );
      slot.state = 'running';
      slot.error = undefined;
      logger.info('plugin started', { version: slot.definition.version });
    } catch (error) {
      slot.state = 'failed';
      slot.error = `start failed: ${message(error)}`;
      logger.error('plugin failed to start', { error: message(error) });
    }
  }

  /** Lets commands in flight finish (each is bounded by its deadline), then stops the plugin. */
  private async stop(slot: Slot): Promise<void> {
    const wasRunning = slot.state === 'running';
    slot.state = 'stopping';
    await Promise.allSettled([...slot.inflight]);
    slot.abort.abort();
    try {
      if (wasRunning) await slot.instance?.stop?.();
    } catch (error) {
      this.options.logger.error('plugin stop failed', { plugin: slot.definition.id, error: message(error) });
    }
    slot.instance = undefined;
    slot.state = 'disabled';
  }

  private emit(slot: Slot, event: string, payload: unknown): void {
    const spec = slot.definition.events?.[event];
    if (!spec) throw new InternalError(`${slot.definition.id} emitted undeclared event ${event}`);
    const name = `${slot.definition.id}.${event}`;
    this.events.emit('event', { name, payload, time: Date.now() } satisfies AgentEvent);
  }

  /** Calls `listener` for every event whose name or plugin id is in `filter` (all when empty). */
  subscribe(filter: readonly string[], listener: (event: AgentEvent) => void): () => void {
    const wanted = new Set(filter);
    const handler = (event: AgentEvent) => {
      if (wanted.size === 0 || wanted.has(event.name) || wanted.has(event.name.split('.')[0]!)) listener(event);
    };
    this.events.on('event', handler);
    return () => this.events.off('event', handler);
  }

  private commandInfo(definition: AnyPluginDefinition, name: string, spec: CommandSpec): CommandInfo {
    return {
      name: `${definition.id}.${name}`,
      description: spec.description,
      input: spec.input,
      output: spec.output,
      mutates: spec.mutates ?? false,
      role: spec.role ?? (spec.mutates ? 'operator' : 'viewer'),
      timeoutMs: spec.timeoutMs ?? this.options.commandTimeoutMs,
    };
  }

  async describe(): Promise<PluginStatus[]> {
    return Promise.all(
      [...this.slots.values()].map(async (slot) => {
        const { definition } = slot;
        const offered = slot.state !== 'disabled';
        let health: Health = { healthy: slot.state === 'running' && !slot.error, message: slot.error };
        if (slot.state === 'running' && !slot.error && slot.instance?.health) {
          health = await withTimeout(
            Promise.resolve(slot.instance.health()),
            HEALTH_TIMEOUT_MS,
            () => new Error(`health() did not answer within ${HEALTH_TIMEOUT_MS} ms`),
          ).catch((error: unknown) => ({ healthy: false, message: message(error) }));
        }
        return {
          id: definition.id,
          version: definition.version,
          state: slot.state,
          healthy: health.healthy,
          message: health.message ?? (slot.state === 'disabled' ? 'disabled in the agent config' : ''),
          commands: offered
            ? Object.entries<CommandSpec>(definition.commands).map(([name, spec]) => this.commandInfo(definition, name, spec))
            : [],
          events: offered
            ? Object.entries<EventSpec>(definition.events ?? {}).map(([name, spec]) => ({
                name: `${definition.id}.${name}`,
                description: spec.description,
                schema: spec.schema,
              }))
            : [],
        };
      }),
    );
  }

  /** Runs `<plugin>.<command>`; throws a typed AgentError on any failure. */
  async execute(command: string, input: unknown, options: ExecuteOptions): Promise<unknown> {
    if (options.remote) this.lastRemoteCallAt = Date.now();
    const dot = command.indexOf('.');
    const id = dot > 0 ? command.slice(0, dot) : command;
    const name = command.slice(dot + 1);
    const slot = this.slots.get(id);
    if (!slot) throw new NotFoundError(`unknown command ${command}: no plugin ${id} on this node`);
    // Own properties only: a name like `constructor` must not reach Object.prototype.
    const spec = dot > 0 && Object.hasOwn(slot.definition.commands, name) ? slot.definition.commands[name] : undefined;
    if (!spec) throw new NotFoundError(`unknown command ${command}: plugin ${id} has no command ${name}`);
    if (slot.state === 'disabled') throw new FailedPreconditionError(`plugin ${id} is disabled on this node`);
    if (slot.state === 'failed') throw new FailedPreconditionError(`plugin ${id} is not running: ${slot.error}`);
    if (slot.state !== 'running' || !slot.instance) throw new UnavailableError(`plugin ${id} is ${slot.state}; try again`);

    // structuredClone and the validator recurse: deeper input would overflow the stack in them.
    if (valueNestsDeeper(input)) throw new InvalidArgumentError(`input: nests deeper than ${MAX_JSON_DEPTH} levels`);
    // Validation fills in defaults: a caller's own object is copied first, so it never changes under it.
    const valid = validate(spec.input, options.inputOwned ? (input ?? {}) : structuredClone(input ?? {}), 'input');
    const info = this.commandInfo(slot.definition, name, spec);
    const budget = Math.min(info.timeoutMs, options.deadline ? options.deadline - Date.now() : Infinity);
    const abort = new AbortController();
    const onCallerGone = () => abort.abort();
    options.signal?.addEventListener('abort', onCallerGone, { once: true });
    const handler = slot.instance.commands[name]!;
    const work = withTimeout(
      Promise.resolve().then(() => handler(valid as never, { signal: abort.signal, requestId: options.requestId })),
      Math.max(budget, 0),
      () => new DeadlineExceededError(`${command} did not finish within ${Math.max(Math.round(budget), 0)} ms`),
    );
    slot.inflight.add(work);
    try {
      const result = await work;
      if (slot.error && slot.state === 'running') slot.error = undefined;
      return result;
    } catch (error) {
      if (isAgentError(error)) throw error;
      slot.error = `${command} failed: ${message(error)}`;
      this.options.logger.error('command failed', { plugin: id, command, error: message(error) });
      throw new InternalError(slot.error, { cause: error });
    } finally {
      options.signal?.removeEventListener('abort', onCallerGone);
      abort.abort();
      slot.inflight.delete(work);
    }
  }

  /** Stops every plugin, letting commands in flight finish first. */
  async close(): Promise<void> {
    await this.applying;
    await Promise.all([...this.slots.values()].map((slot) => this.stop(slot)));
  }
}
