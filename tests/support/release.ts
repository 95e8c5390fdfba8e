// The release artifacts `npm run release` writes to release/, for the tests that install them as an
// operator would. A missing release is a failure naming the command that makes it.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { freePort } from './agent-process.js';

export const RELEASE_DIR = path.resolve('release');
export const run = promisify(execFile);
export type Arch = 'amd64' | 'arm64';

export function releaseFile(pattern: RegExp): string {
  const file = existsSync(RELEASE_DIR) ? readdirSync(RELEASE_DIR).find((f) => pattern.test(f)) : undefined;
  if (!file) throw new Error(`no ${pattern} in ${RELEASE_DIR}: run npm run release (.ci/run does)`);
  return path.join(RELEASE_DIR, file);
}

export const agentTarball = (arch: Arch) => releaseFile(new RegExp(`^boxfleet-agent-.*-linux-${arch}\\.tar\\.gz$`));
export const npmTarball = () => releaseFile(/^boxfleet-\d.*\.tgz$/);

/** A temp folder the test owns; `cleanup` removes it. */
export async function scratch(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `boxfleet-${prefix}-`));
  // Readable by other users: some cases run install.sh as nobody.
  await chmod(dir, 0o755);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Extracts an agent tarball into `into`; returns the folder holding install.sh. */
export async function extractAgent(arch: Arch, into: string): Promise<string> {
  const tarball = agentTarball(arch);
  await run('tar', ['-xzf', tarball, '-C', into]);
  return path.join(into, path.basename(tarball).replace(/\.tar\.gz$/, ''));
}

export interface NodeLayout {
  prefix: string;
  configDir: string;
  stateDir: string;
  /** install.sh's options for this layout, with --no-systemd. */
  args: string[];
}

export function nodeLayout(root: string, listen: string): NodeLayout {
  const prefix = path.join(root, 'opt');
  const configDir = path.join(root, 'etc');
  const stateDir = path.join(root, 'var');
  return { prefix, configDir, stateDir, args: ['--no-systemd', '--prefix', prefix, '--config-dir', configDir, '--state-dir', stateDir, '--listen', listen] };
}

/**
 * Gives the installed agent's clash-stats free loopback ports for sing-box's Clash and V2Ray APIs
 * (tests run side by side), as an operator edits agent.yaml.
 */
export async function useFreeStatsPorts(configDir: string): Promise<void> {
  const file = path.join(configDir, 'agent.yaml');
  const config = parse(await readFile(file, 'utf8'));
  config.plugins['clash-stats'] = {
    ...config.plugins['clash-stats'],
    clash_api: { url: `http://127.0.0.1:${await freePort()}`, secret: 'test-secret' },
    v2ray_api: { listen: `127.0.0.1:${await freePort()}` },
  };
  await writeFile(file, stringify(config), { mode: 0o600 });
}

/** Every path under `dirs` with its mode and, for files, size and modification time: what "unchanged" means. */
export async function snapshot(...dirs: string[]): Promise<string> {
  const { stdout } = await run('sh', ['-c', 'for d in "$@"; do [ -e "$d" ] && find "$d" -printf "%p %m %s %T@\\n"; done; true', 'sh', ...dirs]);
  return stdout.split('\n').sort().join('\n');
}
