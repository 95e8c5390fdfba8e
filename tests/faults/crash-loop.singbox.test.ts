// sing-box in a crash loop, two ways: its binary starts exiting at once (a bad upgrade), and its
// config passes `sing-box check` but fails at run time (a port another process took). The
// supervisor backs off instead of spinning, never leaves a config sing-box refused in place,
// says what is wrong (singbox-config unhealthy with the exit reason, the hub's plugin_unhealthy
// alert), and the node serves again once the cause is gone.
import { createHash } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { singboxBin } from '../support/real-components.js';
import { startFaultNode, type FaultNode } from '../support/fault-node.js';
import { recordFault } from '../support/fault-table.js';
import { until } from '../support/until.js';

const MB = 1024 * 1024;
type Status = { running: boolean; pid: number | null; restarts: number; last_exit: { time: string; reason: string; restart_in_ms: number | null } | null };

describe('sing-box in a crash loop', { timeout: 180_000 }, () => {
  let f: FaultNode;
  let dir: string;
  let wrapper: string;
  let configPath: string;

  /** Replaces the binary the agent runs (atomically, as a package upgrade does). */
  async function install(script: string): Promise<void> {
    await writeFile(`${wrapper}.new`, `#!/bin/sh\n${script}\n`);
    await chmod(`${wrapper}.new`, 0o755);
    await rename(`${wrapper}.new`, wrapper);
  }
  const configHash = async () => createHash('sha256').update(await readFile(configPath)).digest('hex');
  const status = () => f.call<Status>('singbox-config.status');
  const singboxHealth = async () => {
    await f.hub.app.jobs.run('node-status');
    const node = await f.api('GET', '/api/v1/nodes/fault');
    return (node.agent.plugins as { id: string; healthy: boolean; message: string }[]).find((p) => p.id === 'singbox-config')!;
  };
  const alerts = async (state: 'firing' | 'resolved') => {
    await f.hub.app.jobs.run('alerts');
    return (await f.api('GET', `/api/v1/alerts?state=${state}&rule=plugin_unhealthy&node_id=fault`)).items as unknown[];
  };

  /** Watches the supervisor for `ms`: the waits it announced before each new start. */
  async function watchRestarts(ms: number): Promise<number[]> {
    const waits = new Map<string, number>();
    for (const end = Date.now() + ms; Date.now() < end; ) {
      const exit = (await status()).last_exit;
      if (exit?.restart_in_ms != null) waits.set(exit.time, exit.restart_in_ms);
      await new Promise((r) => setTimeout(r, 200));
    }
    return [...waits.values()];
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-crashloop-'));
    wrapper = path.join(dir, 'sing-box');
    await install(`exec ${singboxBin()} "$@"`);
    f = await startFaultNode({
      database: 'sqlite',
      users: ['alice'],
      singbox: { binary: wrapper, restart_backoff_max_s: 8 },
      configure: (_config, agentDir) => (configPath = path.join(agentDir, 'sing-box', 'config.json')),
    });
  });

  afterAll(async () => {
    await install(`exec ${singboxBin()} "$@"`).catch(() => undefined);
    await f?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('backs off while its binary exits at start, says why, alerts, and serves again once the binary is fixed', async () => {
    const started = Date.now();
    expect(await f.download('alice', 2 * MB)).toBe(true);
    // Counters since the last sample die with sing-box: sample first, as a reload does.
    await f.call('clash-stats.traffic.sample');
    const hash = await configHash();
    const { pid } = await status();
    await install("echo 'FATAL[0000] fault test: this sing-box cannot start' >&2\nexit 1");
    process.kill(pid!, 'SIGKILL');
    const brokenAt = Date.now();

    const waits = await watchRestarts(14_000);
    // 1 s, 2 s, 4 s, 8 s: a handful of starts in 14 s, never a tight loop.
    expect(waits.slice(0, 4)).toEqual([1000, 2000, 4000, 8000]);
    const sick = await singboxHealth();
    expect(sick.healthy).toBe(false);
    expect(sick.message).toMatch(/^sing-box is not running \(\d+ restarts so far\): exited with code 1: FATAL\[0000\] fault test: this sing-box cannot start; starting it again in \d+ s$/);
    expect(await alerts('firing')).toHaveLength(1);
    expect(await configHash()).toBe(hash);

    await install(`exec ${singboxBin()} "$@"`);
    const fixedAt = Date.now();
    // Running is not yet serving: the restarted sing-box binds its inbounds a moment later.
    await until('sing-box serving again', async () => (await status()).running && (await f.download('alice', 2 * MB)), 30_000);
    const recoveredS = (Date.now() - fixedAt) / 1000;
    expect((await singboxHealth()).healthy).toBe(true);
    // clash-stats too is unhealthy until its first sample of the new sing-box; then the alert resolves.
    await until('the alert resolved', async () => (await singboxHealth(), (await alerts('resolved')).length === 1));
    expect(await configHash()).toBe(hash);
    await f.call('clash-stats.traffic.sample');
    await f.hub.app.jobs.run('traffic');
    const moved = f.moved('alice');
    const billed = await f.billed('alice');
    recordFault({
      fault: `sing-box binary exits at start, ${((fixedAt - brokenAt) / 1000).toFixed(0)} s`,
      checked: `backoff ${waits.map((w) => w / 1000).join('/')} s; unhealthy with reason; alert fired+resolved; config unchanged; billed once`,
      movedBytes: moved,
      billedBytes: billed,
      outcome: `serving ${recoveredS.toFixed(1)} s after the binary was fixed (test ${((Date.now() - started) / 1000).toFixed(0)} s)`,
    });
  });

  it('refuses a config whose port is taken at run time, keeps the last good one, and loops back to serving when the port is free', async () => {
    const started = Date.now();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as net.AddressInfo).port;
    const hash = await configHash();
    const bad = structuredClone(f.profile.baseConfig) as { inbounds: Record<string, unknown>[] };
    bad.inbounds.push({ type: 'vless', tag: 'extra-in', listen: '127.0.0.1', listen_port: taken, tls: bad.inbounds[0]!.tls });
    const version = await f.api('POST', '/api/v1/configs', { config: bad, comment: 'port taken' });
    const res = await f.hub.app.inject({ method: 'POST', url: `/api/v1/configs/${version.id}/apply`, headers: f.hub.auth, payload: { node_id: 'fault' } });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.body).toContain('address already in use');
    // sing-box never runs the refused config: the file is the last good one, and it serves.
    expect(await configHash()).toBe(hash);
    expect((await status()).running).toBe(true);
    expect(await f.download('alice', MB)).toBe(true);

    // Now the same at run time of the served config: sing-box dies and another process takes its
    // port before the supervisor starts it again.
    await f.call('clash-stats.traffic.sample');
    const vlessPort = (f.profile.baseConfig as { inbounds: { type: string; listen_port: number }[] }).inbounds.find((i) => i.type === 'vless')!.listen_port;
    const { pid } = await status();
    process.kill(pid!, 'SIGKILL');
    await until('the port free', () => new Promise<boolean>((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(vlessPort, '127.0.0.1', () => probe.close(() => resolve(true)));
    }));
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(vlessPort, '127.0.0.1', resolve));
    // It died soon after its last start, so the backoff goes on from where it was (at most 8 s here).
    const waits = await watchRestarts(20_000);
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits.length).toBeLessThanOrEqual(6);
    expect(Math.max(...waits)).toBeLessThanOrEqual(8000);
    const sick = await singboxHealth();
    expect(sick.message).toMatch(/address already in use/);
    expect(await configHash()).toBe(hash);
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    squatter.close();
    const freedAt = Date.now();
    // Running is not yet serving: the restarted sing-box binds its inbounds a moment later.
    await until('sing-box serving again', async () => (await status()).running && (await f.download('alice', MB)), 30_000);
    const recoveredS = (Date.now() - freedAt) / 1000;
    // With the port free, the refused version applies.
    expect(await f.api('POST', `/api/v1/configs/${version.id}/apply`, { node_id: 'fault' })).toBeTruthy();
    expect(await configHash()).not.toBe(hash);
    recordFault({
      fault: 'sing-box config fails at run time (port taken)',
      checked: `apply refused, last good kept; crash loop backoff ${waits.map((w) => w / 1000).join('/')} s; unhealthy with reason`,
      outcome: `serving ${recoveredS.toFixed(1)} s after the port was freed (test ${((Date.now() - started) / 1000).toFixed(0)} s)`,
    });
  });
});
