// singbox-config against a real sing-box (tests/support/real-components.ts says which one); the
// cases that need none are in singbox-config.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { singboxBin } from '../../support/real-components.js';
import { closeHarness, status } from './singbox-config.helpers.js';

const originalPath = process.env.PATH;

afterEach(async () => {
  process.env.PATH = originalPath;
  await closeHarness();
});

describe('singbox-config.status with a real sing-box', () => {
  let bin: string;
  let empty: string | undefined;

  beforeAll(async () => {
    bin = singboxBin();
    empty = await mkdtemp(path.join(os.tmpdir(), 'singbox-config-test-'));
  });
  afterAll(async () => {
    if (empty) await rm(empty, { recursive: true, force: true });
  });

  it('reads the version and build tags of the configured binary', async () => {
    const result = await status({ binary: bin });
    expect(result.found, result.message).toBe(true);
    expect(result.binary).toBe(path.resolve(bin));
    expect(result.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(result.tags.length).toBeGreaterThan(0);
    for (const tag of result.tags) expect(tag).toMatch(/^with_[a-z0-9_]+$/);
    expect(result.message).toBe(`sing-box ${result.version} at ${path.resolve(bin)}`);
  });

  it('finds a bare name on PATH and reports its absolute path', async () => {
    // An empty directory first, so the lookup has to walk on to the one holding sing-box.
    process.env.PATH = [empty, path.dirname(path.resolve(bin))].join(path.delimiter);
    const result = await status({ binary: path.basename(bin) });
    expect(result.found, result.message).toBe(true);
    expect(result.binary).toBe(path.resolve(bin));
    expect(result.version).not.toBeNull();
  });
});
