// Durable file writes for plugins (through the SDK): temp file + fsync + rename + the folder flushed,
// so after a crash or a power cut a reader finds the old file or the new one, never half of one.
import { open, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';

/** Flushes a folder, so a rename or a new file in it survives a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `file` with `mode` and flushes it to disk (not atomic by itself: see writeFileAtomic). */
export async function writeSynced(file: string, data: string, mode = 0o600): Promise<void> {
  const handle = await open(file, 'w', mode);
  try {
    // `open` applies the mode only to a file it creates; a leftover one keeps its own otherwise.
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames and flushes the folder, so the rename itself survives a power cut. */
export async function renameSynced(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDir(path.dirname(to));
}

/**
 * Replaces `file` with `data` atomically (mode 0600 unless given). `times` sets the new file's access
 * and modification times before it takes the name. The temp file is `<file>.tmp`: not ending in
 * .json, as a sing-box `-C` folder loads every *.json file in it.
 */
export async function writeFileAtomic(file: string, data: string, options: { mode?: number; times?: Date } = {}): Promise<void> {
  const temp = `${file}.tmp`;
  await writeSynced(temp, data, options.mode ?? 0o600);
  try {
    if (options.times) await utimes(temp, options.times, options.times);
    await renameSynced(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
