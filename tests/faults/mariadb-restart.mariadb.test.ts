// MariaDB goes away under a running hub: killed in the middle of a traffic batch (after the drain,
// before the commit) and in the middle of a reconcile (after the node took a users.sync, before
// the hub recorded it), then started again on the same data. The tick fails and says why, the API
// answers 503 HUB_ERR_DATABASE_UNAVAILABLE meanwhile (never 500), and once the server is back the
// same hub, not restarted, bills every byte once and brings the node to its revision.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node } from '../../hub/db/models.js';
import { startFaultNode, type FaultNode } from '../support/fault-node.js';
import { recordFault } from '../support/fault-table.js';
import { startMariaDb, type TestMariaDb } from '../support/mariadb.js';
import { until } from '../support/until.js';

const MB = 1024 * 1024;

describe('MariaDB restarted under a running hub', { timeout: 180_000 }, () => {
  let db: TestMariaDb;
  let f: FaultNode;

  beforeAll(async () => {
    db = await startMariaDb();
    process.env.BOXFLEET_TEST_MYSQL_URL = db.url;
    f = await startFaultNode({ database: 'mariadb', users: ['alice'] });
  });

  afterAll(async () => {
    await db?.start().catch(() => undefined);
    await f?.close();
    await db?.close();
  });

  /** Runs `fault` right after the hub's call of `command` to the node returned, once. */
  function after(command: string, fault: () => Promise<void>): void {
    const agents = f.hub.app.agents;
    const execute = agents.execute.bind(agents);
    agents.execute = async (node: Node, name: string, input: unknown, requestId?: string) => {
      const answer = await execute(node, name, input, requestId);
      if (name === command) {
        agents.execute = execute;
        await fault();
      }
      return answer;
    };
  }

  /** The API while the database is away: 503 with its code, not 500. */
  async function expectUnavailable(): Promise<void> {
    for (const url of ['/api/v1/users', '/api/v1/nodes', '/api/v1/subscriptions']) {
      const res = await f.hub.app.inject({ method: 'GET', url, headers: f.hub.auth });
      expect({ url, status: res.statusCode, code: res.json().code }).toEqual({ url, status: 503, code: 'HUB_ERR_DATABASE_UNAVAILABLE' });
      expect(res.headers['retry-after']).toBe('5');
    }
  }

  /** Starts the server again and measures until the API answers 200 again. */
  async function restart(): Promise<number> {
    const down = Date.now();
    await db.start();
    await until('the API answering again', async () => (await f.hub.app.inject({ method: 'GET', url: '/api/v1/users', headers: f.hub.auth })).statusCode === 200);
    return (Date.now() - down) / 1000;
  }

  it('fails the traffic tick that lost its database mid-batch, answers 503, and bills every byte once after', async () => {
    const started = Date.now();
    // A first drain records which ledger the node has, so the fault below lands on a batch.
    await f.hub.app.jobs.run('traffic');
    for (let i = 0; i < 4; i++) expect(await f.download('alice', 2 * MB)).toBe(true);
    await f.call('clash-stats.traffic.sample');
    after('clash-stats.traffic.drain', () => db.stop('SIGKILL'));
    const failed = await f.hub.app.jobs.run('traffic');
    expect(failed).toMatchObject({ ran: true, result: { failed: 1, entries: 0 } });
    const error = (failed as { result: { results: { error?: string }[] } }).result.results[0]!.error!;
    expect(error).toMatch(/^database: .*ECONNREFUSED/);
    await expectUnavailable();
    // sing-box serves while the hub's database is away, and the node counts it.
    expect(await f.download('alice', 2 * MB)).toBe(true);
    const recoveredS = await restart();
    await until('bytes billed', async () => (await f.call('clash-stats.traffic.sample'), (await f.hub.app.jobs.run('traffic')) && (await f.billed('alice')) > 0));
    // Once more: nothing is billed twice.
    await f.hub.app.jobs.run('traffic');
    const moved = f.moved('alice');
    const billed = await f.billed('alice');
    recordFault({
      fault: 'MariaDB kill -9 mid traffic batch, restarted',
      checked: 'tick failed (logged); API 503 while away; billed once after',
      movedBytes: moved,
      billedBytes: billed,
      outcome: `recovered in ${recoveredS.toFixed(1)} s without a hub restart (test ${((Date.now() - started) / 1000).toFixed(0)} s)`,
    });
  });

  it('fails the reconcile that lost its database mid-push, answers 503, and converges the node after', async () => {
    const started = Date.now();
    const billedBefore = await f.billed('alice');
    const movedBefore = f.moved('alice');
    await f.addUser('bob');
    after('singbox-config.users.sync', () => db.stop('SIGTERM'));
    const tick = await f.hub.app.jobs.run('reconcile');
    expect(tick).toMatchObject({ ran: true, result: { failed: 1 } });
    await expectUnavailable();
    const recoveredS = await restart();
    const converged = await until('the node at its desired revision', async () => {
      await f.hub.app.jobs.run('reconcile');
      const node = await f.api('GET', '/api/v1/nodes/fault');
      return node.applied_revision === node.desired_revision && node;
    }, 60_000);
    expect(converged.applied_revision).toBeGreaterThan(0);
    const convergedS = (Date.now() - started) / 1000;
    // bob, added while the push was cut, is served; the traffic of both is billed once.
    for (const user of ['alice', 'bob']) expect(await f.download(user, 2 * MB)).toBe(true);
    await f.call('clash-stats.traffic.sample');
    await f.hub.app.jobs.run('traffic');
    await f.hub.app.jobs.run('traffic');
    const moved = f.moved('alice') - movedBefore + f.moved('bob');
    const billed = (await f.billed('alice')) - billedBefore + (await f.billed('bob'));
    recordFault({
      fault: 'MariaDB stopped mid reconcile (users.sync), restarted',
      checked: 'tick failed (logged); API 503 while away; revision converged; billed once',
      movedBytes: moved,
      billedBytes: billed,
      outcome: `API back in ${recoveredS.toFixed(1)} s, node converged in ${convergedS.toFixed(1)} s, no hub restart`,
    });
  });
});
