// Which sing-box the plugin runs: finding the binary and reading its version.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';

// `sing-box version` only prints build info; if it takes longer than this the binary is wedged.
export const VERSION_TIMEOUT_MS = 3000;

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** A bare name is looked up on PATH like a shell would; anything with a slash is used as is. */
export async function resolveBinary(binary: string): Promise<{ file: string } | { reason: string }> {
  if (binary.includes('/')) {
    const file = path.resolve(binary);
    return (await isExecutableFile(file)) ? { file } : { reason: `${file} is not an executable file` };
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.resolve(dir, binary);
    if (await isExecutableFile(file)) return { file };
  }
  return { reason: `no ${JSON.stringify(binary)} on PATH` };
}

/** Reads `sing-box version`: first line `sing-box version X`, later `Tags: a,b,c`. */
export function parseVersion(stdout: string): { version: string | null; tags: string[] } {
  const version = /^sing-box version (\S+)/m.exec(stdout)?.[1] ?? null;
  const tagLine = /^Tags:(.*)$/m.exec(stdout)?.[1] ?? '';
  const tags = tagLine.split(',').map((tag) => tag.trim()).filter(Boolean);
  return { version, tags };
}

/** Why `<binary> version` failed, in one line. */
export function describeVersionFailure(error: unknown): string {
  const e = error as { killed?: boolean; code?: unknown; stderr?: unknown; message?: unknown };
  if (e.killed) return `did not answer within ${VERSION_TIMEOUT_MS} ms`;
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim().split('\n')[0] : '';
  if (typeof e.code === 'number') return `exited with code ${e.code}${stderr ? `: ${stderr}` : ''}`;
  return String(e.message ?? error).split('\n')[0]!;
}
