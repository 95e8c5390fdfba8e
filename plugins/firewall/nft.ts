// The plugin's nftables table (family inet): written whole in one `nft -f -` transaction, so the
// kernel either takes all of it or keeps the table as it was, and removed as a whole.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, UnavailableError } from '../../agent-core/sdk.js';
import type { Element, NftPlan } from './plan.js';

// Listing or replacing one small table is instant; a slower nft is stuck (e.g. on the netlink lock).
const NFT_TIMEOUT_MS = 10_000;

export async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      await access(file, constants.X_OK);
      if ((await stat(file)).isFile()) return file;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

interface NftRun {
  code: number | null;
  stderr: string;
  stdout: string;
  killed: boolean;
}

function runNft(nft: string, args: string[], stdin?: string): Promise<NftRun> {
  return new Promise((resolve) => {
    const child = execFile(nft, args, { timeout: NFT_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: unknown; killed?: boolean }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (e && typeof e.code !== 'number' ? e.message : ''), killed: e?.killed ?? false });
    });
    // nft may exit before reading its input (no permission, say): its exit code tells, not EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin ?? '');
  });
}

/** Why nft cannot be used here, from its error output; undefined for any other failure. */
function unusable(run: NftRun): string | undefined {
  if (run.killed) return `nft did not answer within ${NFT_TIMEOUT_MS} ms`;
  if (/Operation not permitted|Permission denied/i.test(run.stderr)) {
    return 'nft is not permitted to change tables (run the agent as root or with CAP_NET_ADMIN)';
  }
  if (/Protocol not supported|nf_tables.*not (available|loaded)/i.test(run.stderr)) return 'the kernel has no nf_tables support';
  return undefined;
}

const firstLine = (text: string) => text.trim().split('\n')[0] ?? '';
/** `<file>:<line>:<columns>: Error: `, how nft starts each error about its input. */
const ERROR_LINE = /^\S+:(\d+):\d+(?:-\d+)?: Error: /;

export type NftOutcome = { outcome: 'applied' | 'empty' } | { outcome: 'unavailable'; reason: string };

/** The script, and which of its lines carries which rule (nft's errors name a line of the script). */
export function nftScript(table: string, plan: NftPlan): { script: string; lineRules: Map<number, string> } {
  const lines: string[] = [];
  const lineRules = new Map<number, string>();
  const set = (name: string, type: string, flags: string, elements: Element[]) => {
    if (elements.length === 0) return;
    lines.push(`  set ${name} {`, `    type ${type}${flags}`, '    elements = {');
    elements.forEach((element, i) => {
      lines.push(`      ${element.value}${i < elements.length - 1 ? ',' : ''}`);
      lineRules.set(lines.length, element.rule);
    });
    lines.push('    }', '  }');
  };
  // Creating the table first makes `delete` succeed when it is absent; the three steps are one transaction.
  lines.push(`table inet ${table} {}`, `delete table inet ${table}`, `table inet ${table} {`);
  // auto-merge: overlapping blocks (a /16 and an address in it) are one interval, not a conflict.
  set('source_v4', 'ipv4_addr', '; flags interval; auto-merge', plan.sourceV4);
  set('source_v6', 'ipv6_addr', '; flags interval; auto-merge', plan.sourceV6);
  set('ports_tcp', 'inet_service', '', plan.tcpPorts);
  set('ports_udp', 'inet_service', '', plan.udpPorts);
  // Before the usual filter priority, so a later accept elsewhere does not let a blocked source in.
  lines.push('  chain input {', '    type filter hook input priority filter - 10; policy accept;');
  if (plan.sourceV4.length > 0) lines.push('    ip saddr @source_v4 drop');
  if (plan.sourceV6.length > 0) lines.push('    ip6 saddr @source_v6 drop');
  if (plan.tcpPorts.length > 0) lines.push('    tcp dport @ports_tcp drop');
  if (plan.udpPorts.length > 0) lines.push('    udp dport @ports_udp drop');
  lines.push('  }', '}');
  return { script: `${lines.join('\n')}\n`, lineRules };
}

const isEmpty = (plan: NftPlan) => Object.values(plan).every((elements: Element[]) => elements.length === 0);

/**
 * Replaces the table with `plan` (or removes it when the plan is empty). A missing or forbidden nft
 * is an outcome, not an error; a script the kernel refuses throws, naming the rules on the lines
 * it points at, and leaves the table as it was.
 */
export async function applyNft(table: string, plan: NftPlan): Promise<NftOutcome> {
  const nft = await findOnPath('nft');
  if (!nft) return { outcome: 'unavailable', reason: 'nft not found on PATH; source-IP and port blocks are not enforced' };
  if (isEmpty(plan)) {
    const removed = await removeTable(nft, table);
    return removed === undefined ? { outcome: 'empty' } : { outcome: 'unavailable', reason: removed };
  }
  const { script, lineRules } = nftScript(table, plan);
  const run = await runNft(nft, ['-f', '-'], script);
  if (run.code === 0) return { outcome: 'applied' };
  const reason = unusable(run);
  if (reason) return { outcome: 'unavailable', reason: `${reason}; source-IP and port blocks are not enforced` };
  throw refusal(run.stderr, lineRules);
}

/**
 * nft's first error (`/dev/stdin:7:7-16: Error: …`) as an error naming the rule on the line it
 * points at. Only the first: after a syntax error nft's parser reports the lines after it too.
 */
function refusal(stderr: string, lineRules: Map<number, string>): Error {
  const first = stderr.split('\n').find((line) => ERROR_LINE.test(line));
  const rule = first && lineRules.get(Number(ERROR_LINE.exec(first)![1]));
  if (first && rule) return new InvalidArgumentError(`rule ${JSON.stringify(rule)} refused by nftables: ${first.replace(ERROR_LINE, '')}`);
  return new UnavailableError(`nft refused the table: ${firstLine(first ?? stderr)}`);
}

/** Deletes the table if it is there; a reason when nft cannot be used, undefined when done. */
async function removeTable(nft: string, table: string): Promise<string | undefined> {
  const run = await runNft(nft, ['-f', '-'], `table inet ${table} {}\ndelete table inet ${table}\n`);
  if (run.code === 0) return undefined;
  return unusable(run) ?? `nft could not remove table inet ${table}: ${firstLine(run.stderr)}`;
}

/** At stop: the table goes, so a disabled plugin blocks nothing. */
export async function dropTable(table: string): Promise<string | undefined> {
  const nft = await findOnPath('nft');
  return nft ? removeTable(nft, table) : undefined;
}

export interface TableState {
  available: boolean;
  table_present: boolean;
  message: string;
}

/** Never throws: a missing or forbidden nft is something to report, not a failed command. */
export async function tableState(table: string): Promise<TableState> {
  const nft = await findOnPath('nft');
  if (!nft) return { available: false, table_present: false, message: 'nft not found on PATH; source-IP and port blocks are not enforced' };
  const run = await runNft(nft, ['list', 'table', 'inet', table]);
  if (run.code === 0) return { available: true, table_present: true, message: `table inet ${table} is in place` };
  const reason = unusable(run);
  if (reason) return { available: false, table_present: false, message: `${reason}; source-IP and port blocks are not enforced` };
  if (/No such file or directory/i.test(run.stderr)) return { available: true, table_present: false, message: `table inet ${table} is not there` };
  return { available: true, table_present: false, message: `nft failed: ${firstLine(run.stderr)}` };
}
