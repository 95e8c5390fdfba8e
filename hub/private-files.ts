// The hub's files hold secrets (credentials, subscription tokens, the session-signing key), so they
// are for its own user only: folders 0700 and files 0600, whatever the umask it was started with.
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';

export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/**
 * Creates `dir` (and missing parents) 0700. One that exists open to group or others is closed;
 * returns what was found and done, for a warning, or null when nothing was wrong.
 */
export async function privateDir(dir: string): Promise<string | null> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  const mode = (await stat(dir)).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  const found = `${dir} is open to group or others (mode ${mode.toString(8).padStart(4, '0')})`;
  try {
    await chmod(dir, PRIVATE_DIR);
    return `${found}; made it 0700`;
  } catch (error) {
    return `${found} and could not be made 0700: ${(error as Error).message}`;
  }
}

/** Creates `file` empty if missing, and makes it 0600; SQLite then gives its -wal and -shm files the same mode. */
export async function privateFile(file: string): Promise<void> {
  await writeFile(file, '', { flag: 'a', mode: PRIVATE_FILE });
  await chmod(file, PRIVATE_FILE);
}
