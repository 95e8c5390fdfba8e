// The agent process: loads agent.yaml, starts the plugins and the gRPC server, and re-reads the
// config on SIGHUP or when the file changes, without restarting or failing commands in flight.
// SIGUSR1 reopens the log file (logrotate's postrotate; SIGHUP is taken by the config reload).
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readAgentConfig, type AgentConfig } from './config.js';
import { InvalidArgumentError } from './common/errors.js';
import { startGrpcServer, type RunningServer } from './grpc-server.js';
import { createLogger, type RootLogger } from './common/logger.js';
import { startLogLoad } from './common/log-load.js';
import { loadPluginEntries } from './plugin-loader.js';
import { PluginHost } from './plugin-host.js';
import { childTaskRunner } from './tasks.js';
import type { AnyPluginDefinition } from './sdk.js';
import { flushTracing, startTracing } from './common/tracing.js';
import { AGENT_VERSION } from './common/version.js';

export interface RunningAgent {
  config: AgentConfig;
  port: number;
  host: PluginHost;
  /** Re-reads agent.yaml; a bad file is logged and changes nothing. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

async function readToken(config: AgentConfig): Promise<string> {
  const token = (await readFile(config.token_file, 'utf8').catch((error: Error) => {
    throw new InvalidArgumentError(`${config.file}: token_file: cannot read ${config.token_file}: ${error.message}`);
  })).trim();
  if (token.length < 16) throw new InvalidArgumentError(`${config.file}: token_file: ${config.token_file} holds fewer than 16 characters`);
  return token;
}

async function readTls(config: AgentConfig): Promise<{ cert: string; key: string } | undefined> {
  if (config.insecure) return undefined;
  const read = (field: 'cert' | 'key') =>
    readFile(config.tls[field], 'utf8').catch((error: Error) => {
      throw new InvalidArgumentError(`${config.file}: tls.${field}: cannot read ${config.tls[field]}: ${error.message}`);
    });
  return { cert: await read('cert'), key: await read('key') };
}

/**
 * `taskCommand`: the argv that re-runs this program's `plugin-task` subcommand, so plugin tasks run
 * in a process of their own; without it (an agent embedded in a test) they run in this one.
 */
export async function startAgent(configFile: string, builtins: readonly AnyPluginDefinition[], taskCommand?: readonly string[]): Promise<RunningAgent> {
  let config = await readAgentConfig(configFile);
  let token = await readToken(config);
  const logger: RootLogger = createLogger({
    service: 'agent',
    level: config.log.level,
    file: config.log.file,
    maxFileBytes: config.log.max_file_mb * 2 ** 20,
    fields: { node_id: config.node_id },
  });
  // Before the gRPC server exists, as the SkyWalking agent wants.
  if (config.tracing.collector) startTracing({ collector: config.tracing.collector, service: 'boxfleet-agent', instance: config.node_id });
  const host = new PluginHost({
    nodeId: config.node_id,
    agentVersion: AGENT_VERSION,
    stateDir: config.state_dir,
    logger,
    commandTimeoutMs: config.command_timeout_ms,
    runTask: taskCommand && childTaskRunner(taskCommand),
  });
  await host.apply(await loadPluginEntries(config, builtins));

  let server: RunningServer;
  try {
    server = await startGrpcServer({
      listen: config.listen,
      insecure: config.insecure,
      tls: await readTls(config),
      token: () => token,
      host,
      nodeId: config.node_id,
      agentVersion: AGENT_VERSION,
      logger,
    });
  } catch (error) {
    await host.close();
    throw error;
  }

  const reload = async () => {
    try {
      const next = await readAgentConfig(configFile);
      const nextToken = await readToken(next);
      for (const field of ['node_id', 'listen', 'insecure', 'state_dir', 'command_timeout_ms', 'reload_on_change'] as const) {
        if (next[field] !== config[field]) logger.warn(`${field} changed; restart the agent to apply it`, { field });
      }
      if (next.tracing.collector !== config.tracing.collector) logger.warn('tracing.collector changed; restart the agent to apply it', { field: 'tracing.collector' });
      for (const field of ['file', 'max_file_mb', 'load_test_lines_per_s'] as const) {
        if (next.log[field] !== config.log[field]) logger.warn(`log.${field} changed; restart the agent to apply it`, { field: `log.${field}` });
      }
      await host.apply(await loadPluginEntries(next, builtins));
      config = next;
      token = nextToken;
      logger.level = next.log.level;
      logger.info('config reloaded', { file: next.file });
    } catch (error) {
      logger.error('config reload refused; the running config stays', { error: (error as Error).message });
    }
  };

  // Editors replace files by rename, so watch the folder and match the name.
  let debounce: NodeJS.Timeout | undefined;
  const watcher: FSWatcher | undefined = config.reload_on_change
    ? watch(path.dirname(config.file), (_, name) => {
        if (name !== path.basename(config.file)) return;
        clearTimeout(debounce);
        debounce = setTimeout(() => void reload(), 300);
      })
    : undefined;
  // Once the agent is up: a start that fails must not be kept alive by the load's timer.
  const stopLogLoad = config.log.load_test_lines_per_s > 0 ? startLogLoad(logger, config.log.load_test_lines_per_s) : undefined;
  const onHup = () => void reload();
  process.on('SIGHUP', onHup);
  const onUsr1 = () => logger.reopen();
  process.on('SIGUSR1', onUsr1);

  logger.info('agent started', { listen: config.listen, port: server.port, version: AGENT_VERSION });
  return {
    get config() {
      return config;
    },
    port: server.port,
    host,
    reload,
    async close() {
      process.off('SIGHUP', onHup);
      process.off('SIGUSR1', onUsr1);
      stopLogLoad?.();
      watcher?.close();
      clearTimeout(debounce);
      await server.close();
      await host.close();
      await flushTracing();
      logger.info('agent stopped');
      await logger.close();
    },
  };
}
