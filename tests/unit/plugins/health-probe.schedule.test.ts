// health-probe beyond the TCP connect: probe commands refuse the node's own and private addresses
// (also behind a name) unless agent.yaml allows them; HTTP and DNS probes; probes scheduled in
// agent.yaml with their results in a bounded history and as Watch events; roles; the inventory.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import { InvalidArgumentError, PermissionDeniedError } from '../../../agent-core/common/errors.js';
import healthProbe from '../../../plugins/health-probe/index.js';
import type { Inventory, ProbeOutcome, ResultsOutput } from '../../../plugins/health-probe/contract.js';

const harnesses: Harness[] = [];
const harness = async (config: Record<string, unknown> = {}) => {
  const h = await createHarness(healthProbe, { config: { 'health-probe': config } });
  harnesses.push(h);
  return h;
};
afterAll(() => Promise.all(harnesses.map((h) => h.close())));

let tcpPort: number;
let httpPort: number;
let dnsPort: number;
const servers: { close(): unknown }[] = [];
beforeAll(async () => {
  const tcp = net.createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  tcpPort = (tcp.address() as net.AddressInfo).port;
  // /ok answers 204, /down 503.
  const web = http.createServer((req, res) => res.writeHead(req.url === '/ok' ? 204 : 503).end());
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  httpPort = (web.address() as net.AddressInfo).port;
  const dns = await dnsServer({ 'probe.test': ['192.0.2.7', '192.0.2.8'] });
  dnsPort = dns.port;
  servers.push(tcp, web, dns.socket);
});
afterAll(() => servers.forEach((s) => s.close()));

const refused = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e);

describe('probe commands and private targets', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['localhost (a name resolving to loopback)', 'localhost'],
    ['10.1.2.3', '10.1.2.3'],
    ['192.168.1.1', '192.168.1.1'],
    ['169.254.169.254 (link-local metadata)', '169.254.169.254'],
    ['::1', '::1'],
    ['::ffff:127.0.0.1 (mapped loopback)', '::ffff:127.0.0.1'],
  ])('tcp refuses %s by default, before connecting', async (_label, host) => {
    const h = await harness();
    const error = await refused(h.execute('health-probe.tcp', { host, port: tcpPort }));
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as Error).message).toMatch(/loopback, link-local or private/);
  });

  it('http refuses a URL whose host resolves to loopback, and dns a private server', async () => {
    const h = await harness();
    expect(await refused(h.execute('health-probe.http', { url: `http://localhost:${httpPort}/ok` }))).toBeInstanceOf(PermissionDeniedError);
    expect(await refused(h.execute('health-probe.http', { url: `http://[::1]:${httpPort}/ok` }))).toBeInstanceOf(PermissionDeniedError);
    expect(await refused(h.execute('health-probe.dns', { host: 'probe.test', server: `127.0.0.1:${dnsPort}` }))).toBeInstanceOf(PermissionDeniedError);
  });

  it('reaches private targets in allowed_cidrs, and still refuses the others', async () => {
    const h = await harness({ allowed_cidrs: ['127.0.0.0/8'] });
    expect(await h.execute<ProbeOutcome>('health-probe.tcp', { host: 'localhost', port: tcpPort })).toMatchObject({ ok: true, address: '127.0.0.1' });
    expect(await refused(h.execute('health-probe.tcp', { host: '10.1.2.3', port: 80 }))).toBeInstanceOf(PermissionDeniedError);
  });

  it('reaches every address with allow_private_targets', async () => {
    const h = await harness({ allow_private_targets: true });
    expect(await h.execute<ProbeOutcome>('health-probe.tcp', { host: '127.0.0.1', port: tcpPort })).toMatchObject({ ok: true });
  });

  it('reports a name that does not resolve as a failed probe, not a refusal', async () => {
    const h = await harness();
    const result = await h.execute<ProbeOutcome>('health-probe.tcp', { host: 'no-such-host.invalid', port: 80 });
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/^(ENOTFOUND|EAI_AGAIN) no-such-host\.invalid:80$/) });
  });

  it('refuses a malformed allowed_cidrs entry at start, naming it', async () => {
    const h = await harness({ allowed_cidrs: ['10.0.0.0/33'] });
    const [status] = await h.describe();
    expect(status).toMatchObject({ state: 'failed', message: expect.stringContaining('allowed_cidrs: 10.0.0.0/33') });
  });

  it('lets operators probe and viewers read: the roles the hub enforces', async () => {
    const h = await harness();
    const [status] = await h.describe();
    const roles = Object.fromEntries(status!.commands.map((c) => [c.name, c.role]));
    expect(roles).toEqual({
      'health-probe.tcp': 'operator',
      'health-probe.http': 'operator',
      'health-probe.dns': 'operator',
      'health-probe.unlock': 'operator',
      'health-probe.results': 'viewer',
      'health-probe.inventory': 'viewer',
    });
  });
});

