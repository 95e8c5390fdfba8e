#!/usr/bin/env node
// `boxfleet`: the hub, the agent, and the operator's commands on a node. Each subcommand loads
// only what it needs, so the agent never loads the hub's dependencies.
import { Command } from 'commander';
import { AGENT_VERSION } from '../agent-core/version.js';
import { addBackupCommands } from './backup-cli.js';

function fail(error: unknown): never {
  const e = error as Error & { code?: string };
  process.stderr.write(`boxfleet: ${e.code && !e.code.startsWith('AGENT_ERR') ? `${e.code}: ` : ''}${e.message}\n`);
  process.exit(1);
}

function run<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  return (...args: A) => action(...args).catch(fail);
}

/** A client for the agent described by a local agent.yaml, as an operator on that node uses it. */
async function localAgent(configFile: string) {
  const [{ readFile }, { X509Certificate }, { readAgentConfig, splitAddress }, { AgentClient }] = await Promise.all([
    import('node:fs/promises'),
    import('node:crypto'),
    import('../agent-core/config.js'),
    import('./agent-client.js'),
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
    fingerprint: certificate && new X509Certificate(certificate).fingerprint256.replace(/:/g, '').toLowerCase(),
  });
}

const DEFAULT_AGENT_CONFIG = '/etc/boxfleet/agent.yaml';
const program = new Command('boxfleet').version(AGENT_VERSION).description('Run a fleet of sing-box proxy nodes.');

const hub = program
  .command('hub')
  .description('start the hub (defaults: port 8080, SQLite and data under ./data)')
  .option('--host <host>', 'address to listen on (env BOXFLEET_HOST)')
  .option('--port <port>', 'port to listen on (env BOXFLEET_PORT)')
  .option('--data-dir <dir>', 'SQLite database and local files (env BOXFLEET_DATA_DIR)')
  .option('--database-url <url>', 'mysql://user:pass@host:3306/db instead of SQLite (env BOXFLEET_DATABASE_URL)')
  .option('--log-level <level>', 'error | warn | info | debug (env BOXFLEET_LOG_LEVEL)')
  .option('--skywalking <host:port>', 'send traces to this SkyWalking collector (env BOXFLEET_SKYWALKING_COLLECTOR)')
  .action(
    run(async (opts: { host?: string; port?: string; dataDir?: string; databaseUrl?: string; logLevel?: string; skywalking?: string }) => {
      const { resolveHubConfig } = await import('./config.js');
      const config = resolveHubConfig({
        host: opts.host,
        port: opts.port,
        data_dir: opts.dataDir,
        database_url: opts.databaseUrl,
        log_level: opts.logLevel,
        skywalking_collector: opts.skywalking,
      });
      // Before the hub's modules load: the SkyWalking agent patches http and mysql2 as they are required.
      if (config.skywalking_collector) {
        const { startTracing } = await import('../agent-core/tracing.js');
        startTracing({ collector: config.skywalking_collector, service: 'boxfleet-hub' });
      }
      const { startHub } = await import('./server.js');
      const hub = await startHub(config);
      process.stdout.write(`boxfleet hub listening on ${hub.url}\n`);
    }),
  );

addBackupCommands(hub, run);

program
  .command('admin')
  .description('manage hub admin accounts from the shell')
  .command('create')
  .description('create an admin (the first one should be an owner); prints a generated password unless --password-stdin')
  .requiredOption('--username <name>', 'login name')
  .option('--role <role>', 'owner | admin | operator | viewer', 'owner')
  .option('--password-stdin', 'read the password from standard input')
  .option('--data-dir <dir>', 'the hub data dir (env BOXFLEET_DATA_DIR)')
  .option('--database-url <url>', 'the hub database (env BOXFLEET_DATABASE_URL)')
  .action(
    run(async (opts: { username: string; role: string; passwordStdin?: boolean; dataDir?: string; databaseUrl?: string }) => {
      const [{ randomBytes }, { resolveHubConfig }, { openDatabase }, { Model }, { createAdmin }] = await Promise.all([
        import('node:crypto'),
        import('./config.js'),
        import('./db/database.js'),
        import('objection'),
        import('./admins.js'),
      ]);
      const config = resolveHubConfig({ data_dir: opts.dataDir, database_url: opts.databaseUrl });
      let password = randomBytes(15).toString('base64url');
      if (opts.passwordStdin) {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      }
      const knex = await openDatabase(config);
      Model.knex(knex);
      try {
        const admin = await createAdmin(opts.username, password, opts.role as never);
        process.stdout.write(`created ${admin.role} ${admin.username}${opts.passwordStdin ? '' : ` with password ${password}`}\n`);
      } finally {
        await knex.destroy();
      }
    }),
  );

