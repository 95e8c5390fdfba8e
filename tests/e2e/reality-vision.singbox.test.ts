// VLESS + REALITY + Vision as an operator sets it up and a user meets it: the hub generates the
// REALITY keys, a base config with a Vision inbound goes to a real agent running real sing-box (the
// REALITY handshake target is an HTTPS server on loopback), and a real sing-box client runs the
// user's profile from /sub as the hub wrote it. The bytes it moves are billed to the user's
// subscription: plain HTTP, and HTTPS, where Vision stops wrapping the inner TLS records once their
// handshake is done.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import selfsigned from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realityPublicKey } from '../../hub/reality.js';
import { freePort, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { downloadOverTls, downloadThroughProxy, startByteServer, type ByteServer } from '../support/byte-server.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { singboxBin } from '../support/real-components.js';
import { singboxNodePlugins, startProfileClient, type SingboxClient } from '../support/singbox-peers.js';
import { until } from '../support/until.js';

const MB = 1024 * 1024;
/** The name REALITY borrows: the handshake target's certificate is for it, and clients send it as SNI. */
const SERVER_NAME = 'reality.boxfleet.test';
/** Counters count the proxied stream, byte for byte (node-traffic.singbox.test.ts). */
const TOLERANCE = 0.02;

type Json = Record<string, any>;

describe('VLESS + REALITY + Vision with a real sing-box client', { timeout: 120_000 }, () => {
  const bin = singboxBin();
  let hub: TestHub;
  let base: string;
  let work: string;
  let bytes: ByteServer;
  /** The REALITY handshake target, and an HTTPS byte server for downloads with TLS inside. */
  let target: ByteServer;
  let certificate: string;
  let agent: AgentProcess;
  let client: SingboxClient | undefined;
  let keys: { private_key: string; public_key: string; short_id: string };
  let subscriptionId: number;
  let token: string;

  const api = (method: 'GET' | 'POST', url: string, payload?: object) => ownerApi(hub, method, url, payload);

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-reality-e2e-'));
    bytes = await startByteServer();
    // What REALITY hands unauthenticated handshakes to, and takes the shape of its own from.
    const pems = await selfsigned.generate([{ name: 'commonName', value: SERVER_NAME }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: SERVER_NAME }] }],
    });
    certificate = pems.cert;
    target = await startByteServer({ tls: { key: pems.private, cert: pems.cert } });

    hub = await startTestHub('sqlite', { config: { jobs_enabled: true, traffic_interval_s: 1, usage_rollup_interval_s: 1, quota_interval_s: 1, reconcile_interval_s: 1 } });
    base = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    const plugins = await singboxNodePlugins(bin, { clash: { sample_interval_s: 1 } });
    agent = await startAgentProcess({ nodeId: 'rv', configure: (config, dir) => void Object.assign(config.plugins, plugins(dir)) });
    await api('POST', '/api/v1/nodes', { enrollment: agent.enrollment, address: `localhost:${agent.port}`, public_host: '127.0.0.1', tags: ['rv'], multiplier: 1 });

    keys = await api('POST', '/api/v1/configs/reality-keypair');
    const reality = {
      enabled: true,
      handshake: { server: '127.0.0.1', server_port: target.port },
      private_key: keys.private_key,
      short_id: [keys.short_id],
    };
    const config = {
      log: { level: 'warn' },
      inbounds: [{ type: 'vless', tag: 'vless-reality', listen: '127.0.0.1', listen_port: await freePort(), flow: 'xtls-rprx-vision', tls: { enabled: true, server_name: SERVER_NAME, reality } }],
      outbounds: [{ type: 'direct', tag: 'direct' }],
      route: { final: 'direct' },
    };
    const version = await api('POST', '/api/v1/configs', { config, comment: 'reality + vision' });
    await api('POST', `/api/v1/configs/${version.id}/apply`, { node_id: 'rv' });

    const plan = await api('POST', '/api/v1/plans', {
      name: 'rv 1 GB', traffic_limit_bytes: 1024 * MB, duration_days: 30, price: 1, is_enabled: true, node_tags: ['rv'], reset_policy: 'none',
    });
    const userId = (await api('POST', '/api/v1/users', { name: 'alice' })).id;
    subscriptionId = (await api('POST', '/api/v1/subscriptions', { user_id: userId, plan_id: plan.id })).id;
    token = (await api('GET', `/api/v1/users/${userId}/credentials`)).sub_token;
    await until('alice on rv and rv online', async () => {
      const node = await api('GET', '/api/v1/nodes/rv');
      if (node.desired_revision !== node.applied_revision || node.health !== 'online') return false;
      const { users } = await api('POST', '/api/v1/nodes/rv/commands/singbox-config.users.list', {});
      return (users as { name: string }[]).some((u) => u.name === 'alice');
    });
  });

  afterAll(async () => {
    await client?.stop();
    const status = await api('POST', '/api/v1/nodes/rv/commands/singbox-config.status', {}).catch(() => ({ pid: null }));
    await agent?.stop();
    if (status.pid) process.kill(status.pid, 'SIGTERM');
    await hub?.close();
    await bytes?.close();
    await target?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("derives a REALITY public key exactly as sing-box does (its own generate reality-keypair's pairs)", async () => {
    const { stdout } = await promisify(execFile)(bin, ['generate', 'reality-keypair']);
    const printed = Object.fromEntries([...stdout.matchAll(/^(\w+): (\S+)$/gm)].map(([, name, value]) => [name, value]));
    expect(realityPublicKey(printed.PrivateKey!)).toBe(printed.PublicKey);
  });

  it('serves the Vision flow to every user of the inbound and to no inbound', async () => {
    const { rendered } = await api('POST', '/api/v1/nodes/rv/commands/singbox-config.config.get', {});
    const inbound = (rendered.inbounds as Json[]).find((i) => i.tag === 'vless-reality')!;
    expect(inbound).not.toHaveProperty('flow');
    expect(inbound.users).toEqual([{ name: 'alice', uuid: expect.any(String), flow: 'xtls-rprx-vision' }]);
  });

  it("moves bytes through the user's own profile, billed to the user", async () => {
    const res = await fetch(`${base}/sub/${token}`, { headers: { 'user-agent': 'SFA/1.13.2 (1; sing-box 1.13.2)' } });
    expect(res.status).toBe(200);
    const profile = (await res.json()) as Json;
    const node = (profile.outbounds as Json[]).find((o) => o.type === 'vless')!;
    expect(node).toMatchObject({
      server: '127.0.0.1',
      flow: 'xtls-rprx-vision',
      tls: { enabled: true, server_name: SERVER_NAME, reality: { enabled: true, public_key: keys.public_key, short_id: keys.short_id } },
    });

    client = await startProfileClient(bin, work, profile, node.tag);
    const plain = await downloadThroughProxy(client.proxyPort, bytes.port, 2 * MB);
    const secure = await downloadOverTls(client.proxyPort, target.port, SERVER_NAME, certificate, 4 * MB);
    const moved = plain.received + plain.sent + secure.received + secure.sent;

    const subscription = await until('the traffic billed to alice', async () => {
      const s = await api('GET', `/api/v1/subscriptions/${subscriptionId}`);
      return s.traffic_used_bytes >= moved * (1 - TOLERANCE) && s;
    });
    expect(Math.abs(subscription.traffic_used_bytes - moved) / moved).toBeLessThanOrEqual(TOLERANCE);
  });
});
