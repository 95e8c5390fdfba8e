#!/usr/bin/env node
// `boxfleet`: the hub, the agent, and the operator's commands on a node. Each subcommand loads
// only what it needs, so the agent never loads the hub's dependencies.
import { Command } from 'commander';
import { addAgentCommands, readStdin, run } from '../agent-core/cli.js';
import { AGENT_VERSION } from '../agent-core/version.js';

/** describe and call reach the local agent through the hub's own client (loaded only then). */
const connectLocalAgent = async (configFile: string) => (await import('./agent-client.js')).connectLocalAgent(configFile);

const program = new Command('boxfleet').version(AGENT_VERSION).description('Run a fleet of sing-box proxy nodes.');

program
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
        password = (await readStdin()).replace(/\r?\n$/, '');
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

addAgentCommands(program.command('agent').description('run or operate the node agent'), connectLocalAgent, 'boxfleet agent');

await program.parseAsync();
