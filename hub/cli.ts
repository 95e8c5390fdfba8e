#!/usr/bin/env node
// `boxfleet`: the hub, the agent, and the operator's commands on a node. Each subcommand loads
// only what it needs, so the agent never loads the hub's dependencies (the hub's settings are
// plain data in TypeBox, which the agent uses too).
import { Command } from 'commander';
import { readStdin, run } from '../agent-core/common/cli-run.js';
import { AGENT_VERSION } from '../agent-core/common/version.js';
import { addAgentProgram } from '../agent-core/main.js';
import { addBackupCommands } from './backup-cli.js';
import { addImportCommands } from './import-cli.js';
import { resolveHubConfig, settingEntries } from './config.js';
import { settingOption } from './setting-option.js';
import { settingsHelp } from './settings-docs.js';

const program = new Command('boxfleet').version(AGENT_VERSION).description('Run a fleet of sing-box proxy nodes.');

const hubFlags = settingEntries().flatMap(([key, setting]) => (setting.flag ? [{ key, option: settingOption(key).hideHelp() }] : []));
const hubCommand = program.command('hub').description('start the hub (defaults: port 8080, SQLite and data under ./data)');
// The settings' own listing replaces commander's, which could show neither the variables nor the groups.
for (const { option } of hubFlags) hubCommand.addOption(option);
hubCommand.addHelpText('after', settingsHelp);
hubCommand.action(
  run(async (opts: Record<string, string | undefined>) => {
    // Whatever the hub writes (database, config versions, logs) is for its own user only.
    process.umask(0o077);
    const config = resolveHubConfig(Object.fromEntries(hubFlags.map(({ key, option }) => [key, opts[option.attributeName()]])));
    // Before the hub's modules load: the SkyWalking agent patches http and mysql2 as they are required.
    if (config.skywalking_collector) {
      const { startTracing } = await import('../agent-core/common/tracing.js');
      startTracing({ collector: config.skywalking_collector, service: 'boxfleet-hub' });
    }
    const { startHub } = await import('./server.js');
    const hub = await startHub(config);
    process.stdout.write(`boxfleet hub listening on ${hub.url}${config.public_url ? ` (public URL ${config.public_url})` : ''}\n`);
  }),
);

addBackupCommands(hubCommand, run);

program
  .command('admin')
  .description('manage hub admin accounts from the shell')
  .command('create')
  .description('create an admin (the first one should be an owner); prints a generated password unless --password-stdin')
  .requiredOption('--username <name>', 'login name')
  .option('--role <role>', 'owner | admin | operator | viewer', 'owner')
  .option('--password-stdin', 'read the password from standard input')
  .addOption(settingOption('data_dir'))
  .addOption(settingOption('database_url'))
  .action(
    run(async (opts: { username: string; role: string; passwordStdin?: boolean; dataDir?: string; databaseUrl?: string }) => {
      const [{ randomBytes }, { openDatabase }, { Model }, { createAdmin }] = await Promise.all([
        import('node:crypto'),
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

addImportCommands(program, run);

addAgentProgram(program.command('agent').description('run or operate the node agent'), 'boxfleet agent');

await program.parseAsync();
