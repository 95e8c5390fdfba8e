// What the plugin keeps between commands: its settings, the base config and users in service, the
// served file, the last apply, and the queue that runs one sing-box operation at a time.
import { mkdir } from 'node:fs/promises';
import { FailedPreconditionError, type CommandHandlers, type PluginContext } from '../../agent-core/sdk.js';
import { servedState, type ServedState } from './apply.js';
import type { commands, events, LastApply } from './contract.js';
import type { SingboxConfig } from './render.js';
import { checkSettings, type SettingsT } from './settings.js';
import { hashText, History, readIfExists, StateStore, type BaseState, type SsmState, type UsersState } from './store.js';

export type Context = PluginContext<SettingsT, typeof events>;
export type Handlers = CommandHandlers<typeof commands>;

export interface State {
  readonly settings: SettingsT;
  readonly configPath: string;
  readonly workDir: string;
  readonly store: StateStore;
  readonly history: History;
  readonly ssm: SsmState;
  base: BaseState | undefined;
  users: UsersState | undefined;
  served: ServedState | undefined;
  lastApply: LastApply | null;
  /** Reloads and starts done by this plugin since it started. */
  reloads: number;
  stopped: boolean;
  /** Runs `work` after every sing-box operation queued before it: applies, reloads, restarts, local removals. */
  serialize<T>(work: () => Promise<T>): Promise<T>;
}

/** Checks the settings and reads the state the plugin left on disk. */
export async function loadState(ctx: Context): Promise<State> {
  const settings = ctx.config;
  const workDir = settings.work_dir ?? ctx.stateDir;
  checkSettings(settings, workDir);
  const { config_path: configPath } = settings;
  await mkdir(workDir, { recursive: true, mode: 0o700 });

  const store = new StateStore(workDir);
  const history = new History(configPath, settings.history_size);
  const base = await store.readBase();
  const users = await store.readUsers();
  const ssm = (await store.readSsm()) ?? { prefixes: {} };
  let served: ServedState | undefined;
  const servedText = base ? await readIfExists(configPath) : undefined;
  if (servedText !== undefined) {
    try {
      served = servedState(JSON.parse(servedText) as SingboxConfig, hashText(servedText));
    } catch {
      ctx.logger.warn('the served config file is not JSON; the next apply replaces it', { config_path: configPath });
    }
  }

  let queue: Promise<unknown> = Promise.resolve();
  return {
    settings,
    configPath,
    workDir,
    store,
    history,
    ssm,
    base,
    users,
    served,
    lastApply: null,
    reloads: 0,
    stopped: false,
    serialize<T>(work: () => Promise<T>): Promise<T> {
      const next = queue.then(work);
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const noConfig = () => new FailedPreconditionError('no config applied yet: use singbox-config.config.apply');
