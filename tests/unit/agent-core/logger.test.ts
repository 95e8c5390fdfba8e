import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../agent-core/common/logger.js';

describe('logger', () => {
  it('writes JSON lines with time, level, msg, service and node_id, at the configured level, to a file only its user can read', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'boxfleet-log-')), 'agent.log');
    const logger = createLogger({ service: 'agent', level: 'warn', file, fields: { node_id: 'hk-1' } });
    logger.info('not at this level');
    logger.warn('plugin restarted', { plugin: 'sysmetrics' });
    await logger.close();
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'plugin restarted', service: 'agent', node_id: 'hk-1', plugin: 'sysmetrics' });
    expect(new Date(lines[0].time).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('makes a missing log folder (private) before the first line, so a fresh data dir logs from the start', async () => {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'boxfleet-log-')), 'data', 'logs');
    const logger = createLogger({ service: 'hub', level: 'info', file: path.join(dir, 'hub.log') });
    logger.info('hub listening');
    await logger.close();
    expect(JSON.parse(await readFile(path.join(dir, 'hub.log'), 'utf8'))).toMatchObject({ msg: 'hub listening' });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('refuses at once, naming the path, a log file that cannot be opened', async () => {
    const blocker = path.join(await mkdtemp(path.join(os.tmpdir(), 'boxfleet-log-')), 'a-file');
    await writeFile(blocker, '');
    expect(() => createLogger({ service: 'hub', level: 'info', file: path.join(blocker, 'hub.log') })).toThrow(/a-file/);
  });
});
