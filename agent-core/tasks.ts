// Plugin tasks: work a plugin runs now and then (its `tasks`, through ctx.runTask) in a short-lived
// process of its own, so what the work loads (a large package read once, its caches and code) leaves
// with that process instead of staying in the idle agent. The agent re-runs its own program with the
// hidden `plugin-task` subcommand, the request on stdin and the outcome on stdout: `{"result": …}`,
// or `{"error": {"status", "message"}}` so an error keeps its kind (a bad input stays INVALID_ARGUMENT).
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { agentErrorOf, DeadlineExceededError, InternalError, isAgentError, NotFoundError } from './common/errors.js';
import type { AnyPluginDefinition } from './sdk.js';

/** What the child is asked: a plugin by id (and its module file when it is not built in), a task and its input. */
export interface TaskRequest {
  plugin: string;
  module?: string;
  task: string;
  input: unknown;
}

export interface TaskOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

export type TaskRunner = (request: TaskRequest, definition: AnyPluginDefinition, options: TaskOptions) => Promise<unknown>;

/** A result bigger than this is refused: tasks return reports, not data dumps. */
const MAX_RESULT_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BYTES = 4096;

function taskOf(definition: AnyPluginDefinition, name: string) {
  const task = definition.tasks?.[name];
  if (!task) throw new NotFoundError(`plugin ${definition.id} has no task ${name}`);
  return task;
}

/** Runs the task in this process: the harness, and agents embedded without their command line. */
export const runTaskHere: TaskRunner = async (request, definition) => await taskOf(definition, request.task)(request.input);

/**
 * Runs tasks by starting `command` (the agent's own program and the argv that reaches its
 * `plugin-task` subcommand); the child is killed at the deadline or when `signal` aborts.
 */
export function childTaskRunner(command: readonly string[]): TaskRunner {
  return (request, definition, { timeoutMs, signal }) =>
    new Promise((resolve, reject) => {
      taskOf(definition, request.task);
      const [file, ...args] = command;
      // A process group of its own, so a stop takes the tools the task started along with it.
      const child = spawn(file!, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const out: Buffer[] = [];
      let outBytes = 0;
      let err = '';
      let failure: Error | undefined;
      const stop = (error: Error) => {
        failure ??= error;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group is gone already.
        }
      };
      const timer = setTimeout(() => stop(new DeadlineExceededError(`task ${request.plugin}.${request.task} did not finish within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => stop(new InternalError(`task ${request.plugin}.${request.task} was stopped: the plugin is stopping`));
      signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (chunk: Buffer) => {
        outBytes += chunk.length;
        if (outBytes > MAX_RESULT_BYTES) stop(new InternalError(`task ${request.plugin}.${request.task} returned more than ${MAX_RESULT_BYTES} bytes`));
        else out.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (err.length < MAX_ERROR_BYTES) err += chunk.toString('utf8');
      });
      child.on('error', (error) => stop(new InternalError(`task ${request.plugin}.${request.task} could not start: ${error.message}`)));
      child.on('close', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (failure) return reject(failure);
        if (code !== 0) return reject(new InternalError(`task ${request.plugin}.${request.task} failed: ${err.trim().slice(0, MAX_ERROR_BYTES) || `exit status ${code}`}`));
        let outcome: { result?: unknown; error?: { status: string; message: string } };
        try {
          outcome = JSON.parse(Buffer.concat(out).toString('utf8'));
        } catch (error) {
          return reject(new InternalError(`task ${request.plugin}.${request.task} printed no JSON: ${(error as Error).message}`));
        }
        if (outcome.error) reject(agentErrorOf(outcome.error.status, outcome.error.message));
        else resolve(outcome.result);
      });
      // A child that ends before reading its request (it could not be executed, or died at once)
      // breaks the pipe: its exit status says why, and the write's EPIPE must not end the agent.
      child.stdin.on('error', () => undefined);
      child.stdin.end(JSON.stringify(request));
    });
}

/** The child's side: finds the plugin (built in, or its module file), runs the task and gives its outcome as JSON. */
export async function runTaskRequest(text: string, builtins: readonly AnyPluginDefinition[]): Promise<string> {
  let request: TaskRequest | undefined;
  try {
    const asked = (request = JSON.parse(text) as TaskRequest);
    const definition = asked.module
      ? ((await import(pathToFileURL(asked.module).href)) as { default: AnyPluginDefinition }).default
      : builtins.find((p) => p.id === asked.plugin);
    if (!definition || definition.id !== asked.plugin) throw new NotFoundError(`no plugin ${asked.plugin}`);
    return JSON.stringify({ result: await runTaskHere(asked, definition, { timeoutMs: 0 }) });
  } catch (error) {
    // A plugin's own error says what is wrong in its words; anything else is named as the task's failure.
    if (isAgentError(error)) return JSON.stringify({ error: { status: error.status, message: error.message } });
    const message = `task ${request?.plugin}.${request?.task} failed: ${error instanceof Error ? error.message : String(error)}`;
    return JSON.stringify({ error: { status: 'INTERNAL', message } });
  }
}
