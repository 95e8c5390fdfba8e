// One node as the host fault tests need it: a hub (SQLite or MariaDB, jobs run by the test), the
// built agent with singbox-config and clash-stats supervising a real sing-box, enrolled on the hub,
// with a base config applied and users on a plan through the API, and real sing-box clients moving
// bytes through it. `moved` counts what the clients moved (requests and answers), `billed` what
// the hub charged to the subscriptions, so a test compares the two.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AgentClient } from '../../agent-core/common/agent-client.js';
import { clientFromEnrollment, startAgentProcess, type AgentOptions, type AgentProcess } from './agent-process.js';
import { downloadThroughProxy, DownloadError, startByteServer, type ByteServer } from './byte-server.js';
import { ownerApi, startTestHub, type DatabaseKind, type TestHub, type TestHubOptions } from './hub.js';
import { singboxBin } from './real-components.js';
import { makeNodeProfile, singboxNodePlugins, startClient, type NodeProfile, type SingboxClient, type TestUser } from './singbox-peers.js';
import { until } from './until.js';

export interface FaultNodeOptions {
  database: DatabaseKind;
  hub?: TestHubOptions['config'];
  users: string[];
  singbox?: Record<string, unknown>;
  clash?: Record<string, unknown>;
  /** Edits agent.yaml further, and may set the agent's environment. */
  configure?: AgentOptions['configure'];
  env?: NodeJS.ProcessEnv;
}

export interface FaultNode {
  hub: TestHub;
  agent: AgentProcess;
  node: AgentClient;
  profile: NodeProfile;
  bin: string;
  api(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object): Promise<any>;
  call<T>(command: string, input?: unknown): Promise<T>;
  addUser(name: string): Promise<void>;
  /** A download of `bytes` as `user` on a new connection; counts what moved, false when refused. */
  download(user: string, bytes: number): Promise<boolean>;
  moved(user: string): number;
  /** Bytes the hub billed to the user's subscription. */
  billed(user: string): Promise<number>;
  close(): Promise<void>;
}

const NODE_ID = 'fault';

export async function startFaultNode(options: FaultNodeOptions): Promise<FaultNode> {
  const bin = singboxBin();
  const work = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-fault-'));
  const bytes: ByteServer = await startByteServer();
  const hub = await startTestHub(options.database, { config: { usage_rollup_interval_s: 1, ...options.hub } });
  const profile = await makeNodeProfile();
  const plugins = await singboxNodePlugins(bin, { singbox: options.singbox, clash: { sample_interval_s: 1, ...options.clash } });
  const agent = await startAgentProcess({
    nodeId: NODE_ID,
    env: options.env,
    configure: (config, dir) => {
      Object.assign(config.plugins, plugins(dir));
      options.configure?.(config, dir);
    },
  });
  const node = await clientFromEnrollment(agent.enrollment);
  const clients = new Map<string, SingboxClient>();
  const users = new Map<string, { subscription: number; sync: TestUser }>();
  const moved = new Map<string, number>();
  const api = (method: Parameters<FaultNode['api']>[0], url: string, payload?: object) => ownerApi(hub, method, url, payload);
  const call = async <T>(command: string, input: unknown = {}) => (await node.execute(command, input, { timeoutMs: 30_000 })).result as T;

  await api('POST', '/api/v1/nodes', { enrollment: agent.enrollment, tags: ['fault'], multiplier: 1 });
  const version = await api('POST', '/api/v1/configs', { config: profile.baseConfig, comment: 'fault base' });
  await api('POST', `/api/v1/configs/${version.id}/apply`, { node_id: NODE_ID });
  const plan = await api('POST', '/api/v1/plans', {
    name: 'fault plan',
    traffic_limit_bytes: 10 * 1024 ** 3,
    duration_days: 30,
    price: 1,
    is_enabled: true,
    node_tags: ['fault'],
    reset_policy: 'none',
  });

  const addUser = async (name: string) => {
    const id = (await api('POST', '/api/v1/users', { name, note: 'fault' })).id as number;
    const credentials = await api('GET', `/api/v1/users/${id}/credentials`);
    const subscription = (await api('POST', '/api/v1/subscriptions', { user_id: id, plan_id: plan.id })).id as number;
    users.set(name, { subscription, sync: { name, flow: '', remaining_bytes: null, expires_at: null, ...credentials } });
  };
  for (const name of options.users) await addUser(name);
  await hub.app.jobs.run('reconcile');
  await until('the users on the node', async () => {
    const listed = (await call<{ users: { name: string }[] }>('singbox-config.users.list')).users.map((u) => u.name);
    return options.users.every((n) => listed.includes(n));
  });

  const clientOf = async (name: string) => {
    let client = clients.get(name);
    if (!client) {
      client = await startClient(bin, work, profile, 'vless', users.get(name)!.sync);
      clients.set(name, client);
    }
    return client;
  };

  return {
    hub,
    agent,
    node,
    profile,
    bin,
    api,
    call,
    addUser,
    async download(user, size) {
      const client = await clientOf(user);
      const count = (n: number) => moved.set(user, (moved.get(user) ?? 0) + n);
      try {
        const d = await downloadThroughProxy(client.proxyPort, bytes.port, size, 20_000);
        count(d.received + d.sent);
        return true;
      } catch (error) {
        if (!(error instanceof DownloadError)) throw error;
        count(error.received);
        return false;
      }
    },
    moved: (user) => moved.get(user) ?? 0,
    async billed(user) {
      return (await api('GET', `/api/v1/subscriptions/${users.get(user)!.subscription}`)).traffic_used_bytes as number;
    },
    async close() {
      await Promise.all([...clients.values()].map((c) => c.stop()));
      const status = await call<{ pid: number | null }>('singbox-config.status').catch(() => ({ pid: null }));
      node.close();
      await agent.stop();
      if (status.pid) process.kill(status.pid, 'SIGTERM');
      await hub.close();
      await bytes.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}
