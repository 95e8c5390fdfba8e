/**
 * The boxfleet plugin SDK — the one public entry point (`boxfleet/plugin`) a plugin imports.
 *
 * A plugin declares what it offers (config schema, commands with JSON Schemas, event types), and
 * `start(ctx)` returns the running instance: the command handlers plus optional `stop` and `health`.
 * The agent validates config and input against the schemas before the plugin sees them, enforces
 * each command's deadline, and keeps serving when a plugin fails.
 *
 * ```ts
 * import { definePlugin, Type } from 'boxfleet/plugin';
 *
 * export default definePlugin({
 *   id: 'hello', version: '1.0.0', agent: '>=0.1.0 <1',
 *   config: Type.Object({ greeting: Type.String({ default: 'Hello' }) }),
 *   commands: {
 *     greet: {
 *       description: 'Greets someone.',
 *       input: Type.Object({ name: Type.String({ minLength: 1 }) }),
 *       output: Type.Object({ message: Type.String() }),
 *     },
 *   },
 *   start(ctx) {
 *     return { commands: { greet: async ({ name }) => ({ message: `${ctx.config.greeting}, ${name}` }) } };
 *   },
 * });
 * ```
 */
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { Role } from './common/roles.js';

export { Type } from '@sinclair/typebox';
export type { Static, TSchema } from '@sinclair/typebox';
export {
  AgentError,
  InvalidArgumentError,
  NotFoundError,
  FailedPreconditionError,
  UnavailableError,
  PermissionDeniedError,
  DeadlineExceededError,
  InternalError,
} from './common/errors.js';

/** The least hub role allowed to run a command. */
export type { Role };

/** The hash the hub names a config by (sha256 of its canonical JSON), for plugins that report what they serve. */
export { configHash } from './common/config-hash.js';

/**
 * The agent's JSON Schema checks, for values a plugin checks itself (e.g. against a schema in one of
 * its files): defaults filled in, objects that list properties closed, and an InvalidArgumentError
 * naming the field (`input.args.count: must be <= 10`) as for command input.
 */
export { compileValidator, validate } from './common/schema.js';

/** One HTTP(S) request without fetch (whose client stays in memory once loaded), redirects followed by hand, the body capped. */
export { httpRequest, type HttpAnswer, type HttpRequestOptions } from './http.js';

/** The node's wall clock (Date.now(), or shifted by a fault test through its environment). */
export { wallClock } from './clock.js';

/** Durable and atomic file writes (temp file + fsync + rename + the folder flushed). */
export { renameSynced, syncDir, writeFileAtomic, writeSynced } from './files.js';

export interface CommandSpec {
  description: string;
  input: TSchema;
  output: TSchema;
  /** Changes something on the node. Default false. */
  mutates?: boolean;
  /** Default: `viewer` for read-only commands, `operator` for mutating ones. */
  role?: Role;
  /** Default: the agent's `command_timeout_ms` (5000). */
  timeoutMs?: number;
}

export interface EventSpec {
  description: string;
  schema: TSchema;
}

export interface Logger {
  error(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  debug(msg: string, meta?: Record<string, unknown>): void;
}

export interface PluginContext<Config, Events extends Record<string, EventSpec>> {
  readonly nodeId: string;
  /** The plugin's settings from the agent config, validated, with schema defaults filled in. */
  readonly config: Readonly<Config>;
  /** A directory only this plugin writes to; it survives agent restarts. */
  readonly stateDir: string;
  readonly logger: Logger;
  /** Aborted when the plugin is stopped. */
  readonly signal: AbortSignal;
  /** Publishes an event to every Watch subscriber as `<plugin>.<event>`. */
  emit<E extends keyof Events & string>(event: E, payload: Static<Events[E]['schema']>): void;
  /** Runs another plugin's public command through the agent (validated, with its deadline). */
  call<T = unknown>(command: string, input?: unknown): Promise<T>;
  /**
   * When a command last arrived over the network (from the hub or an operator), in ms since the
   * epoch; undefined if none has since the agent started. Lets a plugin notice the hub is away.
   */
  lastRemoteCallAt(): number | undefined;
  /**
   * Runs one of the plugin's `tasks` in a short-lived process of its own (in this process under the
   * test harness) and resolves with its result; rejects when it fails or outlives `timeoutMs`
   * (default 30 s). For work that loads much and runs rarely: what it loaded leaves with the process.
   */
  runTask<T = unknown>(task: string, input?: unknown, options?: { timeoutMs?: number }): Promise<T>;
}

export interface CallInfo {
  /** Aborted when the command's deadline passes or the caller goes away. */
  signal: AbortSignal;
  requestId: string;
}

export interface Health {
  healthy: boolean;
  message?: string;
}

type Awaitable<T> = T | Promise<T>;

export type CommandHandlers<Commands extends Record<string, CommandSpec>> = {
  [K in keyof Commands]: (
    input: Static<Commands[K]['input']>,
    call: CallInfo,
  ) => Awaitable<Static<Commands[K]['output']>>;
};

export interface PluginInstance<Commands extends Record<string, CommandSpec>> {
  commands: CommandHandlers<Commands>;
  stop?(): Awaitable<void>;
  health?(): Awaitable<Health>;
}

export interface PluginDefinition<
  Config extends TObject = TObject,
  Commands extends Record<string, CommandSpec> = Record<string, CommandSpec>,
  Events extends Record<string, EventSpec> = Record<string, EventSpec>,
> {
  /** kebab-case, unique on the node. */
  id: string;
  version: string;
  /** semver range of agent versions this plugin works with. */
  agent: string;
  description?: string;
  config?: Config;
  commands: Commands;
  events?: Events;
  start(ctx: PluginContext<Static<Config>, Events>): Awaitable<PluginInstance<Commands>>;
  /**
   * Work run through ctx.runTask in a process of its own: it gets the input and returns a JSON
   * value, and sees neither the plugin's context nor its state (it runs in another process).
   */
  tasks?: Record<string, (input: unknown) => Awaitable<unknown>>;
}

/** Any plugin, whatever its schemas: what the host, the loader and the harness take. */
// `any`: handler inputs are contravariant, so no narrower type is a common supertype of all plugins.
export type AnyPluginDefinition = PluginDefinition<any, any, any>;

/** Identity at run time; gives the definition its types. */
export function definePlugin<
  Config extends TObject,
  Commands extends Record<string, CommandSpec>,
  Events extends Record<string, EventSpec> = Record<never, EventSpec>,
>(definition: PluginDefinition<Config, Commands, Events>): PluginDefinition<Config, Commands, Events> {
  return definition;
}
