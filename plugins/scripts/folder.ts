// The scripts folder: which files are scripts, whether each may run, and what its sidecar declares.
// Read on every command, so a script added or edited needs no reload; a sidecar is parsed again
// only when its text changed (the compiled schema stays in the agent's validator for good).
// A script runs only if its name is a plain name, it and its sidecar resolve (symlinks followed)
// to regular files inside the folder that only their owner may write, and the script is executable.
import { constants } from 'node:fs';
import { access, readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { FailedPreconditionError, NotFoundError } from '../../agent-core/sdk.js';
import { SCRIPT_NAME, type ScriptInfo } from './contract.js';
import { parseSidecar, type Declared } from './sidecar.js';

export interface Script extends Declared {
  name: string;
  /** The resolved path: what runs, never a path through a symlink. */
  file: string;
}

const NAME = new RegExp(SCRIPT_NAME);
const SIDECAR = '.json';

const problem = (text: string) => new FailedPreconditionError(text);

export class ScriptFolder {
  private readonly sidecars = new Map<string, { text: string; declared: Declared }>();

  constructor(readonly dir: string) {}

  /** Every script and sidecar in the folder, usable or with the reason it is not. */
  async list(): Promise<ScriptInfo[]> {
    const root = await this.root();
    const names = new Set<string>();
    for (const file of await readdir(root)) {
      if (!file.startsWith('.')) names.add(file.endsWith(SIDECAR) ? file.slice(0, -SIDECAR.length) : file);
    }
    const known = new Set(names);
    for (const name of this.sidecars.keys()) if (!known.has(name)) this.sidecars.delete(name);
    return Promise.all(
      [...names].sort().map(async (name): Promise<ScriptInfo> => {
        try {
          const { description, args, timeout_s, role } = await this.load(root, name);
          return { name, usable: true, description, args, timeout_s, role };
        } catch (error) {
          return { name, usable: false, problem: (error as Error).message };
        }
      }),
    );
  }

  /** The script `name`, ready to run. NotFoundError: no such script; FailedPreconditionError: it may not run, and why. */
  async get(name: string): Promise<Script> {
    const root = await this.root();
    try {
      return await this.load(root, name);
    } catch (error) {
      if (error instanceof NotFoundError) throw error;
      throw problem(`script ${name} cannot run: ${(error as Error).message}`);
    }
  }

  private async root(): Promise<string> {
    try {
      return await realpath(this.dir);
    } catch (error) {
      throw problem(`the scripts folder ${this.dir} cannot be read: ${(error as Error).message}`);
    }
  }

  private async load(root: string, name: string): Promise<Script> {
    if (!NAME.test(name)) throw problem(`the name must match ${SCRIPT_NAME}`);
    const sidecarName = `${name}${SIDECAR}`;
    const [file, sidecarFile] = await Promise.all([this.inside(root, name), this.inside(root, sidecarName)]);
    if (!file && !sidecarFile) throw new NotFoundError(`no script ${name} in ${this.dir}`);
    if (!file) throw problem(`no executable ${name} beside ${sidecarName}`);
    if (!sidecarFile) throw problem(`no sidecar ${sidecarName} declaring its description, arguments, timeout and role`);
    try {
      await access(file, constants.X_OK);
    } catch {
      throw problem(`${name} is not executable (chmod +x)`);
    }
    const text = await readFile(sidecarFile, 'utf8');
    let cached = this.sidecars.get(name);
    if (cached?.text !== text) {
      this.sidecars.delete(name);
      cached = { text, declared: parseSidecar(text, sidecarName) };
      this.sidecars.set(name, cached);
    }
    return { ...cached.declared, name, file };
  }

  /** `file` resolved inside `root`: a regular file there that only its owner may write; undefined if there is none. */
  private async inside(root: string, file: string): Promise<string | undefined> {
    let real: string;
    try {
      real = await realpath(path.join(root, file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const relative = path.relative(root, real);
    if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) throw problem(`${file} resolves to ${real}, outside ${this.dir}`);
    const info = await stat(real);
    if (!info.isFile()) throw problem(`${file} is not a regular file`);
    // Whoever may write it decides what runs, or with which role.
    if (info.mode & 0o022) throw problem(`${file} is writable by its group or others (chmod go-w)`);
    return real;
  }
}
