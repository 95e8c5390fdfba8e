// The agent release install commands hand out, read from a release folder as `npm run release` fills it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentRelease } from '../../../hub/releases.js';

const sum = (digit: string, file: string) => `${digit.repeat(64)}  ${file}\n`;

describe('the agent release in the release folder', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-releases-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const put = (files: Record<string, string>) => Promise.all(Object.entries(files).map(([name, text]) => writeFile(path.join(dir, name), text)));

  it('is the newest version by semver, with the checksum SHA256SUMS gives each of its tarballs', async () => {
    await put({
      'boxfleet-agent-0.9.0-linux-amd64.tar.gz': '',
      'boxfleet-agent-0.9.0-linux-arm64.tar.gz': '',
      'boxfleet-agent-0.10.0-linux-arm64.tar.gz': '',
      'boxfleet-agent-0.10.0-rc.1-linux-amd64.tar.gz': '',
      // The rest of what `npm run release` writes is not an agent tarball.
      'boxfleet-0.10.0.tgz': '',
      SHA256SUMS: sum('a', 'boxfleet-agent-0.9.0-linux-amd64.tar.gz') + sum('b', 'boxfleet-agent-0.10.0-linux-arm64.tar.gz') + sum('c', 'boxfleet-0.10.0.tgz'),
    });
    expect(await agentRelease(dir)).toEqual({
      version: '0.10.0',
      tarballs: { arm64: { file: 'boxfleet-agent-0.10.0-linux-arm64.tar.gz', path: path.join(dir, 'boxfleet-agent-0.10.0-linux-arm64.tar.gz'), sha256: 'b'.repeat(64) } },
    });
  });

  it('is refused, naming the file, when SHA256SUMS lacks a line for one of its tarballs', async () => {
    await put({
      'boxfleet-agent-1.0.0-linux-amd64.tar.gz': '',
      'boxfleet-agent-1.0.0-linux-arm64.tar.gz': '',
      SHA256SUMS: sum('a', 'boxfleet-agent-1.0.0-linux-amd64.tar.gz'),
    });
    await expect(agentRelease(dir)).rejects.toMatchObject({
      code: 'HUB_ERR_NO_AGENT_RELEASE',
      message: `no agent release in ${dir}: SHA256SUMS has no line for boxfleet-agent-1.0.0-linux-arm64.tar.gz; copy release/SHA256SUMS there with the tarballs`,
    });
  });

  it('is refused when SHA256SUMS is missing, or when there is no agent tarball at all', async () => {
    await put({ 'boxfleet-agent-1.0.0-linux-amd64.tar.gz': '' });
    await expect(agentRelease(dir)).rejects.toThrow(`no agent release in ${dir}: SHA256SUMS is missing; copy release/SHA256SUMS there with the tarballs`);
    await expect(agentRelease(path.join(dir, 'nowhere'))).rejects.toThrow(
      `no agent release in ${path.join(dir, 'nowhere')}: run npm run release and copy release/* there, or set release_dir`,
    );
  });
});
