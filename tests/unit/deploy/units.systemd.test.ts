// Every systemd unit in deploy/ passes `systemd-analyze verify` without a word: systemd loads a
// unit with an unknown key or a bad value after only a warning, so a typo would silently drop a
// hardening setting. verify also checks that ExecStart's program exists: the units start boxfleet
// through /usr/bin/env, which does. deploy/node/ holds templates install.sh fills in with the
// installed paths: tests/e2e/install.release.test.ts verifies them as installed.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const DEPLOY = path.resolve('deploy');
const units = (await readdir(DEPLOY, { recursive: true })).filter((file) => file.endsWith('.service') && !file.startsWith('node/'))
  .sort();

describe('deploy/ systemd units', () => {
  it('finds the units', () => {
    expect(units).toContain('boxfleet-hub.service');
  });

  for (const unit of units) {
    it(`${unit} passes systemd-analyze verify with no warning`, async () => {
      const { stdout, stderr } = await exec('systemd-analyze', ['verify', path.join(DEPLOY, unit)]).catch((error: { code: unknown; stderr?: string }) => {
        if (error.code === 'ENOENT') throw new Error('no systemd-analyze: install Debian\'s systemd package (.ci/run does)');
        throw new Error(`systemd-analyze verify ${unit} failed:\n${error.stderr ?? ''}`);
      });
      expect(stdout + stderr).toBe('');
    });
  }
});
