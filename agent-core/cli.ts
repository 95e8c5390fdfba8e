// The agent's command line: `run` (the default), `init`, `describe` and `call`. Mounted as
// `boxfleet agent …` by the npm package and as the whole of the standalone `boxfleet-agent`
// executable a node runs, so both take the same arguments.
import { isSea } from 'node:sea';
import { Command } from 'commander';
import { splitAddress } from './common/address.js';
import type { AgentClient } from './common/agent-client.js';
import { readStdin, run } from './common/cli-run.js';
import { certificateFingerprint } from './common/fingerprint.js';
import type { AnyPluginDefinition } from './sdk.js';

interface InitFlags {
  dir: string;
  nodeId?: string;
  listen: string;
  address?: string;
  insecure?: boolean;
  force?: boolean;
  stateDir?: string;
  singBox?: string;
  singBoxConfig: string;
  singBoxUnit?: string;
}

export const DEFAULT_AGENT_CONFIG = '/etc/boxfleet/agent.yaml';

/** A client for the agent a local agent.yaml describes, as an operator on that node uses it. */
async function connect(configFile: string): Promise<AgentClient> {
  const [{ readFile }, { readAgentConfig }, { AgentClient }] = await Promise.all([
    import('node:fs/promises'),
    import('./config.js'),
    import('./common/agent-client.js'),
  ]);
  const config = await readAgentConfig(configFile);
  const { host, port } = splitAddress(config.listen);
  const local = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  const certificate = config.insecure ? undefined : await readFile(config.tls.cert, 'utf8');
  return new AgentClient({
    address: `${local}:${port}`,
    token: (await readFile(config.token_file, 'utf8')).trim(),
    insecure: config.insecure,
    certificate,
    fingerprint: certificate && certificateFingerprint(certificate),
  });
}

/**
 * The argv that runs `plugin-task` of this very program: a single executable is the program itself;
 * under node, node's flags, the script and the subcommands leading to the agent's (`agent` in `boxfleet agent`).
 */
function taskCommand(command: Command): string[] {
  const subcommands: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) subcommands.unshift(c.name());
  const script = isSea() ? [] : [...process.execArgv, process.argv[1]!];
  return [process.execPath, ...script, ...subcommands, 'plugin-task'];
}

/**
 * The agent's commands on `command`, running with the entry point's built-in plugins; `init` writes
 * an agent.yaml that enables those named in `enabledAtInit`.
 */
export function addAgentCommands(
  command: Command,
  builtins: readonly AnyPluginDefinition[],
  enabledAtInit: readonly string[],
  invokedAs: string,
): Command {
  command
    .command('run', { isDefault: true })
    .description('start the agent (the default when no subcommand is given)')
    .option('-c, --config <file>', 'agent config', DEFAULT_AGENT_CONFIG)
    .action(
      run(async (opts: { config: string }) => {
        const { startAgent } = await import('./agent.js');
        const running = await startAgent(opts.config, builtins, taskCommand(command));
        const { config } = running;
        process.stdout.write(
          `boxfleet agent ${config.node_id} listening on ${config.listen.replace(/:\d+$/, `:${running.port}`)} (${config.insecure ? 'plaintext' : 'TLS'})\n`,
        );
        const stop = () => void running.close().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }),
    );

  // The process a plugin task runs in (agent-core/tasks.ts): the request on stdin, the result on stdout.
  command
    .command('plugin-task', { hidden: true })
    .action(
      run(async () => {
        const { runTaskRequest } = await import('./tasks.js');
        const result = await runTaskRequest(await readStdin(), builtins);
        // Whatever the task left running (timers, handles) ends with the process.
        process.stdout.write(result, () => process.exit(0));
      }),
    );

  command
    .command('init')
    .description('write agent.yaml, a TLS key and certificate, and a token; print the enrollment string')
    .option('-d, --dir <dir>', 'folder to write into', '/etc/boxfleet')
    .option('--node-id <id>', 'node id (default: the host name)')
    .option('--listen <host:port>', 'address the agent listens on', '0.0.0.0:7443')
    .option('--address <host:port>', 'address the hub dials (default: this host and the listen port)')
    .option('--insecure', 'plaintext gRPC, for loopback tests only')
    .option('--force', 'replace an existing agent.yaml')
    .option('--state-dir <dir>', 'where plugins keep their state, the traffic ledger among it (default: state beside agent.yaml)')
    .option('--sing-box <path>', 'the sing-box executable singbox-config runs (default: sing-box on PATH)')
    .option('--sing-box-config <file>', 'the config file sing-box runs with', '/etc/sing-box/config.json')
    .option('--sing-box-unit <unit>', 'run sing-box as this systemd unit (singbox-config mode systemd) instead of as a child process')
    .action(
      run(async (opts: InitFlags) => {
        const { initAgent } = await import('./init.js');
        const result = await initAgent({
          ...opts,
          plugins: enabledAtInit,
          singbox: opts.singBox || opts.singBoxUnit ? { binary: opts.singBox ?? 'sing-box', configPath: opts.singBoxConfig, systemdUnit: opts.singBoxUnit } : undefined,
        });
        process.stdout.write(
          `wrote ${result.configFile}\nstart the agent:  ${invokedAs} --config ${result.configFile}\n` +
            `enrollment string for the hub (keep it secret):\n${result.enrollment}\n`,
        );
      }),
    );

  command
    .command('enrollment')
    .description('print the enrollment string of this node again (to add it to a hub)')
    .option('-c, --config <file>', 'agent config', DEFAULT_AGENT_CONFIG)
    .option('--address <host:port>', 'address the hub dials (default: this host and the listen port)')
    .action(
      run(async (opts: { config: string; address?: string }) => {
        const { enrollmentOf } = await import('./init.js');
        process.stdout.write(`${await enrollmentOf(opts.config, opts.address)}\n`);
      }),
    );

  command
    .command('describe')
    .description('print what the running agent offers, as JSON')
    .option('-c, --config <file>', 'agent config', DEFAULT_AGENT_CONFIG)
    .action(
      run(async (opts: { config: string }) => {
        const client = await connect(opts.config);
        try {
          process.stdout.write(`${JSON.stringify(await client.describe(), null, 2)}\n`);
        } finally {
          client.close();
        }
      }),
    );

  command
    .command('call')
    .description('run a plugin command on the running agent and print its JSON result')
    .argument('<command>', '<plugin>.<command>, e.g. sysmetrics.current')
    .argument('[json]', 'input as JSON; @file reads it from a file, - from standard input', '{}')
    .option('-c, --config <file>', 'agent config', DEFAULT_AGENT_CONFIG)
    .option('--timeout <ms>', 'how long to wait', '30000')
    .action(
      run(async (name: string, json: string, opts: { config: string; timeout: string }) => {
        let text = json;
        if (json === '-') text = await readStdin();
        else if (json.startsWith('@')) {
          const { readFile } = await import('node:fs/promises');
          text = await readFile(json.slice(1), 'utf8');
        }
        let input: unknown;
        try {
          input = JSON.parse(text);
        } catch (error) {
          throw new Error(`input is not JSON: ${(error as Error).message}`);
        }
        const client = await connect(opts.config);
        try {
          const { result } = await client.execute(name, input, { timeoutMs: Number(opts.timeout) });
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        } finally {
          client.close();
        }
      }),
    );
  return command;
}
