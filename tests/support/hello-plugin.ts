// examples/hello-plugin as its author has it: its own folder, with boxfleet installed beside it
// (node_modules/boxfleet → the boxfleet package given: this repository, or an installed tarball).
import { cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface HelloPlugin {
  dir: string;
  /** The module path agent.yaml names. */
  module: string;
  cleanup(): Promise<void>;
}

export async function helloPluginWith(boxfleetPackage: string, under = os.tmpdir()): Promise<HelloPlugin> {
  const root = await mkdtemp(path.join(under, 'boxfleet-hello-'));
  const dir = path.join(root, 'hello-plugin');
  await cp(path.resolve('examples/hello-plugin'), dir, { recursive: true });
  await mkdir(path.join(dir, 'node_modules'));
  await symlink(path.resolve(boxfleetPackage), path.join(dir, 'node_modules', 'boxfleet'), 'dir');
  return { dir, module: path.join(dir, 'index.js'), cleanup: () => rm(root, { recursive: true, force: true }) };
}
