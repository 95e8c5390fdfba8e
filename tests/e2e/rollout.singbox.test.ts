// Staged rollouts on four real nodes: four agents, each with real sing-box, in network namespaces of
// their own (one config version is served by all four, so each needs its own addresses for the same
// ports), joined to the hub by a veth pair each. Every node's firewall (nftables in its namespace)
// lets in only the agent's port and the two proxy ports the fleet was set up with, as a cloud
// security group would. The hub's scheduled inbound check is off: the gate probes the inbounds itself.
//
// A good version passes all four stages; a version sing-box accepts but whose VLESS inbound moved to a
// port the firewall drops fails the gate at stage 1, and that node serves its previous version again
// within the gate's time while the three others never get it; a rollout aborted during stage 2
// rolls back the nodes of stages 1 and 2 and never reaches the last.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { singboxBin } from '../support/real-components.js';
import { makeNodeProfile, singboxNodePlugins, type NodeProfile } from '../support/singbox-peers.js';
import { until } from '../support/until.js';
import { probeInbound } from '../../hub/inbound-probe.js';

type Json = Record<string, any>;
const run = promisify(execFile);

const IDS = ['n1', 'n2', 'n3', 'n4'];
const [VLESS_PORT, SS_PORT, MOVED_PORT] = [20443, 20388, 20444];
const NET = '10.214';
const GATE = { soak_s: 1, timeout_s: 4, inbound_check: true };

const ns = (i: number) => `rollouts-${process.pid}-${i}`;
const hostDev = (i: number) => `rl${process.pid}${i}h`.slice(-15);
const nodeDev = (i: number) => `rl${process.pid}${i}n`.slice(-15);
const nodeIp = (i: number) => `${NET}.${i + 1}.2`;

