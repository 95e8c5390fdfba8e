// Adding a node with one command, for real: a hub listening on loopback hands out an install
// command; the script is fetched with curl (or wget) and run by sh (dash here). The agent tarball is
// a fake built here, a real tar.gz whose install.sh records its arguments and prints the enrollment
// string of a real agent process, so the hub dials, pins and calls a real agent. Run on SQLite by
// install-tokens.test.ts and on MariaDB by install-tokens.mariadb.test.ts (a command is spent in the
// node's transaction, which two racing registrations test on each database).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
const VERSION = '9.9.9';
const ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
const OTHER_ARCH = ARCH === 'amd64' ? 'arm64' : 'amd64';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `line` with sh -c, as an operator's shell would, and never throws on a failed command. */
function shell(line: string, env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  return new Promise((resolve) =>
    execFile('sh', ['-c', line], { env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

export function installTokensSuite(kind: DatabaseKind): void {
  describe(`adding a node with one install command, hub on ${kind}`, { timeout: 60_000 }, () => {
    let hub: TestHub;
    let url: string;
    let now = Date.now();
    /** Where the fake install.sh writes its arguments and reads the enrollment string to print. */
    let stage: string;
    const agents: AgentProcess[] = [];

    /** The API over HTTP, as the dashboard calls it: the command is built from the Host this request names. */
    const api = async (method: 'GET' | 'POST' | 'DELETE', route: string, payload?: object, headers = hub.auth) => {
      const res = await fetch(`${url}/api/v1${route}`, {
        method,
        headers: payload ? { ...headers, 'content-type': 'application/json' } : headers,
        body: payload && JSON.stringify(payload),
      });
      const body = await res.text();
      return { statusCode: res.status, body, json: () => JSON.parse(body) };
    };
    const createCommand = async (body: object = {}) => {
      const res = await api('POST', '/nodes/install-tokens', body);
      expect(res.statusCode, res.body).toBe(201);
      return res.json() as { id: number; token: string; command: string; expires_at: string; architectures: string[]; version: string };
    };
    const tokenStatus = async (id: number) =>
      ((await api('GET', '/nodes/install-tokens?per_page=200')).json().items as { id: number; status: string }[]).find((t) => t.id === id)?.status;
    /** The command as the operator runs it: <host:port> filled in, as root already (no sudo here). */
    const runCommand = (command: string, address: string, extra = '', env?: NodeJS.ProcessEnv) =>
      shell(`${command.replace('| sudo sh ', '| sh ').replace('<host:port>', address)} ${extra}`, env);
    const auditOf = async (target: string, count: number) =>
      until(`${count} audit entries for ${target}`, async () => {
        const items = (await api('GET', `/audit?target=${encodeURIComponent(target)}&per_page=200`)).json().items as any[];
        return items.length >= count && items.reverse();
      });

    const releaseDir = () => hub.config.release_dir;
    /** A tarball as `npm run release` names and lays it out, and its line in SHA256SUMS. */
    async function writeTarball(arch: string, version = VERSION) {
      const build = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-tarball-'));
      const top = path.join(build, `boxfleet-agent-${version}-linux-${arch}`);
      await mkdir(top);
      await writeFile(
        path.join(top, 'install.sh'),
        `#!/bin/sh\nset -eu\nprintf '%s\\n' "$@" > '${stage}/args'\necho 'fake install.sh: nothing installed'\ncat '${stage}/enrollment'\n`,
      );
      await chmod(path.join(top, 'install.sh'), 0o755);
      const file = `boxfleet-agent-${version}-linux-${arch}.tar.gz`;
      await mkdir(releaseDir(), { recursive: true });
      await run('tar', ['-czf', path.join(releaseDir(), file), '-C', build, path.basename(top)]);
      await rm(build, { recursive: true, force: true });
      const sha256 = createHash('sha256').update(await readFile(path.join(releaseDir(), file))).digest('hex');
      return `${sha256}  ${file}\n`;
    }
    async function writeRelease(arches: string[]) {
      await rm(releaseDir(), { recursive: true, force: true });
      let sums = '';
      for (const arch of arches) sums += await writeTarball(arch);
      await writeFile(path.join(releaseDir(), 'SHA256SUMS'), sums);
    }
    /** A real agent; its enrollment string is what the fake install.sh prints next. */
    async function nextAgent(nodeId: string) {
      const agent = await startAgentProcess({ nodeId });
      agents.push(agent);
      await writeFile(path.join(stage, 'enrollment'), `${agent.enrollment}\n`);
      return agent;
    }
    const installArgs = () => readFile(path.join(stage, 'args'), 'utf8').catch(() => null);

    beforeAll(async () => {
      stage = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-install-'));
      hub = await startTestHub(kind, { clock: () => now });
      url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
      await writeRelease([ARCH]);
    }, 60_000);

    beforeEach(async () => {
      await rm(path.join(stage, 'args'), { force: true });
    });

    afterAll(async () => {
      await Promise.all(agents.map((a) => a.stop()));
      await hub?.close();
      await rm(stage, { recursive: true, force: true });
    });

    it('refuses to create a command while the release folder has no agent tarball, and says where to put one', async () => {
      await rm(releaseDir(), { recursive: true });
      try {
        const res = await api('POST', '/nodes/install-tokens', {});
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({
          code: 'HUB_ERR_NO_AGENT_RELEASE',
          message: `no agent release in ${path.join(hub.config.data_dir, 'releases')}: run npm run release and copy release/* there, or set release_dir`,
        });
      } finally {
        await writeRelease([ARCH]);
      }
    });

    it('lets admins create install commands, and not operators or viewers', async () => {
      for (const role of ['viewer', 'operator'] as const) {
        const res = await api('POST', '/nodes/install-tokens', { tags: ['edge'] }, await hub.as(role));
        expect(res.statusCode, role).toBe(403);
        expect(res.json().message).toBe(`this needs the admin role; test-${role} is ${role}`);
      }
      const created = await createCommand({ tags: ['edge'] });
      expect(created).toMatchObject({ architectures: [ARCH], version: VERSION });
      expect((await api('GET', '/nodes/install-tokens', undefined, await hub.as('operator'))).statusCode).toBe(403);
    });

    it("installs the agent and adds the node with the command's tags, name and multiplier, and the hub calls it", async () => {
      const agent = await nextAgent('fresh-1');
      const created = await createCommand({ tags: ['edge', 'hk'], name: 'Fresh one', multiplier: 2 });
      expect(created.command).toBe(`curl -fsSL ${url}/install/${created.token} | sudo sh -s -- --address <host:port>`);
      expect(Date.parse(created.expires_at)).toBe(now + 3600 * 1000);

      const script = await hub.app.inject({ method: 'GET', url: `/install/${created.token}` });
      expect(script.headers['content-type']).toBe('text/x-shellscript; charset=utf-8');
      await writeFile(path.join(stage, 'script.sh'), script.body);
      await run('sh', ['-n', path.join(stage, 'script.sh')]);

      const address = `127.0.0.1:${agent.port}`;
      const outcome = await runCommand(created.command, address, '--no-systemd --prefix /opt/boxfleet');
      expect(outcome.code, outcome.stderr).toBe(0);
      expect(outcome.stdout).toContain('fake install.sh: nothing installed');
      expect(outcome.stdout).toContain(`boxfleet: added to the hub as node fresh-1 (Fresh one), which the hub reaches at 127.0.0.1:${agent.port}`);
      expect(await installArgs()).toBe(`--address\n${address}\n--no-systemd\n--prefix\n/opt/boxfleet\n`);

      const node = (await api('GET', '/nodes/fresh-1')).json();
      expect(node).toMatchObject({ id: 'fresh-1', name: 'Fresh one', tags: ['edge', 'hk'], multiplier: 2, online: true, insecure: false });
      const metrics = await api('POST', '/nodes/fresh-1/commands/sysmetrics.current', {});
      expect(metrics.statusCode, metrics.body).toBe(200);
      expect(metrics.json()).toHaveProperty('memory');
      expect(await tokenStatus(created.id)).toBe('used');

      const steps = await auditOf(`install-token:${created.id}`, 4);
      expect(steps.map((e) => [e.action, e.result, e.ip])).toEqual([
        ['node.install-token.create', 'ok', '127.0.0.1'],
        ['node.install.script', 'ok', '127.0.0.1'],
        ['node.install.script', 'ok', '127.0.0.1'],
        ['node.install.download', 'ok', '127.0.0.1'],
      ]);
      const [registered] = await auditOf(`fresh-1 install-token:${created.id}`, 1);
      expect(registered).toMatchObject({ action: 'node.install.register', result: 'ok', input: { enrollment: '[redacted]' } });
      const log = JSON.stringify((await api('GET', '/audit?per_page=200')).json());
      expect(log).not.toContain(created.token);
      expect(log).not.toContain(agent.enrollment);

      // Once used, the same command is refused on the operator's terminal, and nothing runs.
      await rm(path.join(stage, 'args'));
      const again = await runCommand(created.command, address);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(
        /^boxfleet: this install command already added node fresh-1 at \S+; each adds one node: create a new one in the dashboard \(Nodes → Add node\)\n$/,
      );
      expect(await installArgs()).toBeNull();
      const refused = (await auditOf(`install-token:${created.id}`, 5)).at(-1);
      expect(refused).toMatchObject({ action: 'node.install.refused', result: 'error', ip: '127.0.0.1', status_code: 200 });
      expect(refused.error).toContain('already added node fresh-1');
    });

    it('refuses an expired command and a revoked one, saying which', async () => {
      const expiring = await createCommand({ ttl_s: 60 });
      const revoked = await createCommand();
      expect((await api('DELETE', `/nodes/install-tokens/${revoked.id}`)).statusCode).toBe(204);
      now += 61_000;

      const late = await runCommand(expiring.command, '127.0.0.1:1');
      expect(late.code).not.toBe(0);
      expect(late.stderr).toMatch(/^boxfleet: this install command expired at \S+; create a new one in the dashboard/);
      const gone = await runCommand(revoked.command, '127.0.0.1:1');
      expect(gone.code).not.toBe(0);
      expect(gone.stderr).toMatch(/^boxfleet: this install command was revoked at \S+; create a new one in the dashboard/);
      const unknown = await shell(`curl -fsSL ${url}/install/not-a-token-the-hub-ever-made | sh`);
      expect(unknown.stderr).toBe('boxfleet: this install command is not known to this hub; copy it again, or create a new one in the dashboard (Nodes → Add node)\n');
      expect(await installArgs()).toBeNull();

      // Neither can fetch the agent or add a node either.
      const download = await hub.app.inject({ method: 'GET', url: `/install/${expiring.token}/agent-linux-${ARCH}.tar.gz` });
      expect(download.statusCode).toBe(410);
      const register = await hub.app.inject({ method: 'POST', url: `/install/${revoked.token}/register`, payload: { enrollment: 'boxfleet://x' } });
      expect(register.statusCode).toBe(410);

      const listed = (await api('GET', '/nodes/install-tokens?per_page=200')).json();
      const statusOf = (id: number) => listed.items.find((t: { id: number }) => t.id === id);
      expect(statusOf(expiring.id)).toMatchObject({ status: 'expired' });
      expect(statusOf(revoked.id)).toMatchObject({ status: 'revoked' });
      expect(JSON.stringify(listed)).not.toContain(expiring.token);
      const pending = (await api('GET', '/nodes/install-tokens?status=pending')).json().items.map((t: { id: number }) => t.id);
      expect(pending).not.toContain(expiring.id);
      expect(pending).not.toContain(revoked.id);
      const refusals = await auditOf(`install-token:${revoked.id}`, 4);
      expect(refusals.filter((e) => e.action === 'node.install.refused').map((e) => e.error)).toEqual([
        expect.stringContaining('was revoked'),
        expect.stringContaining('was revoked'),
      ]);
    });

    it('stops at a tarball changed after SHA256SUMS was written, before install.sh runs', async () => {
      const created = await createCommand();
      const file = path.join(releaseDir(), `boxfleet-agent-${VERSION}-linux-${ARCH}.tar.gz`);
      const bytes = await readFile(file);
      try {
        await writeFile(file, Buffer.concat([bytes, Buffer.from('tampered')]));
        const outcome = await runCommand(created.command, '127.0.0.1:1');
        expect(outcome.code).not.toBe(0);
        expect(outcome.stderr).toMatch(
          /boxfleet: checksum mismatch: the downloaded agent tarball's SHA-256 is [0-9a-f]{64}, but the hub's SHA256SUMS says [0-9a-f]{64}; it was changed or damaged, so nothing was installed\n$/,
        );
        expect(await installArgs()).toBeNull();
        expect(await tokenStatus(created.id)).toBe('pending');
      } finally {
        await writeFile(file, bytes);
      }
    });

    it("says so when the hub has no tarball for this machine's architecture", async () => {
      const created = await createCommand();
      await writeRelease([OTHER_ARCH]);
      try {
        const outcome = await runCommand(created.command, '127.0.0.1:1');
        expect(outcome.code).not.toBe(0);
        expect(outcome.stderr).toBe(
          `boxfleet: the hub has no boxfleet-agent ${VERSION} tarball for linux-${ARCH} (it has: ${OTHER_ARCH}); copy boxfleet-agent-${VERSION}-linux-${ARCH}.tar.gz and SHA256SUMS into the hub's release folder, then run the command again\n`,
        );
        expect(await installArgs()).toBeNull();
        expect((await createCommand()).architectures).toEqual([OTHER_ARCH]);
      } finally {
        await writeRelease([ARCH]);
      }
    });

    it('leaves the command unused when the hub cannot reach the node, and adds it when run again', async () => {
      const created = await createCommand({ tags: ['retry'] });
      const agent = await nextAgent('retry-1');
      // The agent was told an address where nothing listens (a wrong --address, a closed firewall).
      const wrong = agent.enrollment.replace(`127.0.0.1:${agent.port}`, '127.0.0.1:1');
      await writeFile(path.join(stage, 'enrollment'), `${wrong}\n`);
      const failed = await runCommand(created.command, '127.0.0.1:1', '', { ...process.env, BOXFLEET_REGISTER_WAIT_S: '0' });
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toMatch(
        /boxfleet: the hub could not add this node: node retry-1: cannot reach 127\.0\.0\.1:1: .*; the install command is still unused: fix this, then run it again\n$/,
      );
      expect(await tokenStatus(created.id)).toBe('pending');
      expect((await api('GET', '/nodes/retry-1')).statusCode).toBe(404);

      await writeFile(path.join(stage, 'enrollment'), `${agent.enrollment}\n`);
      const fixed = await runCommand(created.command, `127.0.0.1:${agent.port}`);
      expect(fixed.code, fixed.stderr).toBe(0);
      expect((await api('GET', '/nodes/retry-1')).json()).toMatchObject({ tags: ['retry'], name: 'retry-1', multiplier: 1, online: true });
    });

    it('keeps asking the hub while the new agent is not listening yet, and adds it once it is', async () => {
      const created = await createCommand({ tags: ['late'] });
      const agent = await nextAgent('late-1');
      await agent.kill9();
      const running = runCommand(created.command, `127.0.0.1:${agent.port}`, '', { ...process.env, BOXFLEET_REGISTER_WAIT_S: '20' });
      // The script and the download are audited, then the first registration the hub could not dial.
      await auditOf(`install-token:${created.id}`, 3);
      await agent.restart();
      const done = await running;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stderr).toContain('the hub cannot reach the agent yet');
      expect((await api('GET', '/nodes/late-1')).json()).toMatchObject({ tags: ['late'], online: true });
    });

    it('adds exactly one node when two registrations with one command race', async () => {
      const created = await createCommand({ tags: ['race'] });
      const [a, b] = await Promise.all([startAgentProcess({ nodeId: 'race-a' }), startAgentProcess({ nodeId: 'race-b' })]);
      agents.push(a!, b!);
      const register = (enrollment: string) =>
        fetch(`${url}/install/${created.token}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ enrollment }),
        }).then(async (res) => ({ status: res.status, body: (await res.json()) as { node?: { id: string }; message?: string } }));
      const results = await Promise.all([register(a!.enrollment), register(b!.enrollment)]);
      expect(results.map((r) => r.status).sort()).toEqual([201, 410]);
      const winner = results.find((r) => r.status === 201)!.body.node!.id;
      expect(results.find((r) => r.status === 410)!.body.message).toContain(`this install command already added node ${winner}`);
      const nodes = (await api('GET', '/nodes')).json().nodes as { id: string }[];
      expect(nodes.map((n) => n.id).filter((id) => id.startsWith('race-'))).toEqual([winner]);
      const listed = (await api('GET', '/nodes/install-tokens?status=used&per_page=200')).json().items;
      expect(listed.find((t: { id: number }) => t.id === created.id)).toMatchObject({ status: 'used', used_by_node: winner });
    });

    it('downloads with wget on a machine without curl', async () => {
      // A PATH with the tools a minimal machine has, wget but no curl.
      const bin = path.join(stage, 'bin');
      await mkdir(bin, { recursive: true });
      for (const tool of ['sh', 'uname', 'tar', 'gzip', 'sha256sum', 'mktemp', 'sed', 'grep', 'tail', 'tee', 'cut', 'tr', 'cat', 'rm', 'mkdir', 'wget']) {
        const { stdout } = await run('sh', ['-c', `command -v ${tool}`]);
        await symlink(stdout.trim(), path.join(bin, tool)).catch(() => undefined);
      }
      const agent = await nextAgent('wget-1');
      const created = await createCommand({ tags: ['wget'] });
      const command = created.command.replace('curl -fsSL', 'wget -qO-');
      const outcome = await runCommand(command, `127.0.0.1:${agent.port}`, '', { PATH: bin });
      expect(outcome.code, outcome.stderr).toBe(0);
      expect(outcome.stdout).toContain('boxfleet: added to the hub as node wget-1 (wget-1)');
      expect((await api('GET', '/nodes/wget-1')).json()).toMatchObject({ tags: ['wget'], online: true });
      expect((await stat(path.join(bin, 'curl')).catch(() => null))).toBeNull();
    });
  });

  describe(`install commands behind a public URL, hub on ${kind}`, () => {
    let hub: TestHub;

    beforeAll(async () => {
      hub = await startTestHub(kind, { config: { public_url: 'https://panel.example.com/' } });
      await mkdir(hub.config.release_dir, { recursive: true });
      await writeFile(path.join(hub.config.release_dir, `boxfleet-agent-${VERSION}-linux-arm64.tar.gz`), 'not really a tarball');
      await writeFile(path.join(hub.config.release_dir, 'SHA256SUMS'), `${'ab'.repeat(32)} *boxfleet-agent-${VERSION}-linux-arm64.tar.gz\n`);
    });

    afterAll(async () => {
      await hub?.close();
    });

    it('builds the command and the script from public_url, not from the Host the request came with', async () => {
      const res = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes/install-tokens', headers: { ...hub.auth, host: 'internal:8080' }, payload: {} });
      expect(res.statusCode, res.body).toBe(201);
      const { token, command } = res.json();
      expect(command).toBe(`curl -fsSL https://panel.example.com/install/${token} | sudo sh -s -- --address <host:port>`);
      const script = await hub.app.inject({ method: 'GET', url: `/install/${token}`, headers: { host: 'internal:8080' } });
      expect(script.body).toContain(`INSTALL_URL='https://panel.example.com/install/${token}'`);
      expect(script.body).toContain(`arm64) SHA256='${'ab'.repeat(32)}' ;;`);
      expect(script.body).not.toContain('internal:8080');
    });

    it('answers at most 60 requests a minute from one IP, and others still get through', async () => {
      const fetchScript = (remoteAddress: string) => hub.app.inject({ method: 'GET', url: '/install/no-such-token-at-all-here', remoteAddress });
      for (let i = 0; i < 60; i++) expect((await fetchScript('192.0.2.7')).statusCode).toBe(200);
      const limited = await fetchScript('192.0.2.7');
      expect(limited.statusCode).toBe(429);
      expect(limited.json().message).toMatch(/^too many requests; try again in \d+ s$/);
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);
      expect((await fetchScript('192.0.2.8')).statusCode).toBe(200);
    });
  });
}
