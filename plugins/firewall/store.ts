// The last rule list the hub synced, kept on disk (0600: comments may name abusers) so the node
// enforces it from its start while the hub is away.
import path from 'node:path';
import { writeFileAtomic } from '../../agent-core/sdk.js';
import { readQuietly } from './files.js';
import type { Rule } from './contract.js';

export interface Synced {
  revision: string;
  synced_at: string;
  rules: Rule[];
}

export class RulesStore {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'rules.json');
  }

  /** undefined before the first sync. A file that is not a rule list stops the plugin at start. */
  async load(): Promise<Synced | undefined> {
    const text = await readQuietly(this.file);
    if (text === undefined) return undefined;
    const data = JSON.parse(text) as Partial<Synced>;
    if (typeof data.revision !== 'string' || typeof data.synced_at !== 'string' || !Array.isArray(data.rules)) {
      throw new Error(`${this.file} is not a synced rule list`);
    }
    return data as Synced;
  }

  save(synced: Synced): Promise<void> {
    return writeFileAtomic(this.file, `${JSON.stringify(synced, null, 2)}\n`);
  }
}
