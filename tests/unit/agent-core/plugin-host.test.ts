import { describe, expect, it } from 'vitest';
import { createHarness } from '../../../agent-core/harness.js';
import { DeadlineExceededError, FailedPreconditionError, InternalError, InvalidArgumentError, NotFoundError } from '../../../agent-core/common/errors.js';
import hello from '../../../examples/hello-plugin/index.js';
import brokenStart from '../../fixtures/plugins/broken-start.js';
import slow from '../../fixtures/plugins/slow.js';

describe('plugin host', () => {
  it('validates input before the plugin runs and names the field', async () => {
    const h = await createHarness(hello);
    await expect(h.execute('hello.greet', { name: '' })).rejects.toThrow(InvalidArgumentError);
    await expect(h.execute('hello.greet', { name: '' })).rejects.toThrow(/^input\.name: must NOT have fewer than 1 characters/);
    await expect(h.execute('hello.greet', {})).rejects.toThrow('input.name: is required');
    await expect(h.execute('hello.greet', { name: 'a', nmae: 'typo' })).rejects.toThrow('input.nmae: unknown field');
    // Nothing ran: the first valid call is the first greeting.
    expect(await h.execute('hello.greet', { name: 'Ann' })).toEqual({ message: 'Hello, Ann!', count: 1 });
    await h.close();
  });

  it('refuses input nested deeper than 64 levels as INVALID_ARGUMENT, not by overflowing the stack', async () => {
    const h = await createHarness(hello);
    let deep: unknown = 'Ann';
    for (let i = 0; i < 20_000; i++) deep = { name: deep };
    await expect(h.execute('hello.greet', deep)).rejects.toThrow(new InvalidArgumentError('input: nests deeper than 64 levels'));
    expect(await h.execute('hello.greet', { name: 'Ann' })).toEqual({ message: 'Hello, Ann!', count: 1 });
    await h.close();
  });

  it('answers NOT_FOUND for unknown plugins and commands', async () => {
    const h = await createHarness(hello);
    await expect(h.execute('nope.greet')).rejects.toThrow(new NotFoundError('unknown command nope.greet: no plugin nope on this node'));
    await expect(h.execute('hello.wave')).rejects.toThrow(NotFoundError);
    await h.close();
  });

  it('answers NOT_FOUND for a command named like an Object.prototype property', async () => {
    const h = await createHarness(hello);
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      await expect(h.execute(`hello.${name}`)).rejects.toThrow(new NotFoundError(`unknown command hello.${name}: plugin hello has no command ${name}`));
    }
    await h.close();
  });

  it('fails a command that overruns its deadline with DEADLINE_EXCEEDED', async () => {
    const h = await createHarness(slow);
    const started = Date.now();
    await expect(h.execute('slow.hang')).rejects.toThrow(new DeadlineExceededError('slow.hang did not finish within 300 ms'));
    expect(Date.now() - started).toBeLessThan(2000);
    await h.close();
  });

  it('reports a plugin whose command throws as unhealthy, and healthy again after a success', async () => {
    const h = await createHarness([slow, hello]);
    await expect(h.execute('slow.crash')).rejects.toThrow(InternalError);
    let slowStatus = (await h.describe()).find((p) => p.id === 'slow')!;
    expect(slowStatus).toMatchObject({ state: 'running', healthy: false });
    expect(slowStatus.message).toContain("slow.crash failed: Cannot read properties of undefined (reading 'x')");
    expect(await h.execute('hello.greet', { name: 'still here' })).toMatchObject({ count: 1 });
    await h.execute('slow.work', { ms: 1 });
    slowStatus = (await h.describe()).find((p) => p.id === 'slow')!;
    expect(slowStatus).toMatchObject({ state: 'running', healthy: true });
    await h.close();
  });

  it('keeps serving the other plugins when one throws in start()', async () => {
    const h = await createHarness([brokenStart, hello]);
    const status = await h.describe();
    expect(status.find((p) => p.id === 'broken-start')).toMatchObject({
      state: 'failed',
      healthy: false,
      message: 'start failed: cannot open /dev/nonexistent',
    });
    expect(status.find((p) => p.id === 'hello')).toMatchObject({ state: 'running', healthy: true });
    await expect(h.execute('broken-start.ping')).rejects.toThrow(FailedPreconditionError);
    await expect(h.execute('hello.greet', { name: 'x' })).resolves.toMatchObject({ count: 1 });
    await h.close();
  });

  it('refuses a plugin whose agent range this agent does not satisfy, naming both', async () => {
    await expect(createHarness({ ...hello, agent: '>=2.0.0' })).rejects.toThrow('plugins.hello: needs agent >=2.0.0, this agent is 0.1.0');
  });

  it('refuses two plugins with one id', async () => {
    await expect(createHarness([hello, { ...hello }])).rejects.toThrow('plugins.hello: two plugins have the id hello');
  });

  it('refuses a plugin config that does not match its schema, naming the field', async () => {
    await expect(createHarness(hello, { config: { hello: { max_greetings: 0 } } })).rejects.toThrow(
      'plugins.hello.max_greetings: must be >= 1',
    );
    await expect(createHarness(hello, { config: { hello: { greting: 'typo' } } })).rejects.toThrow('plugins.hello.greting: unknown field');
  });

  it('fills config defaults and emits declared events', async () => {
    const h = await createHarness(hello, { config: { hello: { greeting: 'Hi' } } });
    const next = h.nextEvent('hello.greeted');
    expect(await h.execute('hello.greet', { name: 'Bo' })).toEqual({ message: 'Hi, Bo!', count: 1 });
    expect((await next).payload).toEqual({ name: 'Bo' });
    await h.close();
  });

  it('describes every command with schemas, mutates flag, role and deadline', async () => {
    const h = await createHarness([slow]);
    const [status] = await h.describe();
    expect(status!.commands.map((c) => c.name)).toEqual(['slow.hang', 'slow.work', 'slow.crash']);
    expect(status!.commands[0]).toMatchObject({ mutates: false, role: 'viewer', timeoutMs: 300 });
    expect(status!.commands[1]).toMatchObject({ timeoutMs: 5000, input: { type: 'object', required: ['ms'] } });
    await h.close();
  });
});
