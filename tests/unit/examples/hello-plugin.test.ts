import { describe, expect, it } from 'vitest';
import { createHarness } from 'boxfleet/plugin/testing';
import { FailedPreconditionError } from 'boxfleet/plugin';
import hello from '../../../examples/hello-plugin/index.js';

describe('hello (example third-party plugin)', () => {
  it('greets with the configured greeting and stops at max_greetings', async () => {
    const h = await createHarness(hello, { config: { hello: { greeting: 'Hey', max_greetings: 1 } } });
    expect(await h.execute('hello.greet', { name: 'Li' })).toEqual({ message: 'Hey, Li!', count: 1 });
    await expect(h.execute('hello.greet', { name: 'Wu' })).rejects.toThrow(FailedPreconditionError);
    await h.close();
  });
});
