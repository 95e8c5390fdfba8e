// The agent's side of a plugin task when the child cannot take the request: a process that ends
// before reading stdin (seen with an arm64 agent re-running itself under qemu-user) or cannot be
// executed at all must fail the task with the reason, not end the agent with an EPIPE.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childTaskRunner } from '../../../agent-core/tasks.js';
import type { AnyPluginDefinition } from '../../../agent-core/sdk.js';

const definition = { id: 'tasker', tasks: { whoami: () => ({}) } } as unknown as AnyPluginDefinition;

describe('plugin tasks whose process cannot start', () => {
  let dir: string;
  let notExecutable: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-task-'));
    notExecutable = path.join(dir, 'agent');
    await writeFile(notExecutable, 'not a program');
    await chmod(notExecutable, 0o644);
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  // More than a pipe holds, so the write is still going when the child exits.
  const request = { plugin: 'tasker', task: 'whoami', input: { pad: 'x'.repeat(256 * 1024) } };

  it('fails the task with the exit status of a process that ended without reading its request', async () => {
    await expect(childTaskRunner(['/bin/false'])(request, definition, { timeoutMs: 5000 })).rejects.toThrow('task tasker.whoami failed: exit status 1');
  });

  it('fails the task with the reason a program cannot be executed', async () => {
    await expect(childTaskRunner([notExecutable, 'plugin-task'])(request, definition, { timeoutMs: 5000 })).rejects.toThrow(
      `task tasker.whoami could not start: spawn ${notExecutable} EACCES`,
    );
  });
});
