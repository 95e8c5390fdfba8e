// `boxfleet import marzban`: bring users, plans and admins over from a Marzban panel's database.
// The work is in hub/import/, loaded only when the command runs.
import type { Command } from 'commander';
import { settingOption } from './setting-option.js';

type Run = <A extends unknown[]>(action: (...args: A) => Promise<void>) => (...args: A) => Promise<void>;

interface ImportOptions {
  from: string;
  dryRun?: boolean;
  planMap?: string;
  nodeTags: string;
  dataDir?: string;
  databaseUrl?: string;
}

const MARZBAN_HELP = `
Each Marzban user becomes a boxfleet user (same name, note, UUID and password, so existing client
configs keep working) with a subscription (used traffic, limit, expiry and status kept) to a plan:
one derived per distinct (data limit, duration, reset strategy), named like
"Marzban 50 GiB · 30 days · rolling_30d", or an existing plan chosen by --plan-map. Marzban admins
become admins (sudo → owner, others → operator) who must set a new password before using the hub
(POST /api/v1/auth/password with their Marzban password). Nothing is written on --dry-run, and
nothing at all when any step fails. Users and admins already in boxfleet (by name) are left as
they are, so running it again imports only what is new. README "Moving from Marzban" has the
mapping in full.

--plan-map file (YAML or JSON): a list of rules, the first a user matches wins, a field left out
matches anything:
  - { data_limit: 53687091200, duration_days: 30, reset: month, plan: Gold }
  - { data_limit: null, plan: Unlimited }   # null: unlimited in Marzban
`;

export function addImportCommands(program: Command, run: Run): void {
  program
    .command('import')
    .description('bring users over from another panel')
    .command('marzban')
    .description("import a Marzban panel's users, plans and admins")
    .requiredOption('--from <database>', "Marzban's database: the path of its SQLite file (db.sqlite3) or a mysql://user:pass@host/db URL")
    .option('--dry-run', 'print what would be created and every record that cannot be mapped; change nothing')
    .option('--plan-map <file>', 'map Marzban users to existing boxfleet plans (YAML or JSON, see below)')
    .option('--node-tags <tags>', 'comma-separated node tags of the plans the import creates', 'marzban')
    .addOption(settingOption('data_dir'))
    .addOption(settingOption('database_url'))
    .addHelpText('after', MARZBAN_HELP)
    .action(
      run(async (opts: ImportOptions) => {
        const [{ resolveHubConfig }, { openDatabase }, { createLogger }, { readPlanMap }, { importMarzban, formatReport }] = await Promise.all([
          import('./config.js'),
          import('./db/database.js'),
          import('../agent-core/common/logger.js'),
          import('./import/marzban-plan-map.js'),
          import('./import/marzban.js'),
        ]);
        const config = resolveHubConfig({ data_dir: opts.dataDir, database_url: opts.databaseUrl });
        const planMap = opts.planMap ? await readPlanMap(opts.planMap) : [];
        const nodeTags = opts.nodeTags.split(',').map((t) => t.trim()).filter(Boolean);
        const options = { from: opts.from, dryRun: Boolean(opts.dryRun), planMap, nodeTags };
        const db = await openDatabase(config);
        try {
          const result = await importMarzban(db, {
            ...options,
            now: Date.now(),
            logger: createLogger({ service: 'hub', level: 'error' }),
            progress: (line) => process.stdout.write(`${line}\n`),
          });
          process.stdout.write(formatReport(result, options));
        } finally {
          await db.destroy();
        }
      }),
    );
}
