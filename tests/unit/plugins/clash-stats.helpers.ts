// Shared by clash-stats.test.ts and clash-stats.singbox.test.ts.
import net from 'node:net';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import clashStats from '../../../plugins/clash-stats/index.js';

let harness: Harness | undefined;

/** Starts the plugin with this `plugins.clash-stats` config; `closeHarness` (run it in afterEach) stops it. */
export async function start(config: Record<string, unknown>): Promise<Harness> {
  harness = await createHarness(clashStats, { config: { 'clash-stats': config } });
  return harness;
}

export async function closeHarness(): Promise<void> {
  await harness?.close();
  harness = undefined;
}

/** A loopback port nothing listens on (the OS picked it free a moment ago). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
