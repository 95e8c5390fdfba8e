/**
 * In-memory harness (`boxfleet/plugin/testing`): runs plugins in the real plugin host, without a
 * socket, so a plugin's tests exercise the same validation, deadlines and isolation as a node.
 * Results are also checked against each command's output schema.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PluginHost, type AgentEvent, type PluginStatus } from './plugin-host.js';
import type { Logger, AnyPluginDefinition } from './sdk.js';
import { validate } from './common/schema.js';
import { AGENT_VERSION } from './common/version.js';

export interface HarnessOptions {
  /** Settings per plugin id, as they would stand under `plugins.<id>` in agent.yaml. */
  config?: Record<string, Record<string, unknown>>;
  nodeId?: string;
  commandTimeoutMs?: number;
  agentVersion?: string;
}

export interface LogLine {
  level: string;
  msg: string;
  meta: Record<string, unknown>;
}

export interface Harness {
  /** `remote: true` runs it as if it came from the hub (see ctx.lastRemoteCallAt()). */
  execute<T = unknown>(command: string, input?: unknown, options?: { remote?: boolean }): Promise<T>;
  describe(): Promise<PluginStatus[]>;
  /** Every event emitted since the harness started. */
  readonly events: AgentEvent[];
  /** Resolves with the next event of that name. */
  nextEvent(name: string, timeoutMs?: number): Promise<AgentEvent>;
  readonly logs: LogLine[];
  readonly stateDir: string;
  close(): Promise<void>;
}

function memoryLogger(lines: LogLine[], base: Record<string, unknown> = {}): Logger & { child(meta: Record<string, unknown>): Logger } {
  const at = (level: string) => (msg: string, meta: Record<string, unknown> = {}) => {
    lines.push({ level, msg, meta: { ...base, ...meta } });
  };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (meta) => memoryLogger(lines, { ...base, ...meta }),
  };
}

export async function createHarness(
  plugins: AnyPluginDefinition | AnyPluginDefinition[],
  options: HarnessOptions = {},
): Promise<Harness> {
  const definitions = Array.isArray(plugins) ? plugins : [plugins];
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-harness-'));
  const logs: LogLine[] = [];
  const events: AgentEvent[] = [];
  const host = new PluginHost({
    nodeId: options.nodeId ?? 'harness',
    agentVersion: options.agentVersion ?? AGENT_VERSION,
    stateDir,
    logger: memoryLogger(logs),
    commandTimeoutMs: options.commandTimeoutMs ?? 5000,
  });
  const unsubscribe = host.subscribe([], (event) => events.push(event));
  await host.apply(
    definitions.map((definition) => ({ definition, enabled: true, settings: options.config?.[definition.id] ?? {} })),
  );

  return {
    events,
    logs,
    stateDir,
    describe: () => host.describe(),
    async execute<T>(command: string, input: unknown = {}, { remote = false } = {}) {
      const result = await host.execute(command, input, { requestId: 'harness', remote });
      const [id, ...rest] = command.split('.');
      const spec = definitions.find((d) => d.id === id)?.commands[rest.join('.')];
      if (spec) validate(spec.output, structuredClone(result), 'output');
      return result as T;
    },
    nextEvent(name, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          stop();
          reject(new Error(`no ${name} event within ${timeoutMs} ms`));
        }, timeoutMs);
        const stop = host.subscribe([name], (event) => {
          clearTimeout(timer);
          stop();
          resolve(event);
        });
      });
    },
    async close() {
      unsubscribe();
      await host.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
