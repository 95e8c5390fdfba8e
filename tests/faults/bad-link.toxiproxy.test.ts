// A bad link between hub and node for two minutes: 30 % of the packets to and from the agent's
// port dropped by nftables in the node's namespace, and, through Toxiproxy on the hub → agent
// path, 500 ms of latency, 16 KB/s each way and, twice, connections that stall until Toxiproxy
// closes them. Meanwhile users come and go on the hub (a users.sync burst) and a real client keeps
// downloading. Commands must fail cleanly (a timeout, not a 500) and be retried by the jobs; the
// node must take the users revisions in order; every byte must be billed once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFault } from '../support/fault-table.js';
import { startToxiproxy, type Toxiproxy } from '../support/toxiproxy.js';
import { until } from '../support/until.js';
import { NODE_ID, startNamespacedNode, TrafficLoop, WINDOW_MS, type HubUser, type NamespacedNode } from './namespaced-node.js';

const LOSS_TABLE = 'faultsnet_loss';
/** From the link healing to the node serving the hub's users: a reconnect and a few job intervals, not a backoff. */
const RECOVERY_GOAL_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a lossy, slow, stalling link between hub and agent', { timeout: 300_000 }, () => {
  let n: NamespacedNode;
  let proxy: Toxiproxy | undefined;
  let plan: number;
  const users = new Map<string, HubUser>();

  beforeAll(async () => {
    n = await startNamespacedNode({
      label: 'link',
      managedOnly: true,
      subnet: 100 + ((process.pid + 50) % 100),
      hubAddress: async (agentAddress) => (proxy = await startToxiproxy(agentAddress)).listen,
    });
    plan = await n.plan('roomy', 100 * 1024 ** 3);
    users.set('alice', await n.addUser('alice', plan));
    await until('alice on the node', async () => (await n.settled()) && (await n.usersOnNode()).join() === 'alice', 60_000);
  });

  afterAll(async () => {
    await n?.close();
    await proxy?.close();
  });

  it('retries timed-out commands, applies users revisions in order and bills every byte once', async () => {
    const alice = users.get('alice')!;
    const billedBefore = await n.billed(alice);
    const firstAudit = Number((await n.hub.app.db('audit_log').max('id as id').first())?.id ?? 0);
    const port = n.agent.port;

    await n.net.nft(`table inet ${LOSS_TABLE} {
      chain in { type filter hook input priority 0; tcp dport ${port} numgen random mod 100 < 30 drop; }
      chain out { type filter hook output priority 0; tcp sport ${port} numgen random mod 100 < 30 drop; }
    }`);
    await proxy!.add({ name: 'latency', type: 'latency', stream: 'upstream', attributes: { latency: 500, jitter: 0 } });
    for (const stream of ['upstream', 'downstream'] as const) await proxy!.add({ name: `bandwidth-${stream}`, type: 'bandwidth', stream, attributes: { rate: 16 } });
    const started = Date.now();
    const traffic = new TrafficLoop(await n.client(alice), n.bytes, n.net.hostAddress);

    // What the hub recorded as applied, and what the node said it runs, sampled all along.
    const hubApplied: number[] = [];
    const nodeRevisions: number[] = [];
    const commandStatuses = new Map<number, number>();
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling; i++) {
        hubApplied.push(Number((await n.hub.app.db('nodes').where({ id: NODE_ID }).first('applied_revision')).applied_revision));
        if (i % 3 === 0) {
          const res = await n.hub.app.inject({ method: 'POST', url: `/api/v1/nodes/${NODE_ID}/commands/singbox-config.status`, headers: n.hub.auth, payload: {} });
          commandStatuses.set(res.statusCode, (commandStatuses.get(res.statusCode) ?? 0) + 1);
          if (res.statusCode === 200) nodeRevisions.push(res.json().users.revision);
        }
        await sleep(1000);
      }
    })();

    // Twice in the window, every connection stalls until Toxiproxy closes it 8 s later.
    const stalls = (async () => {
      for (const at of [0.25, 0.6]) {
        await sleep(Math.max(0, started + at * WINDOW_MS - Date.now()));
        await proxy!.add({ name: 'stall', type: 'timeout', stream: 'upstream', attributes: { timeout: 8000 } });
        await sleep(15_000);
        await proxy!.remove('stall');
      }
    })();

    // The users.sync burst: a user added every 3 s, every third one removed again.
    let added = 0;
    while (Date.now() - started < WINDOW_MS - 3000) {
      const user = await n.addUser(`u${++added}`, plan);
      users.set(user.sync.name, user);
      if (added % 3 === 0) {
        const gone = `u${added - 1}`;
        await n.deleteUser(users.get(gone)!);
        users.delete(gone);
      }
      await sleep(3000);
    }
    await stalls;
    await sleep(Math.max(0, started + WINDOW_MS - Date.now()));
    const windowS = (Date.now() - started) / 1000;

    await n.net.heal();
    for (const name of ['latency', 'bandwidth-upstream', 'bandwidth-downstream']) await proxy!.remove(name);
    const healedAt = Date.now();
    const expected = [...users.keys()].sort().join();
    await until(`the node running the hub’s users within ${RECOVERY_GOAL_MS / 1000} s of healing`, async () => (await n.settled()) && (await n.usersOnNode()).join() === expected, RECOVERY_GOAL_MS);
    const recoveredS = (Date.now() - healedAt) / 1000;
    sampling = false;
    await sampler;
    await traffic.stop();
    await n.drained();
    const billed = (await n.billed(alice)) - billedBefore;

    // Commands timed out cleanly: the API answered with the agent's timeout or unreachability, never a 500.
    expect([...commandStatuses.keys()].filter((s) => ![200, 502, 504].includes(s))).toEqual([]);
    // The jobs retried: pushes failed on the bad link, and later ones got through.
    const syncs = await n.hub.app.db('audit_log').where('id', '>', firstAudit).andWhere({ action: 'node.users.sync', target: NODE_ID }).orderBy('id').select('input', 'result', 'error');
    const failed = syncs.filter((s) => s.result !== 'ok');
    const applied = syncs.filter((s) => s.result === 'ok').map((s) => JSON.parse(s.input).revision as number);
    expect(failed.length).toBeGreaterThan(0);
    // Each failure is the link's (a deadline passed, a connection dropped or not made), as the hub
    // tells an agent's error apart from its own.
    const linkError = new RegExp(`^node ${NODE_ID}: (.*(deadline|timed out|timeout)|Connection dropped|No connection established|.*(ECONNRESET|socket disconnected))`, 'i');
    expect(failed.map((s) => s.error as string).filter((e) => !linkError.test(e))).toEqual([]);
    // In order: each revision the node accepted is newer than the one before; neither the hub's
    // record nor the node's own revision ever went back.
    expect(applied.length).toBeGreaterThan(1);
    expect(applied.every((r, i) => i === 0 || r > applied[i - 1]!)).toBe(true);
    expect(hubApplied.every((r, i) => i === 0 || r >= hubApplied[i - 1]!)).toBe(true);
    expect(nodeRevisions.every((r, i) => i === 0 || r >= nodeRevisions[i - 1]!)).toBe(true);
    expect(applied.at(-1)).toBe((await n.api('GET', `/api/v1/nodes/${NODE_ID}`)).desired_revision);
    // Billed once (recordFault checks it): no drain, re-sent after a lost answer or ack, counted twice.
    recordFault({
      fault: `bad link hub → agent: 30 % loss (nftables), 500 ms, 16 KB/s, 2 stalls (Toxiproxy), ${windowS.toFixed(0)} s`,
      checked: `${added} users added, ${Math.floor(added / 3)} removed: ${failed.length} pushes timed out and were retried, ${applied.length} revisions applied in order; billed once`,
      movedBytes: traffic.moved,
      billedBytes: billed,
      outcome: `recovered in ${recoveredS.toFixed(1)} s`,
    });
  });
});
