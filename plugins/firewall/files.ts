// Reading the plugin's files without touching their access time, which tells whether sing-box has
// read the rule-set file (rule-set.ts); writes go through the SDK's writeFileAtomic.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

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
