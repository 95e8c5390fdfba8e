// A user brought over from Marzban keeps working without touching their client: a hub imports the
// Marzban database of tests/support/marzban.ts, its reconciler puts the users on a real agent with
// real sing-box (a node tagged like the imported plans), and a sing-box client configured with the
// VLESS id straight from the Marzban row moves bytes through the node, billed to that user.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../agent-core/common/logger.js';
import { importMarzban } from '../../hub/import/marzban.js';
import { startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { downloadThroughProxy, startByteServer, type ByteServer } from '../support/byte-server.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { createMarzbanSchema, fillMarzban, MARZBAN } from '../support/marzban.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, makeUser, singboxNodePlugins, startClient, type SingboxClient } from '../support/singbox-peers.js';
import { until } from '../support/until.js';

const MB = 1024 * 1024;
const GIB = 1024 ** 3;

describe('a user imported from Marzban, on a real sing-box node', { timeout: 120_000 }, () => {
  const bin = singboxBin();
  let hub: TestHub;
  let work: string;
  let bytes: ByteServer;
  let agent: AgentProcess;
  let client: SingboxClient | undefined;

  const api = (method: 'GET' | 'POST', url: string, payload?: object) => ownerApi(hub, method, url, payload);

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-marzban-e2e-'));
    const from = path.join(work, 'db.sqlite3');
    const marzban = knexFactory({ client: 'better-sqlite3', connection: { filename: from }, useNullAsDefault: true });
    await createMarzbanSchema(marzban);
    await fillMarzban(marzban);
    await marzban.destroy();

    bytes = await startByteServer();
    hub = await startTestHub('sqlite', { config: { jobs_enabled: true, traffic_interval_s: 1, usage_rollup_interval_s: 1, quota_interval_s: 1, reconcile_interval_s: 1 } });
    // The scheduled jobs start when the hub listens.
    await hub.app.listen({ host: '127.0.0.1', port: 0 });
    const profile = await makeNodeProfile();
    const plugins = await singboxNodePlugins(bin, { clash: { sample_interval_s: 1 } });
    agent = await startAgentProcess({ nodeId: 'mz', configure: (config, dir) => void Object.assign(config.plugins, plugins(dir)) });
    await api('POST', '/api/v1/nodes', { enrollment: agent.enrollment, address: `localhost:${agent.port}`, tags: ['marzban'], multiplier: 1 });
    const version = await api('POST', '/api/v1/configs', { config: profile.baseConfig, comment: 'mz base' });
    await api('POST', `/api/v1/configs/${version.id}/apply`, { node_id: 'mz' });

    await importMarzban(hub.app.db, {
      from, dryRun: false, planMap: [], nodeTags: ['marzban'], now: Date.now(), logger: createLogger({ service: 'hub', level: 'error' }), progress: () => {},
    });
    await until('alice on mz', async () => {
      const node = await api('GET', '/api/v1/nodes/mz');
      if (node.desired_revision !== node.applied_revision || node.health !== 'online') return false;
      const { users } = await api('POST', '/api/v1/nodes/mz/commands/singbox-config.users.list', {});
      return (users as { name: string }[]).some((u) => u.name === 'alice');
    });
    // Her client as Marzban configured it: nothing from boxfleet but the node's address.
    client = await startClient(bin, work, profile, 'vless', makeUser('alice', { uuid: MARZBAN.uuid.alice }));
  });

  afterAll(async () => {
    await client?.stop();
    const status = await api('POST', '/api/v1/nodes/mz/commands/singbox-config.status', {}).catch(() => ({ pid: null }));
    await agent?.stop();
    if (status.pid) process.kill(status.pid, 'SIGTERM');
    await hub?.close();
    await bytes?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("moves bytes with the Marzban VLESS id, billed to the imported user on top of the traffic Marzban counted", async () => {
    const { received } = await downloadThroughProxy(client!.proxyPort, bytes.port, 1.5 * MB);
    expect(received).toBeGreaterThanOrEqual(1.5 * MB);
    const alice = (await hub.app.db('users').where({ name: 'alice' }).first()) as { id: number };
    const usage = await until('the usage of alice', async () => {
      const u = await api('GET', `/api/v1/usage?user_id=${alice.id}`);
      return u.totals.download_bytes >= received * 0.98 && u;
    });
    expect(Math.abs(usage.totals.download_bytes - received) / received).toBeLessThan(0.05);
    const subscription = await hub.app.db('subscriptions').where({ user_id: alice.id }).first();
    expect(Number(subscription.traffic_used_bytes) - 10 * GIB).toBeGreaterThanOrEqual(received * 0.98);
  });
});