describe('http and dns probes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ allow_private_targets: true });
  });

  it('http: up on an expected status, with the latency; down on another, naming both', async () => {
    const up = await h.execute<ProbeOutcome>('health-probe.http', { url: `http://127.0.0.1:${httpPort}/ok`, expect_status: [204] });
    expect(up).toMatchObject({ ok: true, status: 204, address: '127.0.0.1', latency_ms: expect.any(Number) });
    const down = await h.execute<ProbeOutcome>('health-probe.http', { url: `http://127.0.0.1:${httpPort}/down` });
    expect(down).toMatchObject({ ok: false, status: 503, error: 'status 503, expected 2xx or 3xx' });
    const refusedPort = await h.execute<ProbeOutcome>('health-probe.http', { url: 'http://127.0.0.1:1/' });
    expect(refusedPort).toEqual({ ok: false, error: 'ECONNREFUSED 127.0.0.1:1' });
  });

  it('dns: the addresses a server gives for a name, with the latency; an unknown name fails', async () => {
    const found = await h.execute<ProbeOutcome>('health-probe.dns', { host: 'probe.test', server: `127.0.0.1:${dnsPort}` });
    expect(found).toMatchObject({ ok: true, addresses: ['192.0.2.7', '192.0.2.8'], latency_ms: expect.any(Number) });
    const missing = await h.execute<ProbeOutcome>('health-probe.dns', { host: 'missing.test', server: `127.0.0.1:${dnsPort}` });
    expect(missing).toEqual({ ok: false, error: 'ENOTFOUND missing.test' });
  });
});

