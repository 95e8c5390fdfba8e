// The sing-box local rule-set file (source format) with the destination blocks. sing-box watches
// the file and reads it again when it is replaced, without a reload (route/rule/rule_set_local.go),
// so the file is replaced whole and never seen half-written.
import { stat } from 'node:fs/promises';
import { readQuietly, writeAtomic } from './files.js';
import type { RuleSetEntry } from './plan.js';

export const RULE_SET_TAG = 'boxfleet-block';
/** Source-format version 4 is sing-box 1.13's (the file uses no item newer than version 1's). */
export const RULE_SET_VERSION = 4;

export function ruleSetSource(entries: readonly RuleSetEntry[]): string {
  return `${JSON.stringify({ version: RULE_SET_VERSION, rules: entries.map((e) => e.rule) }, null, 2)}\n`;
}

/**
 * Writes `content` to `file` unless it holds exactly that already (a rewrite would make sing-box
 * read it again for nothing). Returns whether the file changed.
 */
export async function writeRuleSet(file: string, content: string): Promise<boolean> {
  if ((await readQuietly(file)) === content) return false;
  // Both times a second back: the first read after the rename moves the access time past the
  // modification time (relatime updates it then), which is how readSinceWritten tells it was read.
  await writeAtomic(file, content, 0o644, new Date(Date.now() - 1000));
  return true;
}

/**
 * Whether something read `file` since it was last written: its access time moved past its
 * modification time. undefined when the file is not there.
 */
export async function readSinceWritten(file: string): Promise<boolean | undefined> {
  const info = await stat(file, { bigint: true }).catch(() => undefined);
  return info && info.atimeNs > info.mtimeNs;
}
