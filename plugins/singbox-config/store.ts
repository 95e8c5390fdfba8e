// What the plugin keeps on disk: its state in work_dir, and the config history next to config_path.
// Every write is temp file + fsync + rename, so a crash leaves the old or the new file, never half.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../../agent-core/sdk.js';
import path from 'node:path';
import type { LocalRemoval, SyncUser } from './contract.js';
import type { SingboxConfig } from './render.js';

export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}); move it away to start afresh`);
  }
}

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface BaseState {
  version: number;
  time: string;
  comment: string;
  hash: string;
  config: SingboxConfig;
}

export interface UsersState {
  revision: number;
  synced_at: string;
  users: SyncUser[];
  /**
   * Each user's ledger total (upload + download bytes) as of the snapshot's ledger_seq, or when it
   * arrived; null until clash-stats answered.
   */
  baseline: Record<string, number> | null;
  /** Users cut off here while the hub was away (degraded mode); cleared by the next users.sync. */
  removed: LocalRemoval[];
}

export interface SsmState {
  /** Secret path prefix per managed inbound tag, kept so the SSM URLs stay the same across restarts. */
  prefixes: Record<string, string>;
}

/** The plugin's own state files in work_dir (never the config dir, checked at start: pitfall 13). */
export class StateStore {
  constructor(private readonly dir: string) {}

  private file(name: string): string {
    return path.join(this.dir, `${name}.json`);
  }

  readBase = () => readJson<BaseState>(this.file('base'));
  writeBase = (state: BaseState) => writeFileAtomic(this.file('base'), JSON.stringify(state, null, 2));
  readUsers = () => readJson<UsersState>(this.file('users'));
  writeUsers = (state: UsersState) => writeFileAtomic(this.file('users'), JSON.stringify(state));
  readSsm = () => readJson<SsmState>(this.file('ssm'));
  writeSsm = (state: SsmState) => writeFileAtomic(this.file('ssm'), JSON.stringify(state));
}

export interface HistoryEntry {
  version: number;
  time: string;
  comment: string;
  /** Hash of the base config. */
  hash: string;
  /** Hash of the config file served when this version was applied. */
  rendered_hash: string;
}

interface HistoryFile extends HistoryEntry {
  base: SingboxConfig;
  rendered: SingboxConfig;
}

/**
 * The last versions of the config, next to config_path. The folder name does not end in .json:
 * `sing-box -C <dir>` loads every *.json directly in <dir> (pitfall 13), and does not recurse.
 */
export class History {
  readonly dir: string;

  constructor(configPath: string, private readonly keep: number) {
    this.dir = path.join(path.dirname(configPath), 'boxfleet-history');
  }

  private file(version: number): string {
    return path.join(this.dir, `v${String(version).padStart(6, '0')}.json`);
  }

  private async versions(): Promise<number[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names
      .map((name) => /^v(\d+)\.json$/.exec(name)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
  }

  async add(entry: HistoryEntry, base: SingboxConfig, rendered: SingboxConfig): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file: HistoryFile = { ...entry, base, rendered };
    await writeFileAtomic(this.file(entry.version), JSON.stringify(file, null, 2));
    const stale = (await this.versions()).slice(this.keep);
    await Promise.all(stale.map((v) => rm(this.file(v), { force: true })));
  }

  /** Newest first. */
  async list(): Promise<HistoryEntry[]> {
    const out: HistoryEntry[] = [];
    for (const version of await this.versions()) {
      const file = await readJson<HistoryFile>(this.file(version)).catch(() => undefined);
      if (file) out.push({ version: file.version, time: file.time, comment: file.comment, hash: file.hash, rendered_hash: file.rendered_hash });
    }
    return out;
  }

  async read(version: number): Promise<{ entry: HistoryEntry; base: SingboxConfig } | undefined> {
    const file = await readJson<HistoryFile>(this.file(version));
    if (!file) return undefined;
    const { base, rendered: _rendered, ...entry } = file;
    return { entry, base };
  }

  async newest(): Promise<number> {
    return (await this.versions())[0] ?? 0;
  }
}
