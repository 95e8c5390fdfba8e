// The hub's inbound checks against loopback servers standing in for two nodes' inbounds: a node
// whose TLS inbound stops answering turns unhealthy at the 3rd failed check in a row (not before),
// leaves the /sub of its users (a fresh request after the check, with the body cache warm), and
// fires exactly one `unreachable` alert on the webhook; flapping changes nothing; two good checks
// in a row bring it back into /sub and resolve the alert. Run on SQLite by inbound-check.test.ts and
// on MariaDB by inbound-check.mariadb.test.ts.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import selfsigned from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Node } from '../../hub/db/models.js';
import { type DatabaseKind, ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { parseLink } from '../unit/hub/subscription.helpers.js';

const NAME = 'node.boxfleet.test';
const GiB = 2 ** 30;

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

export function inboundCheckSuite(kind: DatabaseKind): void {
  describe(`inbound checks from the hub decide which nodes /sub gives out, hub on ${kind}`, { timeout: 60_000 }, () => {
    let hub: TestHub;
    let token: string;
    /** Node A's TLS inbound hangs up on every connection while true. */
    let aDown = false;
    const servers: net.Server[] = [];
    const webhooks: { event: string; alert: { node_id: string; rule: string; state: string } }[] = [];

    const api = (method: 'GET' | 'POST', url: string, payload?: object) => ownerApi(hub, method, url, payload);
    /** The node names in a freshly fetched subscription. */
    const nodesInSub = async () => {
      const res = await hub.app.inject({ method: 'GET', url: `/sub/${token}?format=links` });
      expect(res.statusCode).toBe(200);
      return [...new Set(res.body.split('\n').map((l) => parseLink(l).name.split(' ')[0]))].sort();
    };
    const check = async () => {
      const run = await hub.app.jobs.run('inbound-check');
      expect(run.ran).toBe(true);
      await hub.app.jobs.run('alerts');
    };
    const healthOf = async (id: string) => (await api('GET', '/api/v1/nodes')).nodes.find((n: { id: string }) => n.id === id).inbound_health;

    beforeAll(async () => {
      const pems = await selfsigned.generate([{ name: 'commonName', value: NAME }], {
        keyType: 'ec', curve: 'P-256', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: NAME }] }],
      });
      const secure = tls.createServer({ cert: pems.cert, key: pems.private }, (s) => s.end());
      // The TLS inbound of node A, which the test can take down (it then hangs up on every connection).
      const aTls = net.createServer((socket) => (aDown ? socket.destroy() : secure.emit('connection', socket)));
      const aTcp = net.createServer((s) => s.end());
      const bTcp = net.createServer((s) => s.end());
      const receiver = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          webhooks.push(JSON.parse(body));
          res.writeHead(204).end();
        });
      });
      servers.push(aTls, aTcp, bTcp, receiver);
      const [aTlsPort, aTcpPort, bTcpPort, receiverPort] = [await listen(aTls), await listen(aTcp), await listen(bTcp), await listen(receiver)];

      hub = await startTestHub(kind, {
        config: { inbound_check_interval_s: 30, inbound_check_timeout_s: 2, alert_webhook_url: `http://127.0.0.1:${receiverPort}/hook`, alert_webhook_secret: 'secret' },
      });
      const ss = { method: '2022-blake3-aes-128-gcm', password: Buffer.alloc(16, 1).toString('base64') };
      const tlsBlock = { enabled: true, server_name: NAME, certificate: pems.cert, key: pems.private };
      const configA = {
        inbounds: [
          { type: 'trojan', tag: 'trojan-in', listen: '::', listen_port: aTlsPort, tls: tlsBlock },
          { type: 'shadowsocks', tag: 'ss-in', listen: '::', listen_port: aTcpPort, ...ss },
          // QUIC: not checked, so its closed port changes nothing.
          { type: 'hysteria2', tag: 'hy2-in', listen: '::', listen_port: 1, tls: tlsBlock },
        ],
        outbounds: [{ type: 'direct', tag: 'direct' }],
      };
      const configB = { inbounds: [{ type: 'shadowsocks', tag: 'ss-in', listen: '::', listen_port: bTcpPort, ...ss }], outbounds: [{ type: 'direct', tag: 'direct' }] };
      const [versionA, versionB] = [(await api('POST', '/api/v1/configs', { config: configA })).id, (await api('POST', '/api/v1/configs', { config: configB })).id];
      const node = { token: 'x', multiplier: 1, enabled: true, health: 'online' as const, tags: ['hk'], public_host: '127.0.0.1' };
      await Node.query(hub.app.db).insert({ ...node, id: 'a', name: 'A', address: '192.0.2.1:50051', applied_config_version: versionA });
      await Node.query(hub.app.db).insert({ ...node, id: 'b', name: 'B', address: '192.0.2.2:50051', applied_config_version: versionB });
      const plan = await api('POST', '/api/v1/plans', { name: 'hk', traffic_limit_bytes: GiB, duration_days: 30, price: 1, is_enabled: true, node_tags: ['hk'], reset_policy: 'none' });
      const userId = (await api('POST', '/api/v1/users', { name: 'carol' })).id;
      await api('POST', '/api/v1/subscriptions', { user_id: userId, plan_id: plan.id });
      token = (await api('GET', `/api/v1/users/${userId}/credentials`)).sub_token;
    });

    afterAll(async () => {
      await hub?.close();
      for (const s of servers) s.close();
    });

    it("checks each node's TCP inbounds at the host clients dial, TLS with a handshake, and keeps each one's result", async () => {
      expect(await healthOf('a')).toMatchObject({ state: 'unknown', checked_at: null });
      await check();
      expect(await healthOf('a')).toMatchObject({ state: 'healthy', since: null, failed_checks: 0, good_checks: 1 });
      const detail = await api('GET', '/api/v1/nodes/a');
      expect(detail.inbound_checks.map((c: Record<string, unknown>) => [c.tag, c.host, c.probe, c.ok])).toEqual([
        ['ss-in', '127.0.0.1', 'tcp', true],
        ['trojan-in', '127.0.0.1', 'tls', true],
      ]);
      expect(await nodesInSub()).toEqual(['A', 'B']);
    });

    it('keeps a node in /sub through 2 failed checks and drops it at the 3rd, with one alert', async () => {
      aDown = true;
      await check();
      await check();
      expect(await healthOf('a')).toMatchObject({ state: 'healthy', failed_checks: 2 });
      expect(await nodesInSub()).toEqual(['A', 'B']);
      expect(webhooks).toEqual([]);
      await check();
      const health = await healthOf('a');
      expect(health).toMatchObject({ state: 'unhealthy', failed_checks: 3, good_checks: 0 });
      expect(health.since).toBe(health.checked_at);
      const failed = (await api('GET', '/api/v1/nodes/a')).inbound_checks.find((c: { tag: string }) => c.tag === 'trojan-in');
      expect(failed).toMatchObject({ ok: false, latency_ms: null, error: expect.any(String) });
      expect(await nodesInSub()).toEqual(['B']);
      expect(await healthOf('b')).toMatchObject({ state: 'healthy' });
      await check();
      await check();
      expect(webhooks.map((w) => [w.event, w.alert.node_id, w.alert.rule])).toEqual([['alert.fired', 'a', 'unreachable']]);
    });

    it('keeps a flapping node out, and brings it back after 2 good checks in a row, resolving the alert', async () => {
      for (const down of [false, true, false, true, false]) {
        aDown = down;
        await check();
        expect((await healthOf('a')).state).toBe('unhealthy');
      }
      expect(await nodesInSub()).toEqual(['B']);
      await check();
      expect(await healthOf('a')).toMatchObject({ state: 'healthy', since: null, good_checks: 2 });
      expect(await nodesInSub()).toEqual(['A', 'B']);
      expect(webhooks.map((w) => [w.event, w.alert.node_id, w.alert.rule])).toEqual([
        ['alert.fired', 'a', 'unreachable'],
        ['alert.resolved', 'a', 'unreachable'],
      ]);
    });
  });
}
