import { mkdtemp, readFile, stat } from 'node:fs/promises';
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
});
