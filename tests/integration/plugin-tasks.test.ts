// Plugin tasks on a real agent process: ctx.runTask runs the plugin's task in a process of its own
// (the agent's own program again), so what a task loads leaves with that process. A built-in plugin
// (health-probe's inventory) and a third-party plugin loaded by `module:` both work; a task that
// fails or hangs gives the command a clear error, and no task process outlives its task.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import type { Inventory } from '../../plugins/health-probe/contract.js';
import { clientFromEnrollment, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { until } from '../support/until.js';

const TASK_PLUGIN = (sdk: string) => `
import { writeFileSync } from 'node:fs';
import { definePlugin, InvalidArgumentError, Type } from ${JSON.stringify(sdk)};
export default definePlugin({
  id: 'tasker',
  version: '1.0.0',
  agent: '>=0.1.0 <1',
  commands: {
    run: {
      description: 'Runs one of the tasks.',
      input: Type.Object({ task: Type.String(), input: Type.Optional(Type.Any()), timeout_ms: Type.Optional(Type.Integer()) }),
      output: Type.Any(),
      timeoutMs: 20000,
    },
  },
  tasks: {
    whoami: (input) => ({ pid: process.pid, input }),
    // Leaves a timer running: the task's process must end anyway once the result is out.
    linger: () => { setInterval(() => {}, 1000); return { pid: process.pid }; },
    fail: () => { throw new Error('the disk is on fire'); },
    refuse: () => { throw new InvalidArgumentError('input.size: too big'); },
    hang: ({ pid_file }) => { writeFileSync(pid_file, String(process.pid)); return new Promise(() => setInterval(() => {}, 1000)); },
  },
  start(ctx) {
    return { commands: { run: ({ task, input, timeout_ms }) => ctx.runTask(task, input, { timeoutMs: timeout_ms }) } };
  },
});
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('plugin tasks, real agent process', () => {
  let agent: AgentProcess;
  let client: AgentClient;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-tasks-'));
    const module = path.join(dir, 'tasker.mjs');
    await writeFile(module, TASK_PLUGIN(pathToFileURL(path.resolve('dist/plugin.js')).href));
    agent = await startAgentProcess({
      nodeId: 'tasks',
      insecure: true,
      configure: (config) => {
        config.plugins['health-probe'] = { enabled: true, inventory_at_start: false };
        config.plugins.tasker = { module };
      },
    });
    client = await clientFromEnrollment(agent.enrollment);
  }, 30_000);

  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (task: string, input?: unknown, timeout_ms?: number) =>
    (await client.execute('tasker.run', { task, input, timeout_ms }, { timeoutMs: 25_000 })).result as { pid: number; input?: unknown };

  it("gathers a built-in plugin's inventory in a task process", async () => {
    const { result } = await client.execute('health-probe.inventory', {}, { timeoutMs: 35_000 });
    const inventory = result as Inventory;
    expect(inventory.os.kernel).toBe(os.release());
    expect(inventory.cpu.cores).toBe(os.cpus().length);
    expect(inventory.memory.total_bytes).toBe(os.totalmem());
  }, 40_000);

  it("runs a third-party plugin's task in another process, with its input, and that process ends", async () => {
    const { pid, input } = await run('whoami', { n: 42 });
    expect(pid).not.toBe(agent.child.pid);
    expect(input).toEqual({ n: 42 });
    await until('the task process to end', () => !alive(pid), 5000);
  });

  it('ends the task process once the result is out, whatever the task left running', async () => {
    const started = performance.now();
    const { pid } = await run('linger');
    expect(performance.now() - started).toBeLessThan(10_000);
    await until('the task process to end', () => !alive(pid), 5000);
  });

  it("gives the command the task's own error", async () => {
    await expect(run('fail')).rejects.toThrow(/task tasker\.fail failed: .*the disk is on fire/);
  });

  it("keeps a plugin error's kind and words across the process boundary", async () => {
    await expect(run('refuse')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^input\.size: too big$/) });
  });

  it('kills a task past its deadline and says so', async () => {
    const pidFile = path.join(dir, 'hang.pid');
    await expect(run('hang', { pid_file: pidFile }, 1500)).rejects.toThrow(/task tasker\.hang did not finish within 1500 ms/);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await until('the task process to end', () => !alive(pid), 5000);
  });

  it('refuses a task the plugin does not have', async () => {
    await expect(run('nope')).rejects.toThrow(/plugin tasker has no task nope/);
  });
});
