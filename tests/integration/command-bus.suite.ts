// The hub and a real agent process over real gRPC + TLS on loopback; run on SQLite by
// command-bus.grpc.test.ts and on MariaDB by command-bus.mariadb.test.ts.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient, AgentCallError } from '../../agent-core/common/agent-client.js';
import { parseEnrollment } from '../../agent-core/common/enrollment.js';
import { clientFromEnrollment, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { helloPluginWith, type HelloPlugin } from '../support/hello-plugin.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';

const fixture = (name: string) => path.resolve('tests/fixtures/plugins', name);
const extraPlugins = (hello: string) => `
  hello:
    module: ${hello}
  broken-start:
    module: ${fixture('broken-start.js')}
  slow:
    module: ${fixture('slow.js')}
reload_on_change: false`;

export function commandBusSuite(kind: DatabaseKind): void {
  describe(`command bus, hub on ${kind}`, () => {
    let agent: AgentProcess;
    let hub: TestHub;
    let client: AgentClient;
    let hello: HelloPlugin;

    beforeAll(async () => {
      hello = await helloPluginWith(process.cwd());
      agent = await startAgentProcess({ nodeId: `bus-${kind}`, extraPlugins: extraPlugins(hello.module) });
      hub = await startTestHub(kind);
      client = await clientFromEnrollment(agent.enrollment);
    });

    afterAll(async () => {
      client?.close();
      await hub?.close();
      await agent?.stop();
      await hello?.cleanup();
    });

    const command = (name: string, body: unknown, node = `bus-${kind}`) =>
      hub.app.inject({ method: 'POST', url: `/api/v1/nodes/${node}/commands/${name}`, headers: hub.auth, payload: body as object });

    it('refuses an enrollment whose certificate fingerprint does not match the agent', async () => {
      const wrong = agent.enrollment.replace(/fp=[0-9a-f]{64}/, `fp=${'0'.repeat(64)}`);
      const res = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes', headers: hub.auth, payload: { enrollment: wrong } });
      expect(res.statusCode).toBe(502);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_AGENT_UNTRUSTED' });
      expect(res.json().message).toContain('certificate fingerprint mismatch');
      const list = await hub.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: hub.auth });
      expect(list.json().nodes).toEqual([]);
    });

    it('refuses an enrollment whose token the agent does not accept', async () => {
      const wrong = agent.enrollment.replace(/token=[^&]+/, 'token=not-the-right-token-at-all');
      const res = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes', headers: hub.auth, payload: { enrollment: wrong } });
      expect(res.statusCode).toBe(502);
      expect(res.json().message).toContain('missing or wrong agent token');
    });

    it('enrolls the node and describes every plugin with its commands and schemas', async () => {
      const res = await hub.app.inject({ method: 'POST', url: '/api/v1/nodes', headers: hub.auth, payload: { enrollment: agent.enrollment } });
      expect(res.statusCode).toBe(201);
      const node = res.json();
      expect(node).toMatchObject({ id: `bus-${kind}`, address: `127.0.0.1:${agent.port}`, insecure: false, online: true });
      expect(JSON.stringify(node)).not.toContain(parseEnrollment(agent.enrollment).token);

      const detail = (await hub.app.inject({ method: 'GET', url: `/api/v1/nodes/${node.id}`, headers: hub.auth })).json();
      const plugins = detail.agent.plugins as { id: string; state: string; healthy: boolean; commands: { name: string; input: unknown }[] }[];
      expect(plugins.map((p) => p.id).sort()).toEqual(
        ['broken-start', 'clash-stats', 'firewall', 'health-probe', 'hello', 'scripts', 'singbox-config', 'slow', 'sysmetrics'],
      );
      const commands = plugins.flatMap((p) => p.commands.map((c) => c.name));
      for (const name of ['singbox-config.status', 'clash-stats.summary', 'sysmetrics.current', 'firewall.status', 'health-probe.tcp', 'hello.greet']) {
        expect(commands).toContain(name);
      }
      const greet = plugins.find((p) => p.id === 'hello')!.commands[0]!;
      expect(greet.input).toMatchObject({ type: 'object', required: ['name'], properties: { name: { type: 'string' } } });
    });

    it('round-trips a command: JSON in, JSON out', async () => {
      const res = await command('hello.greet', { name: 'Ann' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ message: 'Hello, Ann!' });
      expect(Number(res.headers['x-boxfleet-duration-ms'])).toBeGreaterThanOrEqual(0);

      const metrics = await command('sysmetrics.current', {});
      expect(metrics.statusCode).toBe(200);
      expect(metrics.json().memory.total_bytes).toBeGreaterThan(0);
    });

    it('answers 400 naming the field for invalid input, and 404 for an unknown command', async () => {
      const bad = await command('hello.greet', { name: 5 });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'HUB_ERR_BAD_REQUEST', message: 'input.name: must be string' });
      await expect(client.execute('health-probe.tcp', { host: '127.0.0.1', port: 70000 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: 'input.port: must be <= 65535',
      });
      const unknown = await command('hello.wave', {});
      expect(unknown.statusCode).toBe(404);
      // The hub knows from the node's Describe that there is no such command and does not send it.
      expect(unknown.json().message).toBe(`no command hello.wave on node bus-${kind}`);
    });

    it('answers NOT_FOUND for a command named like an Object.prototype property, on the hub and on the agent', async () => {
      for (const name of ['hello.constructor', 'hello.valueof', 'sysmetrics.constructor']) {
        expect((await command(name, {})).json()).toEqual({ statusCode: 404, code: 'HUB_ERR_NOT_FOUND', message: `no command ${name} on node bus-${kind}` });
      }
      for (const name of ['hello.constructor', 'hello.__proto__', 'hello.hasOwnProperty']) {
        await expect(client.execute(name, {})).rejects.toMatchObject({ code: 'NOT_FOUND', message: `unknown command ${name}: plugin hello has no command ${name.slice(6)}` });
      }
    });

    it('answers UNAUTHENTICATED to a wrong token', async () => {
      const e = parseEnrollment(agent.enrollment);
      const intruder = new AgentClient({ ...client.target, token: 'x'.repeat(43) });
      await expect(intruder.describe()).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'missing or wrong agent token' });
      await expect(intruder.execute('hello.greet', { name: 'x' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      intruder.close();
      expect(e.token).not.toBe('x'.repeat(43));
    });

    it('never talks to an agent whose certificate is not the pinned one', async () => {
      const pinnedElsewhere = new AgentClient({ ...client.target, fingerprint: 'f'.repeat(64) });
      const error = await pinnedElsewhere.execute('hello.greet', { name: 'x' }).catch((e: unknown) => e);
      pinnedElsewhere.close();
      expect(error).toBeInstanceOf(AgentCallError);
      expect((error as AgentCallError).code).toBe('UNAVAILABLE');
    });

    it('reports a plugin that threw in start() as unhealthy while the others answer', async () => {
      const description = await client.describe();
      expect(description.plugins.find((p) => p.id === 'broken-start')).toMatchObject({
        state: 'failed',
        healthy: false,
        message: 'start failed: cannot open /dev/nonexistent',
      });
      expect((await command('hello.greet', { name: 'Bo' })).statusCode).toBe(200);
    });

    it('answers DEADLINE_EXCEEDED (504) for a command slower than its deadline', async () => {
      const res = await command('slow.hang', {});
      expect(res.statusCode).toBe(504);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_AGENT_TIMEOUT', message: `node bus-${kind}: slow.hang did not finish within 300 ms` });
      await expect(client.execute('slow.hang', {})).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    });

    it('streams plugin events on Watch', async () => {
      const received: string[] = [];
      let stop = () => {};
      const first = new Promise<void>((resolve) => {
        stop = client.watch(['hello'], (event) => {
          received.push(`${event.name}:${(event.payload as { name: string }).name}`);
          resolve();
        }, () => {});
      });
      // The stream is open once the agent has it; greet until the first event arrives.
      const deadline = Date.now() + 5000;
      while (received.length === 0 && Date.now() < deadline) {
        await client.execute('hello.greet', { name: 'Cy' });
        await Promise.race([first, new Promise((r) => setTimeout(r, 100))]);
      }
      stop();
      expect(received[0]).toBe('hello.greeted:Cy');
    });

    it('answers 502 with the reason when a node is unreachable', async () => {
      await hub.app.inject({ method: 'DELETE', url: '/api/v1/nodes/ghost', headers: hub.auth });
      const { Node } = await import('../../hub/db/models.js');
      await Node.query(hub.app.db).insert({ id: 'ghost', name: 'ghost', address: '127.0.0.1:1', insecure: true, token: 'x'.repeat(20) });
      const res = await command('hello.greet', { name: 'x' }, 'ghost');
      expect(res.statusCode).toBe(502);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_AGENT_UNREACHABLE' });
      expect(res.json().message).toMatch(/^node ghost: .*ECONNREFUSED/);
      const node = (await hub.app.inject({ method: 'GET', url: '/api/v1/nodes/ghost', headers: hub.auth })).json();
      expect(node).toMatchObject({ online: false });
    });

    it('on SIGHUP stops a plugin disabled in the YAML, lets its command in flight finish, and keeps its pid', async () => {
      const pid = agent.child.pid!;
      const inflight = client.execute('slow.work', { ms: 1500 });
      await new Promise((r) => setTimeout(r, 200));
      await agent.setConfig((yaml) => yaml.replace(/  hello:\n/, '  hello:\n    enabled: false\n').replace(/  slow:\n/, '  slow:\n    enabled: false\n'));
      process.kill(pid, 'SIGHUP');

      await expect(inflight).resolves.toMatchObject({ result: { slept_ms: 1500 } });
      let plugins = (await client.describe()).plugins;
      for (let i = 0; i < 50 && plugins.find((p) => p.id === 'hello')!.state !== 'disabled'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        plugins = (await client.describe()).plugins;
      }
      expect(plugins.find((p) => p.id === 'hello')).toMatchObject({ state: 'disabled', commands: [] });
      expect(plugins.find((p) => p.id === 'slow')).toMatchObject({ state: 'disabled', commands: [] });
      expect((await command('hello.greet', { name: 'x' })).statusCode).toBe(409);
      expect(agent.child.pid).toBe(pid);
      expect(agent.child.exitCode).toBeNull();
      expect((await command('sysmetrics.current', {})).statusCode).toBe(200);
    });

    it('keeps the running config when a reload reads a broken file', async () => {
      await agent.setConfig((yaml) => yaml.replace('  sysmetrics:\n    enabled: true', '  sysmetrics:\n    enabled: maybe'));
      process.kill(agent.child.pid!, 'SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      expect(agent.output()).toContain('config reload refused');
      expect(agent.output()).toContain('plugins.sysmetrics.enabled: must be boolean');
      expect((await command('sysmetrics.current', {})).statusCode).toBe(200);
    });
  });
}
