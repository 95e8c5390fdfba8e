// The plugin's own tests, with the SDK's harness: the real plugin host (validation, deadlines,
// isolation) without a socket. `npm test` here, with boxfleet installed next to the plugin.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailedPreconditionError } from 'boxfleet/plugin';
import { createHarness } from 'boxfleet/plugin/testing';
import hello from './index.js';

test('greets with the configured greeting and counts', async () => {
  const h = await createHarness(hello, { config: { hello: { greeting: 'Hey' } } });
  try {
    assert.deepEqual(await h.execute('hello.greet', { name: 'Li' }), { message: 'Hey, Li!', count: 1 });
    assert.deepEqual(await h.execute('hello.greet', { name: 'Wu' }), { message: 'Hey, Wu!', count: 2 });
    assert.deepEqual(h.events.filter((e) => e.name === 'hello.greeted').map((e) => e.payload), [{ name: 'Li' }, { name: 'Wu' }]);
  } finally {
    await h.close();
  }
});

test('stops at max_greetings with FAILED_PRECONDITION', async () => {
  const h = await createHarness(hello, { config: { hello: { max_greetings: 1 } } });
  try {
    await h.execute('hello.greet', { name: 'Li' });
    await assert.rejects(h.execute('hello.greet', { name: 'Wu' }), FailedPreconditionError);
  } finally {
    await h.close();
  }
});

test('the agent refuses input that breaks the command schema before the plugin sees it', async () => {
  const h = await createHarness(hello);
  try {
    await assert.rejects(h.execute('hello.greet', { name: '' }), /name/);
  } finally {
    await h.close();
  }
});