const agent = program.command('agent').description('run or operate the node agent');

agent
  .command('run', { isDefault: true })
  .description('start the agent (the default when no subcommand is given)')
  .option('-c, --config <file>', 'agent config', DEFAULT_AGENT_CONFIG)
  .action(
    run(async (opts: { config: string }) => {
      const { startAgent } = await import('../agent-core/agent.js');
      const running = await startAgent(opts.config);
      const { config } = running;
      process.stdout.write(
        `boxfleet agent ${config.node_id} listening on ${config.listen.replace(/:\d+$/, `:${running.port}`)} (${config.insecure ? 'plaintext' : 'TLS'})\n`,
      );
      const stop = () => void running.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }),
  );

agent
  .command('init')
  .description('write agent.yaml, a TLS key and certificate, and a token; print the enrollment string')
  .option('-d, --dir <dir>', 'folder to write into', '/etc/boxfleet')
  .option('--node-id <id>', 'node id (default: the host name)')
  .option('--listen <host:port>', 'address the agent listens on', '0.0.0.0:7443')
  .option('--address <host:port>', 'address the hub dials (default: this host and the listen port)')
  .option('--insecure', 'plaintext gRPC, for loopback tests only')
  .option('--force', 'replace an existing agent.yaml')
  .action(
    run(async (opts: { dir: string; nodeId?: string; listen: string; address?: string; insecure?: boolean; force?: boolean }) => {
      const { initAgent } = await import('../agent-core/init.js');
      const result = await initAgent(opts);
      process.stdout.write(
        `wrote ${result.configFile}\nstart the agent:  boxfleet agent --config ${result.configFile}\n` +
          `enrollment string for the hub (keep it secret):\n${result.enrollment}\n`,
      );
    }),
  );

agent
  .command('describe')
  .description('print what the running agent offers, as JSON')
  .option('-c, --config <file>', 'agent config', DEFAULT_AGENT_CONFIG)
  .action(
    run(async (opts: { config: string }) => {
      const client = await localAgent(opts.config);
      try {
        process.stdout.write(`${JSON.stringify(await client.describe(), null, 2)}\n`);
      } finally {
        client.close();
      }
    }),
  );

agent
  .command('call')
  .description('run a plugin command on the running agent and print its JSON result')
  .argument('<command>', '<plugin>.<command>, e.g. sysmetrics.current')
  .argument('[json]', 'input as JSON; @file reads it from a file, - from standard input', '{}')
  .option('-c, --config <file>', 'agent config', DEFAULT_AGENT_CONFIG)
  .option('--timeout <ms>', 'how long to wait', '30000')
  .action(
    run(async (command: string, json: string, opts: { config: string; timeout: string }) => {
      let text = json;
      if (json === '-') {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        text = Buffer.concat(chunks).toString('utf8');
      } else if (json.startsWith('@')) {
        const { readFile } = await import('node:fs/promises');
        text = await readFile(json.slice(1), 'utf8');
      }
      let input: unknown;
      try {
        input = JSON.parse(text);
      } catch (error) {
        throw new Error(`input is not JSON: ${(error as Error).message}`);
      }
      const client = await localAgent(opts.config);
      try {
        const { result } = await client.execute(command, input, { timeoutMs: Number(opts.timeout) });
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } finally {
        client.close();
      }
    }),
  );

await program.parseAsync();
