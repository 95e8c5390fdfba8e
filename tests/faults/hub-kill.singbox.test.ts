// The hub killed with SIGKILL mid-work: once while a burst of new users is being pushed to the
// nodes (users.sync), once while a config version is being applied to a tag. Two nodes, each in a
// network namespace of its own (the same config serves both, ports and all), run the built agent
// and a real sing-box. After the hub starts again on the same data, every node must reach the
// desired users revision and config version, and serve exactly that: its sing-box listening on
// what the desired config says, its users the hub's, nothing half applied.
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import { clientFromEnrollment, freePort, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { recordFault } from '../support/fault-table.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';
import { createNodeNetwork, type NodeNetwork } from '../support/netns.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, singboxNodePlugins, type NodeProfile } from '../support/singbox-peers.js';
import { until } from '../support/until.js';

const TAG = 'fleet';
const NODES = ['ka', 'kb'] as const;

interface Node {
  net: NodeNetwork;
  agent: AgentProcess;
  client: AgentClient;
}

type Status = { running: boolean; config: { hash: string | null }; users: { revision: number | null }; last_apply: { ok: boolean } | null };

describe('hub killed with kill -9 mid-work', { timeout: 240_000 }, () => {
  const bin = singboxBin();
  let hub: HubProcess;
  let profile: NodeProfile;
  let plan: number;
  const nodes = new Map<string, Node>();

  const call = async <T>(id: string, command: string) => (await nodes.get(id)!.client.execute(command, {}, { timeoutMs: 30_000 })).result as T;
  /** The users the hub serves: every user whose subscription is active. */
  const hubUsers = async () => {
    const names: string[] = [];
    for (let page = 1; ; page++) {
      const { items } = (await hub.api('GET', `/api/v1/users?status=active&per_page=100&page=${page}`)) as { items: { name: string }[] };
      names.push(...items.map((u) => u.name));
      if (items.length < 100) return names.sort().join();
    }
  };
  const nodeUsers = async (id: string) => (await call<{ users: { name: string }[] }>(id, 'singbox-config.users.list')).users.map((u) => u.name).sort().join();
  const settled = async (id: string) => {
    const n = await hub.api('GET', `/api/v1/nodes/${id}`);
    return n.desired_revision === n.applied_revision && n.desired_config_version === n.applied_config_version && n;
  };
  /** Every node settled on the hub and serving the hub's users; how long that took. */
  async function converged(): Promise<number> {
    const started = Date.now();
    const want = await hubUsers();
    for (const id of NODES) await until(`${id} serving the hub's users`, async () => (await settled(id)) && (await nodeUsers(id)) === want, 90_000);
    return (Date.now() - started) / 1000;
  }

  async function addUser(name: string): Promise<void> {
    const id = (await hub.api('POST', '/api/v1/users', { name, note: 'kill' })).id as number;
    await hub.api('POST', '/api/v1/subscriptions', { user_id: id, plan_id: plan });
  }

  beforeAll(async () => {
    hub = await startHubProcess({ BOXFLEET_RECONCILE_INTERVAL_S: '1', BOXFLEET_TRAFFIC_INTERVAL_S: '5', BOXFLEET_LIVE_INTERVAL_S: '5' });
    // One config for the tag: each node listens on every address of its own namespace.
    profile = await makeNodeProfile({ host: '0.0.0.0' });
    for (const [i, id] of NODES.entries()) {
      const network = await createNodeNetwork(id, 150 + ((process.pid + i) % 50));
      const plugins = await singboxNodePlugins(bin, { clash: { sample_interval_s: 1 } });
      const agent = await startAgentProcess({
        nodeId: id,
        netns: { name: network.name, address: network.nodeAddress },
        configure: (config, dir) => {
          Object.assign(config.plugins, plugins(dir));
        },
      }).catch(async (error: unknown) => {
        await network.close();
        throw error;
      });
      nodes.set(id, { net: network, agent, client: await clientFromEnrollment(agent.enrollment) });
      await hub.api('POST', '/api/v1/nodes', { enrollment: agent.enrollment, tags: [TAG], multiplier: 1 });
    }
    const version = await hub.api('POST', '/api/v1/configs', { config: profile.baseConfig, comment: 'fleet base' });
    await hub.api('POST', `/api/v1/configs/${version.id}/apply`, { tag: TAG });
    plan = (await hub.api('POST', '/api/v1/plans', { name: 'fleet', traffic_limit_bytes: 2 ** 40, duration_days: 30, price: 1, is_enabled: true, node_tags: [TAG], reset_policy: 'none' })).id;
    await addUser('first');
    await converged();
  });

  afterAll(async () => {
    for (const n of nodes.values()) {
      n.client.close();
      await n.agent.stop();
      await n.net.close();
    }
    await hub?.stop();
  });

  it('brings every node to the desired users after a kill during a users.sync burst', async () => {
    const before = await hub.api('GET', `/api/v1/nodes/${NODES[0]}`);
    let created = 0;
    let killed = false;
    // Four at a time, as an import would: each new subscription is a new revision for both nodes.
    const burst = Array.from({ length: 4 }, async (_, lane) => {
      for (let i = 0; !killed; i++) {
        await addUser(`b${lane}x${i}`).then(
          () => (created += 1),
          (error: Error) => {
            if (!killed) throw error;
          },
        );
      }
    });
    await until('a dozen users created and pushes under way', async () => created >= 12 && (await hub.api('GET', `/api/v1/nodes/${NODES[0]}`)).applied_revision > before.applied_revision);
    killed = true;
    await hub.kill9();
    await Promise.all(burst);
    const desired = await hubUsers().catch(() => undefined);
    expect(desired).toBeUndefined(); // the hub is gone, not just slow

    const restartedAt = Date.now();
    await hub.restart();
    await converged();
    const recoveredS = (Date.now() - restartedAt) / 1000;
    for (const id of NODES) {
      const status = await call<Status>(id, 'singbox-config.status');
      const n = await hub.api('GET', `/api/v1/nodes/${id}`);
      expect(status).toMatchObject({ running: true, users: { revision: n.applied_revision }, last_apply: { ok: true } });
    }
    const served = (await hubUsers()).split(',').length;
    expect(served).toBeGreaterThanOrEqual(13);
    recordFault({
      fault: `hub kill -9 during a users.sync burst (${created} users created, 4 at a time)`,
      checked: `both nodes at the desired revision, serving the hub's ${served} users; sing-box running`,
      outcome: `recovered in ${recoveredS.toFixed(1)} s after restart`,
    });
  });

  it('leaves no node half applied after a kill during a config apply to a tag', async () => {
    // The new version adds an inbound: a node serves it only if its sing-box runs the new config.
    const extraPort = await freePort();
    const config = structuredClone(profile.baseConfig) as { inbounds: Record<string, unknown>[] };
    config.inbounds.push({ ...config.inbounds[0]!, tag: 'vless-extra', listen_port: extraPort });
    const version = await hub.api('POST', '/api/v1/configs', { config, comment: 'extra inbound' });

    // Killed as soon as the first node has applied it: the other is mid-apply or not yet begun.
    let firstApplied!: () => void;
    const applied = new Promise<void>((resolve) => (firstApplied = resolve));
    const stops = NODES.map((id) => nodes.get(id)!.client.watch(['singbox-config.config.applied'], () => firstApplied(), () => {}));
    const apply = hub.api('POST', `/api/v1/configs/${version.id}/apply`, { tag: TAG }).then(
      () => 'answered',
      () => 'cut off',
    );
    await applied;
    await hub.kill9();
    stops.forEach((stop) => stop());
    expect(await apply).toBe('cut off');

    const restartedAt = Date.now();
    await hub.restart();
    await converged();
    const recoveredS = (Date.now() - restartedAt) / 1000;
    for (const id of NODES) {
      const n = await hub.api('GET', `/api/v1/nodes/${id}`);
      expect(n).toMatchObject({ desired_config_version: version.id, applied_config_version: version.id });
      // The node serves the whole desired config: its base hash, every inbound in the file sing-box
      // runs, and sing-box listening on the new one.
      const status = await call<Status>(id, 'singbox-config.status');
      expect(status).toMatchObject({ running: true, config: { hash: version.hash }, last_apply: { ok: true } });
      const node = nodes.get(id)!;
      const file = JSON.parse(await readFile(path.join(node.agent.dir, 'sing-box', 'config.json'), 'utf8')) as { inbounds: { tag: string; listen_port: number }[] };
      expect(file.inbounds.map((i) => [i.tag, i.listen_port])).toEqual(config.inbounds.map((i) => [i.tag, i.listen_port]));
      const listening = await new Promise<boolean>((resolve) => {
        const socket = net.connect(extraPort, node.net.nodeAddress, () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      });
      expect(listening).toBe(true);
    }
    recordFault({
      fault: 'hub kill -9 during a config apply to a tag (2 nodes)',
      checked: "both nodes at the desired version; sing-box's served file and listeners are that version's, users intact",
      outcome: `recovered in ${recoveredS.toFixed(1)} s after restart`,
    });
  });
});
