// The cases that need a real sing-box are in singbox-config.singbox.test.ts.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeadlineExceededError } from '../../../agent-core/errors.js';
import { closeHarness, status } from './singbox-config.helpers.js';

let tmp: string;
const originalPath = process.env.PATH;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'singbox-config-test-'));
});
afterEach(async () => {
  process.env.PATH = originalPath;
  await closeHarness();
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('singbox-config.status', () => {
  it('reports not found, and which setting to change, when sing-box is not on PATH', async () => {
    process.env.PATH = tmp; // an empty directory: nothing to find
    const result = await status();
    expect(result).toEqual({
      found: false,
      binary: null,
      version: null,
      tags: [],
      config_path: '/etc/sing-box/config.json',
      message: 'sing-box not found: no "sing-box" on PATH; set plugins.singbox-config.binary',
    });
  });

  it('names the configured path when it is not an executable file', async () => {
    const missing = path.join(tmp, 'no-such-sing-box');
    const result = await status({ binary: missing, config_path: '/srv/sb.json' });
    expect(result.found).toBe(false);
    expect(result.config_path).toBe('/srv/sb.json');
    expect(result.message).toBe(`sing-box not found: ${missing} is not an executable file; set plugins.singbox-config.binary`);
  });

  it('reports a binary that exits with an error as found but without a version', async () => {
    const broken = path.join(tmp, 'broken-sing-box');
    await writeFile(broken, '#!/bin/sh\necho "bad things" >&2\nexit 3\n');
    await chmod(broken, 0o755);
    const result = await status({ binary: broken });
    expect(result).toMatchObject({ found: true, binary: broken, version: null, tags: [] });
    expect(result.message).toBe(`${broken} version failed: exited with code 3: bad things`);
  });

  it('kills `sing-box version` when the command deadline passes', async () => {
    const pidFile = path.join(tmp, 'hanging.pid');
    const hanging = path.join(tmp, 'hanging-sing-box');
    await writeFile(hanging, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 30\n`);
    await chmod(hanging, 0o755);
    await expect(status({ binary: hanging }, 300)).rejects.toBeInstanceOf(DeadlineExceededError);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await expect.poll(() => isAlive(pid), { timeout: 2000 }).toBe(false);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