describe('scheduled probes', () => {
  it('runs each probe from agent.yaml on its interval, keeps the newest `history` results, and emits each', async () => {
    const h = await harness({
      history: 2,
      probes: [
        { name: 'web', kind: 'http', url: `http://127.0.0.1:${httpPort}/ok`, expect_status: [204], interval_s: 1 },
        { name: 'closed', kind: 'tcp', host: '127.0.0.1', port: 1, interval_s: 1 },
        { name: 'resolver', kind: 'dns', host: 'probe.test', server: `127.0.0.1:${dnsPort}`, interval_s: 1 },
      ],
    });
    const event = await h.nextEvent('health-probe.result');
    expect(event.payload).toMatchObject({ name: expect.any(String), kind: expect.any(String), target: expect.any(String), time: expect.any(String) });
    // Three runs of each: the history holds the newest two.
    await until(() => h.events.filter((e) => e.name === 'health-probe.result').length >= 9, 6000);
    const { probes } = await h.execute<ResultsOutput>('health-probe.results', {});
    expect(probes.map((p) => [p.name, p.kind, p.target, p.interval_s])).toEqual([
      ['web', 'http', `http://127.0.0.1:${httpPort}/ok`, 1],
      ['closed', 'tcp', '127.0.0.1:1', 1],
      ['resolver', 'dns', 'probe.test A', 1],
    ]);
    for (const probe of probes) {
      expect(probe.history).toHaveLength(2);
      expect(probe.latest).toEqual(probe.history[1]);
      expect(Date.parse(probe.history[0]!.time)).toBeLessThan(Date.parse(probe.history[1]!.time));
    }
    expect(probes[0]!.latest).toMatchObject({ ok: true, status: 204 });
    expect(probes[1]!.latest).toMatchObject({ ok: false, error: 'ECONNREFUSED 127.0.0.1:1' });
    expect(probes[2]!.latest).toMatchObject({ ok: true, addresses: ['192.0.2.7', '192.0.2.8'] });
    const one = await h.execute<ResultsOutput>('health-probe.results', { name: 'web', limit: 1 });
    expect(one.probes).toHaveLength(1);
    expect(one.probes[0]!.history).toEqual([one.probes[0]!.latest]);
  });

  it('has no probes and no results by default', async () => {
    const h = await harness({ unlock: { interval_s: 0 } });
    expect(await h.execute('health-probe.results', {})).toEqual({ probes: [], unlock: null });
  });

  it.each([
    [[{ name: 'a', kind: 'tcp', host: 'example.com' }], 'probes[0] (a): a tcp probe needs host and port'],
    [[{ name: 'a', kind: 'http' }], 'probes[0] (a): an http probe needs url'],
    [[{ name: 'a', kind: 'dns', host: 'x' }, { name: 'a', kind: 'dns', host: 'y' }], 'probes[1] (a): the name is taken'],
  ])('refuses probes %j at start: %s', async (probes, message) => {
    const h = await harness({ probes });
    const [status] = await h.describe();
    expect(status).toMatchObject({ state: 'failed', message: expect.stringContaining(message) });
  });

  it('rejects an invalid command input naming the field', async () => {
    const h = await harness();
    const error = await refused(h.execute('health-probe.http', { url: 'ftp://example.com/' }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('input.url');
  });
});

describe('inventory', () => {
  it('describes the OS, kernel, CPU, memory, file systems and interfaces of this machine', async () => {
    const h = await harness({ inventory_at_start: false });
    const inventory = await h.execute<Inventory>('health-probe.inventory', {});
    expect(inventory.os.platform).toBe('linux');
    expect(inventory.os.kernel).toBe((await import('node:os')).release());
    expect(inventory.cpu.cores).toBe((await import('node:os')).cpus().length);
    expect(inventory.memory.total_bytes).toBe((await import('node:os')).totalmem());
    expect(inventory.filesystems.some((f) => f.mount === '/')).toBe(true);
    const lo = inventory.interfaces.find((i) => i.name === 'lo');
    expect(lo).toMatchObject({ internal: true, addresses: expect.arrayContaining(['127.0.0.1/8']) });
    expect(typeof inventory.virtualization.virtual).toBe('boolean');
  });

  it('answers the one gathered within the hour, and gathers anew when asked to', async () => {
    const h = await harness({ inventory_at_start: false });
    const first = await h.execute<Inventory>('health-probe.inventory', {});
    expect((await h.execute<Inventory>('health-probe.inventory', {})).gathered_at).toBe(first.gathered_at);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await h.execute<Inventory>('health-probe.inventory', { fresh: true })).gathered_at).not.toBe(first.gathered_at);
  });
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A DNS server on loopback answering A queries from `records` (NXDOMAIN for other names). */
async function dnsServer(records: Record<string, string[]>): Promise<{ socket: dgram.Socket; port: number }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (query, peer) => {
    const labels: string[] = [];
    let at = 12;
    while (query[at]! > 0) {
      labels.push(query.subarray(at + 1, at + 1 + query[at]!).toString());
      at += query[at]! + 1;
    }
    const question = query.subarray(12, at + 5);
    const addresses = records[labels.join('.')];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    header.writeUInt16BE(addresses ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(addresses?.length ?? 0, 6);
    const answers = (addresses ?? []).map((ip) => {
      const answer = Buffer.alloc(16);
      answer.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      answer.writeUInt16BE(1, 2); // A
      answer.writeUInt16BE(1, 4); // IN
      answer.writeUInt32BE(60, 6);
      answer.writeUInt16BE(4, 10);
      ip.split('.').forEach((octet, i) => answer.writeUInt8(Number(octet), 12 + i));
      return answer;
    });
    socket.send(Buffer.concat([header, question, ...answers]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port };
}
