// A partition between hub and node for two minutes: nftables inside the node's namespace drops
// every packet to and from the agent's port, as a broken route between hub and node would, while
// users still reach sing-box. Meanwhile a real client keeps downloading, the hub gains a user and
// loses one, and a user with a small plan runs past it after the agent counts the hub as away.
// After the partition: the node has the hub's users, every byte moved is billed once, and the
// user past her plan was cut off by the node alone, as degraded mode says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadThroughProxy, DownloadError } from '../support/byte-server.js';
import { recordFault } from '../support/fault-table.js';
import { until } from '../support/until.js';
import { MB, NODE_ID, startNamespacedNode, TrafficLoop, WINDOW_MS, type HubUser, type NamespacedNode } from './namespaced-node.js';

/** The agent counts the hub as away after this (600 s by default; shortened so the window passes it). */
const DEGRADED_AFTER_S = 15;
const CUT_TABLE = 'faultsnet_cut';
/**
 * From the link healing to the node serving the hub's users. After two minutes of dropped packets,
 * the hub's connection comes back with TCP's retransmission backoff or gRPC's reconnect (measured
 * up to 64 s), then within a job interval (traffic 2 s, reconcile 1 s); a backoff the reconciler
 * grew meanwhile must not add to it.
 */
const RECOVERY_GOAL_MS = 90_000;

describe('partition between hub and agent', { timeout: 300_000 }, () => {
  let n: NamespacedNode;
  const users: Record<string, HubUser> = {};

  beforeAll(async () => {
    n = await startNamespacedNode({ label: 'part', subnet: 100 + (process.pid % 100), singbox: { degraded_after_s: DEGRADED_AFTER_S } });
    const roomy = await n.plan('roomy', 100 * 1024 * MB);
    const small = await n.plan('small', 6 * MB);
    for (const name of ['alice', 'bob']) users[name] = await n.addUser(name, roomy);
    users.carol = await n.addUser('carol', small);
    await until('the node serving the hub’s users', async () => (await n.settled()) && (await n.usersOnNode()).join() === 'alice,bob,carol', 60_000);
  });

  afterAll(async () => {
    await n?.close();
  });

  it('keeps serving through a 2-minute partition; afterwards users converge and every byte is billed once', async () => {
    const [aliceClient, carolClient] = [await n.client(users.alice!), await n.client(users.carol!)];
    const host = n.net.hostAddress;
    const port = n.agent.port;
    const billedBefore = (await n.billed(users.alice!)) + (await n.billed(users.carol!));
    const revisionBefore = (await n.api('GET', `/api/v1/nodes/${NODE_ID}`)).desired_revision as number;

    await n.net.nft(`table inet ${CUT_TABLE} {
      chain in { type filter hook input priority 0; tcp dport ${port} drop; }
      chain out { type filter hook output priority 0; tcp sport ${port} drop; }
    }`);
    const cutAt = Date.now();
    const alice = new TrafficLoop(aliceClient, n.bytes, host);

    // The hub changes its mind while it cannot reach the node.
    users.dave = await n.addUser('dave', (await n.api('GET', `/api/v1/subscriptions/${users.alice!.subscription}`)).plan_id);
    await n.deleteUser(users.bob!);
    const desired = (await n.api('GET', `/api/v1/nodes/${NODE_ID}`)).desired_revision as number;
    expect(desired).toBeGreaterThan(revisionBefore);

    // Once the agent counts the hub as away, carol runs past her 6 MiB plan: the node cuts her off alone.
    await new Promise((r) => setTimeout(r, (DEGRADED_AFTER_S + 3) * 1000));
    let carolMoved = 0;
    let carolCut = false;
    while (!carolCut && Date.now() - cutAt < WINDOW_MS - 5000) {
      try {
        const d = await downloadThroughProxy(carolClient.proxyPort, n.bytes.port, MB, 10_000, host);
        carolMoved += d.received + d.sent;
      } catch (error) {
        if (!(error instanceof DownloadError)) throw error;
        carolMoved += error.received;
        // A failed download is the cut only if new connections stay refused (not a reload's blip).
        carolCut = await downloadThroughProxy(carolClient.proxyPort, n.bytes.port, 64 * 1024, 5000, host).then(
          (d) => ((carolMoved += d.received + d.sent), false),
          (e: unknown) => ((carolMoved += e instanceof DownloadError ? e.received : 0), true),
        );
      }
    }
    expect(carolCut).toBe(true);
    expect(carolMoved).toBeGreaterThan(6 * MB);

    await new Promise((r) => setTimeout(r, Math.max(0, cutAt + WINDOW_MS - Date.now())));
    const partitionS = (Date.now() - cutAt) / 1000;
    // The hub saw the node go: its pushes failed, and it recorded why.
    const during = await n.api('GET', `/api/v1/nodes/${NODE_ID}`);
    expect(during.applied_revision).toBeLessThan(desired);
    expect(during.last_error).toMatch(/users\.sync|traffic|timed out|deadline|unreachable/i);

    await n.net.dropTable(CUT_TABLE);
    const healedAt = Date.now();
    await until(`the node converged to the hub’s users within ${RECOVERY_GOAL_MS / 1000} s of healing`, async () => {
      const names = await n.usersOnNode();
      return (await n.settled()) && names.includes('alice') && names.includes('dave') && !names.includes('bob');
    }, RECOVERY_GOAL_MS);
    const recoveredS = (Date.now() - healedAt) / 1000;
    const after = await n.api('GET', `/api/v1/nodes/${NODE_ID}`);
    expect(after.applied_revision).toBe(after.desired_revision);
    expect(after.applied_revision).toBeGreaterThanOrEqual(desired);

    await alice.stop();
    // sing-box served alice all along: the only breaks are the reloads that cut carol off and took dave and bob's change.
    expect(alice.downloads).toBeGreaterThanOrEqual(10);
    expect(alice.failures).toBeLessThanOrEqual(3);

    // Degraded mode: carol was cut off by the node while it counted the hub as away, and said so.
    const removal = n.agent
      .output()
      .split('\n')
      .find((line) => line.includes('users removed locally') && line.includes('carol'));
    expect(removal).toBeDefined();
    expect(JSON.parse(removal!)).toMatchObject({ hub_away: true });
    const status = (await n.node.execute('singbox-config.status', {}, { timeoutMs: 30_000 })).result as { degraded: boolean };
    expect(status.degraded).toBe(false);

    await n.drained();
    const moved = alice.moved + carolMoved;
    const billed = (await n.billed(users.alice!)) + (await n.billed(users.carol!)) - billedBefore;
    recordFault({
      fault: `partition hub ↔ agent (nftables drop), ${partitionS.toFixed(0)} s`,
      checked: `sing-box served ${alice.downloads} downloads; carol cut off by the node alone (hub away > ${DEGRADED_AFTER_S} s); users converged; billed once`,
      movedBytes: moved,
      billedBytes: billed,
      outcome: `recovered in ${recoveredS.toFixed(1)} s`,
    });
  });
});
