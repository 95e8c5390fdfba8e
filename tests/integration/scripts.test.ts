// Operator scripts end to end: a real agent process with the scripts plugin enabled on a folder of
// real scripts, enrolled in a hub, run through the hub's generic command route. The role each
// command declares in the agent's Describe decides who may run what: admins run admin scripts,
// only the owner runs owner scripts, operators run none.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../agent-core/common/roles.js';
import { startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { enroll } from './jobs.suite.js';

const NODE = 'scripts-node';

describe('scripts through the hub and a real agent', () => {
  let folder: string;
  let runLog: string;
  let agent: AgentProcess;
  let hub: TestHub;

  const command = async (role: Role, name: string, body: object) =>
    hub.app.inject({ method: 'POST', url: `/api/v1/nodes/${NODE}/commands/${name}`, headers: await hub.as(role), payload: body });
  const runs = async () => (await readFile(runLog, 'utf8').catch(() => '')).split('\n').filter(Boolean);

  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'scripts-e2e-'));
    runLog = path.join(folder, '.runs');
    const script = async (name: string, body: string, sidecar: object) => {
      await writeFile(path.join(folder, name), `#!/bin/sh\necho ${name} >> '${runLog}'\n${body}\n`, { mode: 0o755 });
      await writeFile(path.join(folder, `${name}.json`), JSON.stringify(sidecar));
    };
    await script('disk-report', 'echo "node $BOXFLEET_NODE_ID: $*"', {
      description: 'Says which node it ran on and its arguments.',
      args: { type: 'object', properties: { mount: { type: 'string', pattern: '^/' } }, required: ['mount'] },
      timeout_s: 10,
      role: 'admin',
    });
    await script('wipe-cache', 'echo wiped; exit 0', { description: 'Owner only.', timeout_s: 10, role: 'owner' });
    [agent, hub] = await Promise.all([
      startAgentProcess({
        nodeId: NODE,
        configure: (config) => {
          // `agent init` leaves scripts off; only the node's own agent.yaml turns it on.
          expect(config.plugins.scripts).toBeUndefined();
          config.plugins = { scripts: { dir: folder } };
          config.reload_on_change = false;
        },
      }),
      startTestHub('sqlite'),
    ]);
    await enroll(hub, agent);
  }, 60_000);

  afterAll(async () => {
    await hub?.close();
    await agent?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it('lets an admin run an admin script with arguments and get its output and exit code', async () => {
    const res = await command('admin', 'scripts.run', { name: 'disk-report', args: { mount: '/var' } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ exit_code: 0, signal: null, stdout: `node ${NODE}: --mount=/var\n`, stderr: '', truncated: false, timed_out: false });
    expect(await runs()).toEqual(['disk-report']);
  });

  it('refuses an operator, and arguments failing the schema, before anything runs', async () => {
    const operator = await command('operator', 'scripts.run', { name: 'disk-report', args: { mount: '/var' } });
    expect(operator.statusCode, operator.body).toBe(403);
    expect(operator.json().message).toContain('scripts.run needs the admin role');
    expect((await command('operator', 'scripts.list', {})).statusCode).toBe(403);
    const bad = await command('admin', 'scripts.run', { name: 'disk-report', args: { mount: 'var' } });
    expect(bad.statusCode, bad.body).toBe(400);
    expect(bad.json().message).toContain('input.args.mount: must match pattern');
    expect(await runs()).toEqual(['disk-report']);
  });

  it('keeps owner scripts for the owner: refused to an admin in either command, run by scripts.run-owner', async () => {
    const viaRun = await command('admin', 'scripts.run', { name: 'wipe-cache' });
    expect(viaRun.statusCode, viaRun.body).toBe(403);
    expect(viaRun.json().message).toContain('run it with scripts.run-owner');
    const viaRunOwner = await command('admin', 'scripts.run-owner', { name: 'wipe-cache' });
    expect(viaRunOwner.statusCode, viaRunOwner.body).toBe(403);
    expect(viaRunOwner.json().message).toContain('scripts.run-owner needs the owner role');
    expect(await runs()).toEqual(['disk-report']);

    const owner = await command('owner', 'scripts.run-owner', { name: 'wipe-cache' });
    expect(owner.statusCode, owner.body).toBe(200);
    expect(owner.json()).toMatchObject({ exit_code: 0, stdout: 'wiped\n' });
    expect(await runs()).toEqual(['disk-report', 'wipe-cache']);
  });

  it('lists the scripts to an admin with their argument schemas and roles', async () => {
    const res = await command('admin', 'scripts.list', {});
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().scripts.map((s: { name: string; role: string; usable: boolean }) => [s.name, s.role, s.usable])).toEqual([
      ['disk-report', 'admin', true],
      ['wipe-cache', 'owner', true],
    ]);
  });
});
