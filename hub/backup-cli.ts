// `boxfleet hub backup` and `boxfleet hub restore`, added to the `hub` command. The work is in
// hub/backup.ts, loaded only when one of them runs.
import type { Command } from 'commander';
import { settingOption } from './setting-option.js';

interface StoreOptions {
  dataDir?: string;
  databaseUrl?: string;
  objectStoreUrl?: string;
}

type Run = <A extends unknown[]>(action: (...args: A) => Promise<void>) => (...args: A) => Promise<void>;

const withStoreOptions = (command: Command) =>
  command.addOption(settingOption('data_dir')).addOption(settingOption('database_url')).addOption(settingOption('object_store_url'));

async function hubConfig(opts: StoreOptions) {
  const { resolveHubConfig } = await import('./config.js');
  return resolveHubConfig({ data_dir: opts.dataDir, database_url: opts.databaseUrl, object_store_url: opts.objectStoreUrl });
}

const progress = (message: string) => process.stderr.write(`boxfleet: ${message}\n`);

export function addBackupCommands(hub: Command, run: Run): void {
  // Options stop at a subcommand's name, so `hub backup --data-dir …` reaches backup rather than the
  // hub; the actions read the hub's too, so `hub --data-dir … backup` means the same.
  hub.parent!.enablePositionalOptions();
  hub.enablePositionalOptions();

  withStoreOptions(
    hub
      .command('backup')
      .description('write the hub database and object store to one archive, while the hub runs (it holds secrets: keep it private)')
      .requiredOption('--out <file>', "the archive to write (gzip'ed JSON lines, mode 0600)"),
  ).action(
    run(async (_opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<StoreOptions & { out: string }>();
      const { backupHub } = await import('./backup.js');
      const { file, bytes, header } = await backupHub(await hubConfig(opts), opts.out, progress);
      const rows = header.tables.reduce((n, t) => n + t.rows, 0);
      process.stdout.write(
        `wrote ${file} (${bytes} bytes): ${rows} rows of ${header.tables.length} tables and ${header.objects} objects, ` +
          `schema ${header.schema_version}, from ${header.database}\n`,
      );
    }),
  );

  withStoreOptions(
    hub
      .command('restore')
      .description('restore an archive from `hub backup` into an empty hub database (stop the hubs that use it first)')
      .argument('<file>', 'the archive')
      .option('--force', 'replace everything the database holds'),
  ).action(
    run(async (file: string, _opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<StoreOptions & { force?: boolean }>();
      const { restoreHub } = await import('./backup.js');
      const config = await hubConfig(opts);
      const { header, schema_version } = await restoreHub(config, file, { force: opts.force, progress });
      const rows = header.tables.reduce((n, t) => n + t.rows, 0);
      const migrated = schema_version === header.schema_version ? '' : `, migrated to ${schema_version}`;
      process.stdout.write(
        `restored ${rows} rows and ${header.objects} objects (schema ${header.schema_version}${migrated}) ` +
          `into ${config.database_url ? 'MySQL' : `SQLite in ${config.data_dir}`}\n`,
      );
    }),
  );
}
