// The setting of the network fault tests: a hub (in this process, its jobs on at short intervals)
// and one node in a network namespace of its own (the built agent, a real sing-box under it),
// joined by a veth pair the test can cut or spoil; users with plans on the hub, real sing-box
// clients reaching the node over the veth, and a byte server on the hub's side of it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import { clientFromEnrollment, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { downloadThroughProxy, DownloadError, startByteServer, type ByteServer } from '../support/byte-server.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { createNodeNetwork, type NodeNetwork } from '../support/netns.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, singboxNodePlugins, startClient, type NodeProfile, type SingboxClient, type TestUser } from '../support/singbox-peers.js';
import { until } from '../support/until.js';

export const MB = 1024 * 1024;
export const NODE_ID = 'edge';

/** A fault window's length: 120 s as operators meet them; BOXFLEET_FAULT_WINDOW_S shortens it while working on a test. */
export const WINDOW_MS = Number(process.env.BOXFLEET_FAULT_WINDOW_S ?? 120) * 1000;

export interface HubUser {
  id: number;
  subscription: number;
  sync: TestUser;
}

/**
 * Downloads through one client until stopped, a pause between downloads (a steady user, not a
 * flood: the machine's cores are shared); counts every byte that crossed it.
 */
export class TrafficLoop {
  moved = 0;
  downloads = 0;
  failures = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(client: SingboxClient, bytes: ByteServer, host: string, size = MB, pauseMs = 200) {
    this.done = (async () => {
      while (!this.stopped) {
        try {
          const d = await downloadThroughProxy(client.proxyPort, bytes.port, size, 20_000, host);
          this.moved += d.received + d.sent;
          this.downloads += 1;
          await new Promise((r) => setTimeout(r, pauseMs));
        } catch (error) {
          if (!(error instanceof DownloadError)) throw error;
          this.moved += error.received;
          this.failures += 1;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

export interface NamespacedNode {
  hub: TestHub;
  net: NodeNetwork;
  agent: AgentProcess;
  /** The test's own line to the agent (over the veth: a partition cuts it too). */
  node: AgentClient;
  profile: NodeProfile;
  bytes: ByteServer;
  bin: string;
  api: (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => Promise<any>;
  /** Deletes a user on the hub (its node loses it with the next users.sync). */
  deleteUser(user: HubUser): Promise<void>;
  /** A user on the hub with a subscription to `planId`. */
  addUser(name: string, planId: number): Promise<HubUser>;
  plan(name: string, trafficLimitBytes: number): Promise<number>;
  client(user: HubUser): Promise<SingboxClient>;
  /** Whether the node applied the hub's desired users revision and config version. */
  settled(): Promise<boolean>;
  usersOnNode(): Promise<string[]>;
  /** The hub's bill so far for a subscription (multiplier 1). */
  billed(user: HubUser): Promise<number>;
  /** Waits until the hub has billed every ledger entry the node holds now. */
  drained(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface NamespacedNodeOptions {
  label: string;
  subnet: number;
  /** singbox-config settings added to the node's. */
  singbox?: Record<string, unknown>;
  /**
   * Serve only a managed Shadowsocks inbound: users come and go through sing-box's SSM API without
   * a reload (a reload loses the bytes connections move while it happens: see README).
   */
  managedOnly?: boolean;
  /** The address the hub reaches the agent at, from its enrollment's (e.g. a proxy in front of it). */
  hubAddress?: (agentAddress: string) => Promise<string>;
}

export async function startNamespacedNode(options: NamespacedNodeOptions): Promise<NamespacedNode> {
  const bin = singboxBin();
  const work = await mkdtemp(path.join(os.tmpdir(), `faultsnet-${options.label}-`));
  const net = await createNodeNetwork(options.label, options.subnet);
  const clients: SingboxClient[] = [];
  let hub: TestHub | undefined;
  let agent: AgentProcess | undefined;
  let bytes: ByteServer | undefined;
  const close = async () => {
    // A test that failed mid-fault leaves it in place: lift it first, so that nothing waits on it.
    await net.heal().catch(() => undefined);
    await Promise.all(clients.map((c) => c.stop()));
    // The node's processes go first (SIGKILL, with the namespace), so that the hub's calls to it end
    // at once instead of holding the hub's close until their deadlines.
    await net.close();
    await hub?.close();
    await agent?.stop();
    await bytes?.close();
    await rm(work, { recursive: true, force: true });
  };
  try {
    bytes = await startByteServer({ host: net.hostAddress });
    // Short job intervals, so that what the fault held back shows within seconds of its end.
    hub = await startTestHub('sqlite', {
      config: { jobs_enabled: true, traffic_interval_s: 2, reconcile_interval_s: 1, quota_interval_s: 2, usage_rollup_interval_s: 1, node_status_interval_s: 5 },
    });
    // The scheduler runs while the hub listens, as in production.
    await hub.app.listen({ host: '127.0.0.1', port: 0 });
    const api = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => ownerApi(hub!, method, url, payload);
    const profile = await makeNodeProfile({ host: net.nodeAddress, managedShadowsocks: options.managedOnly });
    const inbounds = (profile.baseConfig.inbounds as { managed?: boolean }[]).filter((i) => !options.managedOnly || i.managed);
    const protocol = options.managedOnly ? 'shadowsocks-managed' : 'vless';
    const plugins = await singboxNodePlugins(bin, { singbox: { limit_check_s: 1, ...options.singbox }, clash: { sample_interval_s: 1 } });
    agent = await startAgentProcess({
      nodeId: NODE_ID,
      netns: { name: net.name, address: net.nodeAddress },
      configure: (config, dir) => {
        // Warnings on stdout: the test reads the node's own account of what it did alone.
        config.log = { level: 'warn' };
        Object.assign(config.plugins, plugins(dir));
      },
    });
    const node = await clientFromEnrollment(agent.enrollment);
    const address = `${net.nodeAddress}:${agent.port}`;
    const hubAddress = options.hubAddress ? await options.hubAddress(address) : address;
    await api('POST', '/api/v1/nodes', { enrollment: agent.enrollment.replace(address, hubAddress), tags: [NODE_ID], multiplier: 1 });
    const version = await api('POST', '/api/v1/configs', { config: { ...profile.baseConfig, inbounds }, comment: 'edge base' });
    await api('POST', `/api/v1/configs/${version.id}/apply`, { node_id: NODE_ID });

    const call = async <T>(command: string, input: unknown = {}) => (await node.execute(command, input, { timeoutMs: 30_000 })).result as T;
    const usersOnNode = async () => (await call<{ users: { name: string }[] }>('singbox-config.users.list')).users.map((u) => u.name).sort();
    return {
      hub,
      net,
      agent,
      node,
      profile,
      bytes,
      bin,
      api,
      async plan(name, trafficLimitBytes) {
        const plan = await api('POST', '/api/v1/plans', { name, traffic_limit_bytes: trafficLimitBytes, duration_days: 30, price: 1, is_enabled: true, node_tags: [NODE_ID], reset_policy: 'none' });
        return plan.id as number;
      },
      async addUser(name, planId) {
        const id = (await api('POST', '/api/v1/users', { name, note: 'fault' })).id as number;
        const credentials = await api('GET', `/api/v1/users/${id}/credentials`);
        const subscription = (await api('POST', '/api/v1/subscriptions', { user_id: id, plan_id: planId })).id as number;
        return { id, subscription, sync: { name, flow: '', remaining_bytes: null, expires_at: null, ...credentials } };
      },
      async deleteUser(user) {
        const res = await hub!.app.inject({ method: 'DELETE', url: `/api/v1/users/${user.id}`, headers: hub!.auth });
        if (res.statusCode >= 400) throw new Error(`DELETE user ${user.id} → ${res.statusCode} ${res.body}`);
      },
      async client(user) {
        const c = await startClient(bin, work, profile, protocol, user.sync);
        clients.push(c);
        return c;
      },
      async settled() {
        const n = await api('GET', `/api/v1/nodes/${NODE_ID}`);
        return n.desired_revision === n.applied_revision && n.desired_config_version === n.applied_config_version;
      },
      usersOnNode,
      async billed(user) {
        return (await api('GET', `/api/v1/subscriptions/${user.subscription}`)).traffic_used_bytes as number;
      },
      async drained(timeoutMs = 60_000) {
        await call('clash-stats.traffic.sample');
        const { head_seq } = await call<{ head_seq: number }>('clash-stats.traffic.position');
        await until(`the hub billing the ledger up to ${head_seq}`, async () => Number((await hub!.app.db('nodes').where({ id: NODE_ID }).first('ledger_seq')).ledger_seq) >= head_seq, timeoutMs);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
