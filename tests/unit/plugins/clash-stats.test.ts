// The sing-box-backed cases are in clash-stats.singbox.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError } from '../../../agent-core/errors.js';
import { closeHarness, freePort, start } from './clash-stats.helpers.js';

afterEach(closeHarness);

describe('clash-stats.summary', () => {
  it('refuses with the setting to add when no Clash API is configured', async () => {
    const h = await start({});
    const error = await h.execute('clash-stats.summary').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect((error as Error).message).toBe('Clash API not configured: set plugins.clash-stats.clash_api.url');
  });

  it('reports an unreachable Clash API as unavailable, with the reason', async () => {
    const port = await freePort();
    const h = await start({ clash_api: { url: `http://127.0.0.1:${port}` } });
    const error = await h.execute('clash-stats.summary').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toBe(`Clash API at http://127.0.0.1:${port}/connections unreachable: ECONNREFUSED`);
  });

  it('rejects a Clash API url without a scheme at start-up, naming the field', async () => {
    await expect(start({ clash_api: { url: '127.0.0.1:9090' } })).rejects.toThrow(InvalidArgumentError);
    await expect(start({ clash_api: { url: '127.0.0.1:9090' } })).rejects.toThrow(/^plugins\.clash-stats\.clash_api\.url: /);
  });
});
