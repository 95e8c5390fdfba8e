import { mkdtemp, readFile, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../agent-core/common/logger.js';

describe('logger', () => {
  it('writes JSON lines with time, level, message, service and node_id in ECS field names, at the configured level, to a file only its user can read', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'boxfleet-log-')), 'agent.log');
    const logger = createLogger({ service: 'agent', level: 'warn', file, fields: { node_id: 'hk-1' } });
    logger.info('not at this level');
    logger.warn('plugin restarted', { plugin: 'sysmetrics' });
    await logger.close();
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      'log.level': 'warn',
      message: 'plugin restarted',
      'service.name': 'boxfleet-agent',
      'event.dataset': 'boxfleet.agent',
      'ecs.version': expect.stringMatching(/^8\./),
      node_id: 'hk-1',
      plugin: 'sysmetrics',
    });
    expect(new Date(lines[0]['@timestamp']).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('makes a missing log folder (private) before the first line, so a fresh data dir logs from the start', async () => {
    const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'boxfleet-log-')), 'data', 'logs');
    const logger = createLogger({ service: 'hub', level: 'info', file: path.join(dir, 'hub.log') });
    logger.info('hub listening');
    await logger.close();
    expect(JSON.parse(await readFile(path.join(dir, 'hub.log'), 'utf8'))).toMatchObject({ message: 'hub listening' });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('refuses at once, naming the path, a log file that cannot be opened', async () => {
    const blocker = path.join(await mkdtemp(path.join(os.tmpdir(), 'boxfleet-log-')), 'a-file');
    await writeFile(blocker, '');
    expect(() => createLogger({ service: 'hub', level: 'info', file: path.join(blocker, 'hub.log') })).toThrow(/a-file/);
  });

  it('keeps errors under error.* as ECS does: a message as error.message, an Error with its type and stack', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'boxfleet-log-')), 'hub.log');
    const logger = createLogger({ service: 'hub', level: 'info', file });
    logger.error('request failed', { error: 'db gone', stack: 'at x' });
    logger.error('job failed', { error: new TypeError('bad input') });
    await logger.close();
    const [first, second] = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(first).toMatchObject({ 'error.message': 'db gone', 'error.stack_trace': 'at x' });
    expect(first.error).toBeUndefined();
    expect(second).toMatchObject({ 'error.type': 'TypeError', 'error.message': 'bad input', 'error.stack_trace': expect.stringContaining('TypeError: bad input') });
  });

  it('reopens its file after logrotate moved it away: lines before go to the moved file, lines after to the new one, none lost', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'boxfleet-log-')), 'agent.log');
    const logger = createLogger({ service: 'agent', level: 'info', file });
    logger.info('before rotation');
    await rename(file, `${file}.1`);
    logger.info('after the move, before the signal');
    logger.reopen();
    logger.info('after reopening');
    await logger.close();
    const messages = async (f: string) => (await readFile(f, 'utf8')).trim().split('\n').map((line) => JSON.parse(line).message);
    expect(await messages(`${file}.1`)).toEqual(['before rotation', 'after the move, before the signal']);
    expect(await messages(file)).toEqual(['after reopening']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('stops growing the file at its size cap (standard error still gets the lines) until the file is rotated', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'boxfleet-log-')), 'agent.log');
    const logger = createLogger({ service: 'agent', level: 'info', file, maxFileBytes: 2000 });
    for (let i = 0; i < 100; i++) logger.info('filling the file', { i });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await stat(file)).size).toBeLessThanOrEqual(2000);
    expect((await stat(file)).size).toBeGreaterThan(1000);
    await rename(file, `${file}.1`);
    logger.reopen();
    logger.info('after rotation');
    await logger.close();
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ message: 'after rotation' });
  });
});
