// SkyWalking traces across hub → agent: the built hub and agent processes, both told of a collector,
// report to a stand-in collector that speaks SkyWalking's real gRPC protocol (the service
// definitions skywalking-backend-js ships). One API request that runs a node command must become
// one trace: the hub's entry span named by its route, its gRPC exit span to the agent, and the
// agent's entry span continuing it; the audit record and the log lines of both carry its id. On
// MySQL (MariaDB) the request's queries are spans of the same trace. Run by tracing.test.ts (SQLite)
// and tracing.mariadb.test.ts; tests/e2e/tracing.skywalking.test.ts sends the same trace to a real OAP.
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../support/agent-process.js';
import type { DatabaseKind } from '../support/hub.js';
import { startTracedFleet, type TracedFleet } from '../support/traced-fleet.js';
import { until } from '../support/until.js';

const load = createRequire(import.meta.url);
const { TraceSegmentReportServiceService } = load('skywalking-backend-js/lib/proto/language-agent/Tracing_grpc_pb.js');
const { ManagementServiceService } = load('skywalking-backend-js/lib/proto/management/Management_grpc_pb.js');
const { Commands } = load('skywalking-backend-js/lib/proto/common/Common_pb.js');

interface SpanObject {
  spanid: number;
  parentspanid: number;
  operationname: string;
  peer: string;
  spantype: number;
  componentid: number;
  iserror: boolean;
  refsList: { traceid: string; parenttracesegmentid: string; parentspanid: number; parentservice: string }[];
}
interface Segment {
  traceid: string;
  tracesegmentid: string;
  service: string;
  serviceinstance: string;
  spansList: SpanObject[];
}
/** SpanType and component ids in SkyWalking's protocol. */
const ENTRY = 0;
const EXIT = 1;
const GRPC = 23;
const MYSQL = 5;

/** A collector that keeps every segment it is sent and answers the management calls. */
async function startCollector() {
  const segments: Segment[] = [];
  const server = new grpc.Server();
  const collect = (call: grpc.ServerReadableStream<{ toObject(): Segment }, unknown>, done: grpc.sendUnaryData<unknown>) => {
    call.on('data', (segment) => segments.push(segment.toObject()));
    call.on('end', () => done(null, new Commands()));
  };
  server.addService(TraceSegmentReportServiceService, { collect, collectInSync: collect });
  server.addService(ManagementServiceService, {
    reportInstanceProperties: (_call: unknown, done: grpc.sendUnaryData<unknown>) => done(null, new Commands()),
    keepAlive: (_call: unknown, done: grpc.sendUnaryData<unknown>) => done(null, new Commands()),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, segments, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

export function tracingSuite(kind: DatabaseKind) {
  describe(`SkyWalking traces from hub to agent (${kind})`, { timeout: 90_000 }, () => {
    let collector: Awaited<ReturnType<typeof startCollector>>;
    let fleet: TracedFleet;
    let agent: AgentProcess;
    let url: string;
    const api = (method: string, route: string, body?: unknown) => fleet.api(method, route, body);

    beforeAll(async () => {
      collector = await startCollector();
      fleet = await startTracedFleet(kind, collector.address);
      ({ agent, url } = fleet);
    });

    afterAll(async () => {
      await fleet?.stop();
      await collector?.close();
    });

    it('makes one trace of an API request, the hub’s gRPC call and the agent’s command', async () => {
      await api('POST', '/api/v1/nodes/traced-1/commands/health-probe.tcp', { host: '127.0.0.1', port: agent.port });
      const route = 'POST:/api/v1/nodes/:id/commands/:command';
      const operation = 'Agent.Execute/health-probe.tcp';

      const hubSegment = await until('the hub segment', () =>
        collector.segments.find((s) => s.service === 'boxfleet-hub' && s.spansList.some((span) => span.operationname === route)),
      );
      expect(hubSegment.spansList.find((s) => s.operationname === route)).toMatchObject({ spantype: ENTRY });
      const exit = hubSegment.spansList.find((s) => s.operationname === operation)!;
      expect(exit).toMatchObject({ spantype: EXIT, componentid: GRPC, peer: `127.0.0.1:${agent.port}`, iserror: false });
      // The request's queries (finding the node, writing the audit record) are spans too, on MySQL.
      const queries = hubSegment.spansList.filter((s) => s.componentid === MYSQL);
      if (kind === 'mariadb') expect(queries.length).toBeGreaterThanOrEqual(2);
      else expect(queries).toEqual([]);

      // The segment of the command: when the hub's cached Describe has aged (a slow run), the request
      // asks the agent for a fresh one first, a segment of its own in the same trace.
      const agentSegment = await until('the agent segment', () =>
        collector.segments.find(
          (s) => s.service === 'boxfleet-agent' && s.traceid === hubSegment.traceid && s.spansList.some((span) => span.operationname === operation),
        ),
      );
      expect(agentSegment.serviceinstance).toBe('traced-1');
      const agentEntry = agentSegment.spansList.find((s) => s.operationname === operation)!;
      expect(agentEntry).toMatchObject({ spantype: ENTRY, componentid: GRPC });
      // Exactly one parent: the hub's exit span (not an earlier call the agent served).
      expect(agentEntry.refsList).toEqual([
        expect.objectContaining({ traceid: hubSegment.traceid, parenttracesegmentid: hubSegment.tracesegmentid, parentspanid: exit.spanid, parentservice: 'boxfleet-hub' }),
      ]);

      // The audit record and both processes' log lines carry the trace id.
      const audit = await api('GET', '/api/v1/audit?action=node.command');
      expect(audit.items[0]).toMatchObject({ target: 'traced-1 health-probe.tcp', trace_id: hubSegment.traceid });
      const hubLine = fleet.hubOutput().split('\n').find((l) => l.includes('"message":"request"') && l.includes('/commands/:command'));
      expect(JSON.parse(hubLine!)).toMatchObject({ 'trace.id': hubSegment.traceid });
      const agentLine = agent.output().split('\n').find((l) => l.includes('"message":"command executed"') && l.includes('health-probe.tcp'));
      expect(JSON.parse(agentLine!)).toMatchObject({ 'trace.id': hubSegment.traceid });
    });

    it('gives each scheduled job tick a trace of its own', async () => {
      const tick = await until('a reconcile tick', () =>
        collector.segments.find((s) => s.service === 'boxfleet-hub' && s.spansList.some((span) => span.operationname === 'job/reconcile')),
      );
      expect(tick.spansList.find((s) => s.operationname === 'job/reconcile')).toMatchObject({ spantype: ENTRY, refsList: [] });
      // Ticks are separate traces, not children of one another or of a request.
      const ticks = collector.segments.filter((s) => s.spansList.some((span) => span.operationname === 'job/reconcile'));
      expect(new Set(ticks.map((s) => s.traceid)).size).toBe(ticks.length);
    });

    it('leaves health checks and Prometheus scrapes untraced', async () => {
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
      // The next request is traced; once it is in, the two before it would have been too.
      await api('GET', '/api/v1/nodes');
      await until('the nodes request', () =>
        collector.segments.find((s) => s.spansList.some((span) => span.operationname === 'GET:/api/v1/nodes')),
      );
      const operations = collector.segments.flatMap((s) => s.spansList.map((span) => span.operationname));
      expect(operations.filter((o) => /^GET:\/(health|metrics)$/.test(o))).toEqual([]);
    });

    it('leaves the log lines of untraced work without a trace id', () => {
      const started = agent.output().split('\n').find((l) => l.includes('"message":"agent started"'))!;
      expect(JSON.parse(started)['trace.id']).toBeUndefined();
    });
  });
}
