// The hub keeps its data dir private even when the operator made it, or an older hub left it, open.
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { privateDir } from '../../../hub/private-files.js';

const modeOf = async (file: string) => (await stat(file)).mode & 0o777;

describe('the data dir', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-private-'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('is created 0700, with any missing parents', async () => {
    const dir = path.join(tmp, 'var', 'boxfleet');
    expect(await privateDir(dir)).toBeNull();
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(path.join(tmp, 'var'))).toBe(0o700);
  });

  it('is closed when it exists open to group or others, saying what it was', async () => {
    const dir = path.join(tmp, 'data');
    await mkdir(dir);
    await chmod(dir, 0o755);
    expect(await privateDir(dir)).toBe(`${dir} is open to group or others (mode 0755); made it 0700`);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await privateDir(dir)).toBeNull();
  });
});