describe('staged config rollout on four real nodes', { timeout: 90_000 }, () => {
  const bin = singboxBin();
  let hub: TestHub;
  const agents: AgentProcess[] = [];
  const versions = {} as Record<'base' | 'good' | 'bad' | 'next', { id: number; hash: string }>;
  let profile: NodeProfile;

  const api = (method: 'GET' | 'POST', url: string, payload?: object) => ownerApi(hub, method, url, payload);
  const rollout = (id: number) => api('GET', `/api/v1/rollouts/${id}`);
  const servedHash = async (id: string) => (await api('POST', `/api/v1/nodes/${id}/commands/singbox-config.status`, {})).config.hash as string;
  const history = async (id: string) => (await api('GET', `/api/v1/nodes/${id}/config/history`)).pushes as Json[];
  /** A TLS handshake with node i's VLESS port from the host, as a client makes it. */
  const vlessAnswers = async (i: number) => {
    const der = Buffer.from(profile.certificate.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const target = { tag: 'vless-in', host: nodeIp(i), port: VLESS_PORT, probe: 'tls' as const, serverName: 'node.boxfleet.test', certificateSha256: createHash('sha256').update(der).digest('hex') };
    return (await probeInbound(target, 2000)).ok;
  };

  async function sh(...args: string[]) {
    await run(args[0]!, args.slice(1));
  }

  async function makeNamespace(i: number) {
    await sh('ip', 'netns', 'add', ns(i));
    await sh('ip', 'link', 'add', hostDev(i), 'type', 'veth', 'peer', 'name', nodeDev(i), 'netns', ns(i));
    await sh('ip', 'addr', 'add', `${NET}.${i + 1}.1/24`, 'dev', hostDev(i));
    await sh('ip', 'link', 'set', hostDev(i), 'up');
    await sh('ip', '-n', ns(i), 'addr', 'add', `${nodeIp(i)}/24`, 'dev', nodeDev(i));
    await sh('ip', '-n', ns(i), 'link', 'set', nodeDev(i), 'up');
    await sh('ip', '-n', ns(i), 'link', 'set', 'lo', 'up');
  }

  /** From outside, only the agent's port and the fleet's two proxy ports reach the node. */
  async function closeFirewall(i: number, agentPort: number) {
    const rules = `table inet rollouts_e2e {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "${nodeDev(i)}" tcp dport { ${agentPort}, ${VLESS_PORT}, ${SS_PORT} } accept
    iifname "${nodeDev(i)}" meta l4proto tcp drop
  }
}`;
    const nft = run('ip', ['netns', 'exec', ns(i), 'nft', '-f', '-']);
    nft.child.stdin!.end(rules);
    await nft;
  }

  /** The fleet's base config with its inbounds on every address of the node, and `vless` as VLESS port. */
  function config(level: string, vless = VLESS_PORT) {
    const base = structuredClone(profile.baseConfig) as Json;
    base.log = { level };
    base.inbounds = (base.inbounds as Json[])
      .filter((i) => i.type !== 'hysteria2')
      .map((i) => ({ ...i, listen: '0.0.0.0', listen_port: i.type === 'vless' ? vless : SS_PORT }));
    return base;
  }

  async function saveVersion(name: keyof typeof versions, body: Json) {
    const { id, hash } = await api('POST', '/api/v1/configs', { config: body, comment: name });
    versions[name] = { id, hash };
  }

  async function startNode(i: number) {
    await makeNamespace(i);
    const plugins = await singboxNodePlugins(bin);
    const agent = await startAgentProcess({
      nodeId: IDS[i]!,
      netns: { name: ns(i), address: nodeIp(i) },
      configure: (agentConfig, dir) => Object.assign(agentConfig.plugins, plugins(dir)),
    });
    agents[i] = agent;
    await closeFirewall(i, agent.port);
    await api('POST', '/api/v1/nodes', { enrollment: agent.enrollment, name: IDS[i], address: `${nodeIp(i)}:${agent.port}`, public_host: nodeIp(i), tags: ['edge'], multiplier: 1 });
  }

  const waitFor = (id: number, statuses: string[], ms: number) =>
    until(`rollout ${id} ${statuses.join(' or ')}`, async () => {
      const r = await rollout(id);
      return statuses.includes(r.status) && r;
    }, ms);

  beforeAll(async () => {
    hub = await startTestHub('sqlite', {
      config: { jobs_enabled: true, rollouts_interval_s: 0.5, reconcile_interval_s: 1, inbound_check_interval_s: 0, inbound_check_timeout_s: 1 },
    });
    await hub.app.listen({ host: '127.0.0.1', port: 0 });
    profile = await makeNodeProfile();
    await Promise.all(IDS.map((_, i) => startNode(i)));
    await saveVersion('base', config('warn'));
    await saveVersion('good', config('error'));
    await saveVersion('bad', config('error', MOVED_PORT));
    await saveVersion('next', { ...config('error'), log: { level: 'error', timestamp: true } });
    await api('POST', `/api/v1/configs/${versions.base.id}/apply`, { tag: 'edge' });
    for (const id of IDS) expect(await servedHash(id)).toBe(versions.base.hash);
  });

  afterAll(async () => {
    for (const [i, agent] of agents.entries()) {
      if (!agent) continue;
      const status = await api('POST', `/api/v1/nodes/${IDS[i]}/commands/singbox-config.status`, {}).catch(() => ({ pid: null }));
      await agent.stop();
      if (status.pid) await sh('ip', 'netns', 'exec', ns(i), 'kill', String(status.pid)).catch(() => undefined);
    }
    await hub?.close();
    // Deleting a namespace takes its end of the veth pair, and with it the host's end.
    for (let i = 0; i < IDS.length; i++) await sh('ip', 'netns', 'del', ns(i)).catch(() => undefined);
  });

  it('takes a good version through every stage, one node after another', async () => {
    const created = await api('POST', '/api/v1/rollouts', { version: versions.good.id, target: { tags: ['edge'] }, stages: [1, '10%', '50%', '100%'], gate: GATE });
    expect(created).toMatchObject({ status: 'running', stages: [1, '10%', '50%', '100%'], gate: GATE });
    const done = await waitFor(created.id, ['succeeded', 'failed'], 40_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.stage_plan).toEqual([1, 2, 3, 4].map((stage) => ({ stage, nodes: 1, status: 'passed' })));
    expect(done.nodes.map((n: Json) => [n.node_id, n.stage, n.status, n.previous_version])).toEqual(IDS.map((id, i) => [id, i + 1, 'passed', versions.base.id]));
    for (const n of done.nodes) expect(n.checks).toMatchObject({ applied_version: versions.good.id, singbox: { running: true, hash: versions.good.hash }, failures: [] });
    for (const id of IDS) expect(await servedHash(id)).toBe(versions.good.hash);
    // Each node got the version only after the stage before had passed its gate.
    const applied = await Promise.all(IDS.map(async (id) => Date.parse((await history(id)).find((p) => p.version === versions.good.id)!.time)));
    const audit = (await api('GET', `/api/v1/audit?action=rollout&per_page=200`)).items as Json[];
    const mine = audit.filter((a) => a.target.startsWith(`rollout ${created.id} `)).reverse();
    expect(mine.map((a) => [a.action, a.target, a.result])).toEqual(
      [
        ['rollout.create', `rollout ${created.id} version ${versions.good.id}`, 'ok'],
        ...[1, 2, 3, 4].flatMap((s) => [['rollout.stage', `rollout ${created.id} stage ${s}`, 'ok'], ['rollout.gate', `rollout ${created.id} stage ${s}`, 'ok']]),
      ],
    );
    const passedAt = mine.filter((a) => a.action === 'rollout.gate').map((a) => Date.parse(a.time));
    for (let s = 1; s < 4; s++) expect(applied[s]).toBeGreaterThanOrEqual(passedAt[s - 1]!);
  });

  it('stops a version that fails the gate at stage 1 and puts that node back on its previous version; the others never get it', async () => {
    const started = Date.now();
    const created = await api('POST', '/api/v1/rollouts', { version: versions.bad.id, target: { tags: ['edge'] }, stages: [1, '10%', '50%', '100%'], gate: GATE });
    // sing-box takes the version: the node runs it, listening on the moved port.
    await until('n1 on the bad version', async () => (await servedHash('n1')) === versions.bad.hash, 10_000);
    const appliedMs = Date.now() - started;
    const failed = await waitFor(created.id, ['failed', 'succeeded'], (GATE.timeout_s + 10) * 1000);
    const n1 = failed.nodes.find((n: Json) => n.node_id === 'n1');
    expect(failed.status).toBe('failed');
    expect(failed.current_stage).toBe(1);
    expect(failed.error).toMatch(new RegExp(`^stage 1 gate failed: node n1: inbound vless-in ${nodeIp(0).replace(/\./g, '\\.')}:${MOVED_PORT}: no answer within 1000 ms`));
    expect(n1).toMatchObject({ status: 'rolled_back', previous_version: versions.good.id, error: expect.stringContaining(`inbound vless-in ${nodeIp(0)}:${MOVED_PORT}`) });
    expect(n1.checks.inbounds).toEqual(expect.arrayContaining([expect.objectContaining({ tag: 'vless-in', port: MOVED_PORT, ok: false }), expect.objectContaining({ tag: 'ss-in', ok: true })]));
    // n1 serves the good version again (sing-box says so, and clients reach its VLESS port) within the gate's time.
    expect(await servedHash('n1')).toBe(versions.good.hash);
    expect(await vlessAnswers(0)).toBe(true);
    const backMs = Date.now() - started;
    // The floor: the gate's timeout plus the time one push took in this run (the bad version's, to n1).
    console.log(JSON.stringify({ metric: 'rollout_bad_version_back_to_previous_ms', value: backMs, gate_timeout_s: GATE.timeout_s, first_push_ms: appliedMs, bound_ms: (GATE.timeout_s + 6) * 1000 }));
    expect(backMs).toBeLessThanOrEqual((GATE.timeout_s + 6) * 1000);
    expect(failed.stage_plan.map((s: Json) => s.status)).toEqual(['rolled_back', 'pending', 'pending', 'pending']);
    for (const id of ['n2', 'n3', 'n4']) {
      expect(failed.nodes.find((n: Json) => n.node_id === id).status).toBe('pending');
      expect((await history(id)).some((p) => p.version === versions.bad.id)).toBe(false);
      expect(await servedHash(id)).toBe(versions.good.hash);
    }
    const audit = ((await api('GET', `/api/v1/audit?action=rollout&per_page=200`)).items as Json[]).filter((a) => a.target.startsWith(`rollout ${created.id} `));
    expect(audit.map((a) => [a.action, a.result]).reverse()).toEqual([['rollout.create', 'ok'], ['rollout.stage', 'ok'], ['rollout.gate', 'error'], ['rollout.rollback', 'ok']]);
  });

  it('rolls back stages 1 and 2 when aborted during stage 2', async () => {
    const created = await api('POST', '/api/v1/rollouts', { version: versions.next.id, target: { all: true }, stages: [1, 2, '100%'], gate: { ...GATE, soak_s: 3 } });
    await until('stage 2 applied', async () => {
      const r = await rollout(created.id);
      return r.current_stage === 2 && r.nodes.find((n: Json) => n.node_id === 'n2').status === 'applied';
    }, 20_000);
    expect(await servedHash('n2')).toBe(versions.next.hash);
    const aborting = await api('POST', `/api/v1/rollouts/${created.id}/abort`);
    expect(aborting).toMatchObject({ status: 'rolling_back', error: 'aborted by test-owner' });
    const aborted = await waitFor(created.id, ['aborted'], 15_000);
    expect(aborted.nodes.map((n: Json) => [n.node_id, n.stage, n.status])).toEqual([
      ['n1', 1, 'rolled_back'],
      ['n2', 2, 'rolled_back'],
      ['n3', 3, 'pending'],
      ['n4', 3, 'pending'],
    ]);
    for (const id of IDS) expect(await servedHash(id)).toBe(versions.good.hash);
    for (const id of ['n3', 'n4']) expect((await history(id)).some((p) => p.version === versions.next.id)).toBe(false);
    for (const id of ['n1', 'n2']) expect((await history(id))[0]).toMatchObject({ version: versions.good.id, action: 'rollback', applied: true });
    // A finished rollout cannot be resumed or aborted again.
    const again = await hub.app.inject({ method: 'POST', url: `/api/v1/rollouts/${created.id}/resume`, headers: hub.auth });
    expect(again.statusCode).toBe(409);
  });
});
