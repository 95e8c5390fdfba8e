// The sing-box local rule-set file (source format) with the destination blocks. sing-box watches
// the file and reads it again when it is replaced, without a reload (route/rule/rule_set_local.go),
// so the file is replaced whole and never seen half-written.
import { execFile } from 'node:child_process';
import { rm, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { InvalidArgumentError, UnavailableError, writeFileAtomic } from '../../agent-core/sdk.js';
import { readQuietly } from './files.js';
import type { RuleSetEntry } from './plan.js';

export const RULE_SET_TAG = 'boxfleet-block';
/** Source-format version 4 is sing-box 1.13's (the file uses no item newer than version 1's). */
export const RULE_SET_VERSION = 4;

const run = promisify(execFile);
// `sing-box check` of a small config takes a fraction of a second.
const CHECK_TIMEOUT_MS = 20_000;

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
  await writeFileAtomic(file, content, { mode: 0o644, times: new Date(Date.now() - 1000) });
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

/**
 * sing-box's own verdict on `content` before it replaces the file: a file sing-box refuses would
 * leave it on the old rules (it only logs the error) while the other layers took the new ones.
 * Throws naming the rule its error points at (`parse rule_set.rules.[i]: ipcidr: parse [j]: …`).
 */
export async function checkRuleSet(binary: string, file: string, content: string, entries: readonly RuleSetEntry[]): Promise<void> {
  // Not ending in .json (a sing-box -C folder loads those); format "source" is said in the config.
  const candidate = `${file}.check`;
  await writeFile(candidate, content, { mode: 0o600 });
  const config = { route: { rule_set: [{ type: 'local', tag: RULE_SET_TAG, format: 'source', path: candidate }], rules: [{ rule_set: RULE_SET_TAG, action: 'reject' }] } };
  try {
    const child = run(binary, ['check', '--disable-color', '-c', 'stdin'], { timeout: CHECK_TIMEOUT_MS });
    child.child.stdin?.on('error', () => undefined);
    child.child.stdin?.end(JSON.stringify(config));
    await child;
  } catch (error) {
    const e = error as { stderr?: unknown; message?: unknown };
    const text = typeof e.stderr === 'string' && e.stderr.trim() ? e.stderr.trim() : String(e.message);
    throw refusal(text, entries);
  } finally {
    await rm(candidate, { force: true });
  }
}

function refusal(text: string, entries: readonly RuleSetEntry[]): Error {
  const match = /rule_set\.rules\.\[(\d+)\]: (?:[\w_]+: parse \[(\d+)\]: )?(.*)$/m.exec(text);
  const entry = match ? entries[Number(match[1])] : undefined;
  if (!match || !entry) return new UnavailableError(`sing-box check of the rule-set failed: ${text.split('\n').at(-1)}`);
  const named = match[2] === undefined ? entry.rules : [entry.rules[Number(match[2])] ?? entry.rules.join(', ')];
  return new InvalidArgumentError(`${named.map((id) => `rule ${JSON.stringify(id)}`).join(', ')} refused by sing-box: ${match[3]}`);
}
