// Shared by the clash-stats tests: the harness, and fakes of sing-box's APIs for the unit tests.
import http from 'node:http';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
export { freePort } from '../../support/agent-process.js';
import type { AnyPluginDefinition } from '../../../agent-core/sdk.js';
import clashStats from '../../../plugins/clash-stats/index.js';
import { statsServiceDefinition } from '../../../plugins/clash-stats/v2ray-stats.js';
import { QueryStatsResponseSchema, StatSchema, SysStatsResponseSchema } from '../../../proto/gen/v2ray/stats_pb.js';

let harness: Harness | undefined;

/**
 * Starts the plugin with this `plugins.clash-stats` config (plus other plugins, e.g. a fake
 * singbox-config); `closeHarness` (run it in afterEach) stops it.
 */
export async function start(config: Record<string, unknown>, others: AnyPluginDefinition[] = []): Promise<Harness> {
  await closeHarness();
  harness = await createHarness([clashStats, ...others], { config: { 'clash-stats': config } });
  return harness;
}

export async function closeHarness(): Promise<void> {
  await harness?.close();
  harness = undefined;
}

/** A stand-in for sing-box's V2Ray stats API: counters and uptime the test sets. */
export interface FakeV2Ray {
  listen: string;
  /** user name → [uplink, downlink]; a user not here has no counter yet. */
  counters: Map<string, [number, number]>;
  /** Every QueryStats request, to check what the plugin asked for. */
  queries: { patterns: string[]; reset: boolean; pattern: string }[];
  /** Makes the next answers fail with UNAVAILABLE while true. */
  down: boolean;
  /** How long GetSysStats takes to answer. */
  uptimeDelayMs: number;
  /** sing-box restarted: uptime starts again from 0 and every counter is gone. */
  restart(): void;
  close(): Promise<void>;
}

export async function fakeV2Ray(uptimeS = 3600): Promise<FakeV2Ray> {
  const server = new grpc.Server();
  let startedAt = Date.now() - uptimeS * 1000;
  const fake: Omit<FakeV2Ray, 'listen'> = {
    counters: new Map(),
    queries: [],
    down: false,
    uptimeDelayMs: 0,
    restart() {
      startedAt = Date.now();
      fake.counters.clear();
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  const unavailable = { code: grpc.status.UNAVAILABLE, details: 'fake sing-box is down' };
  server.addService(statsServiceDefinition, {
    QueryStats: (call: grpc.ServerUnaryCall<{ patterns: string[]; reset: boolean; pattern: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (fake.down) return callback(unavailable);
      fake.queries.push({ patterns: [...call.request.patterns], reset: call.request.reset, pattern: call.request.pattern });
      const stat = [...fake.counters].flatMap(([user, [up, down]]) => [
        create(StatSchema, { name: `user>>>${user}>>>traffic>>>uplink`, value: BigInt(up) }),
        create(StatSchema, { name: `user>>>${user}>>>traffic>>>downlink`, value: BigInt(down) }),
      ]);
      // Counters the plugin must ignore.
      stat.push(create(StatSchema, { name: 'inbound>>>vless-in>>>traffic>>>uplink', value: 999n }));
      callback(null, create(QueryStatsResponseSchema, { stat }));
    },
    GetSysStats: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      if (fake.down) return callback(unavailable);
      const uptime = Math.floor((Date.now() - startedAt) / 1000);
      setTimeout(() => callback(null, create(SysStatsResponseSchema, { Uptime: uptime })), fake.uptimeDelayMs);
    },
  } as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return Object.assign(fake, { listen: `127.0.0.1:${port}` });
}

/** A loopback HTTP server answering with `handler`; `requests` lists every method and URL it got. */
export async function fakeHttp(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function json(res: http.ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
