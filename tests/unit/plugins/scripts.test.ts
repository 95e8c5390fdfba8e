// The scripts plugin in the real plugin host, running real shell scripts that each test writes to a
// folder of its own: arguments as argv, refusals (schema, role, paths), timeouts that end the
// script's whole process group, and the output cap.
import { chmod, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import scripts from '../../../plugins/scripts/index.js';
import type { ListOutput, RunOutput } from '../../../plugins/scripts/contract.js';

const CAP = 1024;
const GRACE_MS = 300;

let dir: string;
let outside: string;
let harness: Harness;
/** Every script that really starts appends its name here, so a refused run is seen not to have run. */
let runLog: string;

async function script(name: string, body: string, sidecar?: object, mode = 0o755): Promise<void> {
  await writeFile(path.join(dir, name), `#!/bin/sh\necho ${name} >> '${runLog}'\n${body}\n`);
  await chmod(path.join(dir, name), mode);
  if (sidecar) await writeFile(path.join(dir, `${name}.json`), JSON.stringify(sidecar));
}

const ran = async (): Promise<string[]> => (await readFile(runLog, 'utf8').catch(() => '')).split('\n').filter(Boolean);

/** The error a command failed with: its status and message. */
const failure = (command: string, input: object) =>
  harness.execute(command, input).then(
    () => expect.unreachable(`${command} ran`),
    (error: { status: string; message: string }) => ({ status: error.status, message: error.message }),
  );

/** Running, as opposed to gone or a zombie nobody reaped yet (a container's PID 1 may never reap). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

const GREET = {
  description: 'Prints its arguments, one per line, and exits 3.',
  args: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1 },
      count: { type: 'integer', minimum: 1, maximum: 10, default: 2 },
      loud: { type: 'boolean' },
      quiet: { type: 'boolean' },
      tag: { type: 'array', items: { type: 'string' } },
    },
    required: ['name'],
  },
  timeout_s: 10,
  role: 'admin',
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scripts-plugin-'));
  outside = await mkdtemp(path.join(os.tmpdir(), 'scripts-outside-'));
  runLog = path.join(outside, 'ran.log');
  await script('greet', `for a in "$@"; do printf '%s\\n' "$a"; done\necho "to stderr" >&2\nexit 3`, GREET);
  // No role in the sidecar: the owner's.
  await script('rotate', 'echo rotated', { description: 'Owner only.', timeout_s: 5 });
  // A child that ignores SIGTERM (so only SIGKILL ends it), one that does not; both hold stdout open.
  await script('sleeper', `sh -c 'trap "" TERM; exec sleep 30' &\necho $!\nsleep 30 &\necho $!\nwait`, {
    description: 'Outlives its timeout with two children.',
    timeout_s: 0.5,
    role: 'admin',
  });
  await script('chatty', `head -c 200000 /dev/zero | tr '\\0' x\necho done >&2`, { description: 'Too much output.', timeout_s: 10, role: 'admin' });
  await script('noexec', 'echo hi', { description: 'Not executable.', role: 'admin' }, 0o644);
  await script('nosidecar', 'echo hi');
  await script('shared', 'echo hi', { description: 'Anyone in the group could change it.', role: 'admin' }, 0o775);
  await script('badsidecar', 'echo hi', { description: 'Too long a timeout.', timeout_s: 99_999, role: 'admin' });
  await script('objectarg', 'echo hi', {
    description: 'An argument argv cannot carry.',
    args: { type: 'object', properties: { opts: { type: 'object' } } },
    role: 'admin',
  });
  await script('badargname', 'echo hi', {
    description: 'An argument name that is no option name.',
    args: { type: 'object', properties: { 'two words': { type: 'string' } } },
    role: 'admin',
  });
  // Outside the folder: a script and its sidecar, reached through symlinks in the folder.
  await writeFile(path.join(outside, 'evil'), `#!/bin/sh\necho evil >> '${runLog}'\n`, { mode: 0o755 });
  await symlink(path.join(outside, 'evil'), path.join(dir, 'escape'));
  await writeFile(path.join(dir, 'escape.json'), JSON.stringify({ description: 'Points out.', role: 'admin' }));
  // A symlink that stays inside the folder is fine: it runs greet.
  await symlink('greet', path.join(dir, 'hello'));
  await writeFile(path.join(dir, 'hello.json'), JSON.stringify({ ...GREET, description: 'greet, by another name.' }));

  harness = await createHarness(scripts, { config: { scripts: { dir, output_cap_bytes: CAP, kill_grace_ms: GRACE_MS } } });
});

afterAll(async () => {
  await harness?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('scripts.run', () => {
  it('passes each declared argument as --name=value in schema order (defaults filled in, arrays repeated, booleans as flags) and returns output and exit code', async () => {
    const tricky = `it's "$HOME"; rm -rf / \`id\``;
    const result = await harness.execute<RunOutput>('scripts.run', { name: 'greet', args: { tag: ['a', 'b c'], quiet: false, loud: true, name: tricky } });
    expect(result).toMatchObject({
      exit_code: 3,
      signal: null,
      stdout: `--name=${tricky}\n--count=2\n--loud\n--tag=a\n--tag=b c\n`,
      stderr: 'to stderr\n',
      truncated: false,
      timed_out: false,
    });
    expect(result.duration_ms).toBeGreaterThanOrEqual(0);
    expect(result.duration_ms).toBeLessThan(10_000);
  });

  it('refuses arguments that fail the script schema, naming the field, and runs nothing', async () => {
    const before = (await ran()).length;
    expect(await failure('scripts.run', { name: 'greet', args: { name: 'x', count: 11 } })).toEqual({ status: 'INVALID_ARGUMENT', message: 'input.args.count: must be <= 10' });
    expect(await failure('scripts.run', { name: 'greet', args: {} })).toEqual({ status: 'INVALID_ARGUMENT', message: 'input.args.name: is required' });
    expect(await failure('scripts.run', { name: 'greet', args: { name: 'x', shell: '$(id)' } })).toEqual({ status: 'INVALID_ARGUMENT', message: 'input.args.shell: unknown field' });
    expect(await failure('scripts.run', { name: 'greet', args: { name: 'a\0b' } })).toMatchObject({ status: 'INVALID_ARGUMENT', message: 'input.args.name: must not contain a NUL character' });
    expect(await ran()).toHaveLength(before);
  });

  it('kills the whole process group when a script outlives its timeout: SIGTERM, then SIGKILL for what ignores it', async () => {
    const started = Date.now();
    const result = await harness.execute<RunOutput>('scripts.run', { name: 'sleeper' });
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ timed_out: true, exit_code: null, signal: 'SIGTERM', truncated: false });
    const pids = result.stdout.trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    expect(result.duration_ms).toBeGreaterThanOrEqual(500);
    // It answered well before its children's 30 s sleeps, and only after the one ignoring SIGTERM had the grace.
    expect(elapsed).toBeGreaterThanOrEqual(500 + GRACE_MS);
    expect(elapsed).toBeLessThan(10_000);
    for (const pid of pids) expect(await alive(pid), `child ${pid}`).toBe(false);
  });

  it('keeps output up to the cap and marks the cut, without blocking the script', async () => {
    const result = await harness.execute<RunOutput>('scripts.run', { name: 'chatty' });
    expect(result).toMatchObject({ exit_code: 0, truncated: true, timed_out: false, stderr: 'done\n' });
    expect(result.stdout).toBe(`${'x'.repeat(CAP)}\n[boxfleet: output cut at ${CAP} bytes; ${200_000 - CAP} more bytes dropped]\n`);
  });

  it('refuses names that are paths (../x, absolute) before looking at the disk', async () => {
    for (const name of ['../x', '../scripts-outside/evil', '/bin/sh', path.join(outside, 'evil'), 'greet.json', '.hidden']) {
      expect(await failure('scripts.run', { name })).toEqual({ status: 'INVALID_ARGUMENT', message: 'input.name: must match pattern "^[a-z0-9][a-z0-9_-]{0,63}$"' });
    }
  });

  it('refuses a symlink that points out of the folder, and runs one that stays inside', async () => {
    const before = await ran();
    const refused = await failure('scripts.run', { name: 'escape' });
    expect(refused.status).toBe('FAILED_PRECONDITION');
    expect(refused.message).toBe(`script escape cannot run: escape resolves to ${await realpath(path.join(outside, 'evil'))}, outside ${dir}`);
    expect(await ran()).toEqual(before);
    expect(await harness.execute<RunOutput>('scripts.run', { name: 'hello', args: { name: 'x' } })).toMatchObject({ exit_code: 3, stdout: '--name=x\n--count=2\n' });
  });

  it('never runs a script that is not executable, writable by others, lacks its sidecar or has an invalid one', async () => {
    const before = await ran();
    expect(await failure('scripts.run', { name: 'noexec' })).toEqual({ status: 'FAILED_PRECONDITION', message: 'script noexec cannot run: noexec is not executable (chmod +x)' });
    expect(await failure('scripts.run', { name: 'shared' })).toEqual({ status: 'FAILED_PRECONDITION', message: 'script shared cannot run: shared is writable by its group or others (chmod go-w)' });
    expect(await failure('scripts.run', { name: 'nosidecar' })).toMatchObject({ status: 'FAILED_PRECONDITION', message: expect.stringContaining('no sidecar nosidecar.json') });
    expect(await failure('scripts.run', { name: 'badsidecar' })).toEqual({ status: 'FAILED_PRECONDITION', message: 'script badsidecar cannot run: badsidecar.json.timeout_s: must be <= 3600' });
    expect(await failure('scripts.run', { name: 'missing' })).toMatchObject({ status: 'NOT_FOUND' });
    expect(await ran()).toEqual(before);
  });

  it('refuses an owner script, naming scripts.run-owner, which runs it', async () => {
    const before = (await ran()).length;
    expect(await failure('scripts.run', { name: 'rotate' })).toEqual({ status: 'PERMISSION_DENIED', message: 'script rotate needs the owner role: run it with scripts.run-owner' });
    expect(await ran()).toHaveLength(before);
    expect(await harness.execute<RunOutput>('scripts.run-owner', { name: 'rotate' })).toMatchObject({ exit_code: 0, stdout: 'rotated\n' });
    // run-owner runs admin scripts as well.
    expect(await harness.execute<RunOutput>('scripts.run-owner', { name: 'greet', args: { name: 'o' } })).toMatchObject({ exit_code: 3 });
  });
});

describe('scripts.list and the roles the node declares', () => {
  it('lists every script with its sidecar, and the unusable ones with the reason', async () => {
    const { dir: listed, scripts: found } = await harness.execute<ListOutput>('scripts.list');
    expect(listed).toBe(dir);
    const byName = Object.fromEntries(found.map((s) => [s.name, s]));
    expect(Object.keys(byName)).toEqual(['badargname', 'badsidecar', 'chatty', 'escape', 'greet', 'hello', 'noexec', 'nosidecar', 'objectarg', 'rotate', 'shared', 'sleeper']);
    expect(byName.greet).toEqual({ name: 'greet', usable: true, description: GREET.description, args: GREET.args, timeout_s: 10, role: 'admin' });
    expect(byName.noexec).toMatchObject({ usable: false, problem: 'noexec is not executable (chmod +x)' });
    // A sidecar that names no role is for the owner.
    expect(byName.rotate).toMatchObject({ usable: true, role: 'owner', args: { type: 'object', properties: {} }, timeout_s: 5 });
    expect(byName.escape).toMatchObject({ usable: false, problem: expect.stringContaining('outside') });
    expect(byName.objectarg).toMatchObject({ usable: false, problem: expect.stringContaining('objectarg.json: args.properties.opts: type must be string, integer, number, boolean') });
    expect(byName.shared).toMatchObject({ usable: false, problem: 'shared is writable by its group or others (chmod go-w)' });
    expect(byName.badargname).toMatchObject({ usable: false, problem: "badargname.json: args.properties.two words: an argument's name must match ^[a-z][a-z0-9_-]{0,63}$" });
    expect(byName.badsidecar).toMatchObject({ usable: false, problem: 'badsidecar.json.timeout_s: must be <= 3600' });
  });

  it('declares list and run for admins and run-owner for the owner, so the hub decides who may run what', async () => {
    const [plugin] = await harness.describe();
    expect(Object.fromEntries(plugin!.commands.map((c) => [c.name, c.role]))).toEqual({
      'scripts.list': 'admin',
      'scripts.run': 'admin',
      'scripts.run-owner': 'owner',
    });
    expect(plugin).toMatchObject({ state: 'running', healthy: true, message: '7 script(s) unusable; scripts.list says why' });
  });
});
