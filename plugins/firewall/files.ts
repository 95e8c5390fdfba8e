// Whole-file writes: temp file + fsync + rename (+ the folder flushed), so a crash or a reader sees
// the old file or the new one, never half of one.
import { constants } from 'node:fs';
import { open, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `file` atomically with `mode`. `times` sets the new file's access and
 * modification times before it is renamed into place.
 */
export async function writeAtomic(file: string, data: string, mode: number, times?: Date): Promise<void> {
  // Not ending in .json: a sing-box -C folder loads every *.json file in it.
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w', mode);
  try {
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (times) await utimes(tmp, times, times);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDir(path.dirname(file));
}

/** The file's content, read without moving its access time; undefined when it is not there. */
export async function readQuietly(file: string): Promise<string | undefined> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOATIME).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    // O_NOATIME is for the file's owner only; anyone else reads it the usual way.
    if (error.code === 'EPERM') return open(file, 'r');
    throw error;
  });
  if (!handle) return undefined;
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
