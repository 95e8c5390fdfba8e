// The agent release install commands hand out, read from the hub's release folder as `npm run
// release` writes it: boxfleet-agent-<version>-linux-<arch>.tar.gz and SHA256SUMS. The newest
// version by semver is served; each tarball's SHA-256 comes from SHA256SUMS, never from hashing the
// file here, so a tarball changed after the release was built fails the install script's check.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { HubError } from './errors.js';

export const ARCHITECTURES = ['amd64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface AgentTarball {
  file: string;
  path: string;
  /** Lower-case hex, from SHA256SUMS. */
  sha256: string;
}

export interface AgentRelease {
  version: string;
  /** The architectures this version has a tarball for; at least one. */
  tarballs: Partial<Record<Architecture, AgentTarball>>;
}

const TARBALL = /^boxfleet-agent-(.+)-linux-(amd64|arm64)\.tar\.gz$/;

/** File name → SHA-256, from lines as sha256sum writes them (`*` before the name in binary mode). */
function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trimEnd());
    if (match) sums.set(match[2]!, match[1]!.toLowerCase());
  }
  return sums;
}

/** The newest release in `dir`; a HubError that says what is missing otherwise. */
export async function agentRelease(dir: string): Promise<AgentRelease> {
  const missing = (why: string) => new HubError('HUB_ERR_NO_AGENT_RELEASE', `no agent release in ${dir}: ${why}`);
  const howTo = 'run npm run release and copy release/* there, or set release_dir';
  let files: string[];
  try {
    files = await readdir(dir);
  } catch (error) {
    throw missing((error as NodeJS.ErrnoException).code === 'ENOENT' ? howTo : (error as Error).message);
  }
  const found = files.flatMap((file) => {
    const match = TARBALL.exec(file);
    return match && semver.valid(match[1]) ? [{ file, version: match[1]!, arch: match[2] as Architecture }] : [];
  });
  const version = found.map((t) => t.version).sort(semver.rcompare)[0];
  if (!version) throw missing(howTo);
  let sums: Map<string, string>;
  try {
    sums = parseSums(await readFile(path.join(dir, 'SHA256SUMS'), 'utf8'));
  } catch {
    throw missing('SHA256SUMS is missing; copy release/SHA256SUMS there with the tarballs');
  }
  const tarballs: AgentRelease['tarballs'] = {};
  for (const { file, arch } of found.filter((t) => t.version === version)) {
    const sha256 = sums.get(file);
    if (!sha256) throw missing(`SHA256SUMS has no line for ${file}; copy release/SHA256SUMS there with the tarballs`);
    tarballs[arch] = { file, path: path.join(dir, file), sha256 };
  }
  return { version, tarballs };
}
