// Traces into a real SkyWalking OAP (9.6.0 from Maven Central, embedded H2): the built hub and
// agent report to it, and the trace of one API request that runs a node command is read back
// through OAP's own GraphQL query API, as its UI would show it: one trace id, the hub's segment
// (the route's entry span and the gRPC exit span) and the agent's segment whose entry span is a
// cross-process child of that exit span. The stand-in collector's test (tracing.suite.ts) checks
// what is sent byte by byte; this one checks that a real OAP accepts and links it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skywalkingOap, type SkyWalkingOap } from '../support/real-components.js';
import { startTracedFleet, type TracedFleet } from '../support/traced-fleet.js';
import { until } from '../support/until.js';

interface Span {
  traceId: string;
  segmentId: string;
  spanId: number;
  parentSpanId: number;
  refs: { traceId: string; parentSegmentId: string; parentSpanId: number; type: string }[];
  serviceCode: string;
  serviceInstanceName: string;
  endpointName: string;
  type: string;
  peer: string;
  component: string;
  isError: boolean;
}

const ROUTE = 'POST:/api/v1/nodes/:id/commands/:command';
const OPERATION = 'Agent.Execute/health-probe.tcp';

describe('traces in a real SkyWalking OAP', { timeout: 120_000 }, () => {
  let oap: SkyWalkingOap;
  let fleet: TracedFleet;

  const graphql = async (query: string, variables: Record<string, unknown>) => {
    const res = await fetch(oap.graphql, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const body = await res.json();
    if (!res.ok || body.errors) throw new Error(`OAP GraphQL → ${res.status} ${JSON.stringify(body.errors ?? body)}`);
    return body.data;
  };

  beforeAll(async () => {
    oap = await skywalkingOap();
    // OAP takes a minute or more to come up; a fresh one is asked until its query API answers.
    await until('OAP to answer GraphQL', () => graphql('query { queryTrace(traceId: "none") { spans { traceId } } }', {}).catch(() => false), 180_000);
    fleet = await startTracedFleet('sqlite', oap.grpc);
  }, 240_000);

  afterAll(async () => {
    await fleet?.stop();
    await oap?.stop();
  });

  it('links the hub’s request and the agent’s command in one trace', async () => {
    await fleet.api('POST', '/api/v1/nodes/traced-1/commands/health-probe.tcp', { host: '127.0.0.1', port: fleet.agent.port });
    // The audit record names the trace the hub ran the request in: look that id up in OAP.
    const audit = await fleet.api('GET', '/api/v1/audit?action=node.command');
    const traceId: string = audit.items[0].trace_id;
    expect(traceId).toMatch(/\S/);

    // The trace list (the UI's trace search) finds the trace's two segments by its id, named by
    // their first entry span. Days, not minutes, so OAP's time zone does not matter.
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const condition = {
      traceId,
      queryDuration: { start: day(-1), end: day(1), step: 'DAY' },
      traceState: 'ALL',
      queryOrder: 'BY_START_TIME',
      paging: { pageNum: 1, pageSize: 20 },
    };
    const listed = await until(
      'both segments in OAP’s trace list',
      async () => {
        const { queryBasicTraces } = await graphql(
          'query ($condition: TraceQueryCondition) { queryBasicTraces(condition: $condition) { traces { segmentId endpointNames traceIds isError } } }',
          { condition },
        );
        const traces: { segmentId: string; endpointNames: string[]; traceIds: string[]; isError: boolean }[] = queryBasicTraces.traces;
        return traces.length >= 2 && traces;
      },
      60_000,
    );
    expect(listed.map((t) => t.endpointNames).flat()).toEqual(expect.arrayContaining([ROUTE, OPERATION]));
    expect(listed.every((t) => t.traceIds.includes(traceId) && !t.isError)).toBe(true);

    // The whole trace, span by span.
    const { queryTrace } = await graphql(
      `query ($traceId: ID!) { queryTrace(traceId: $traceId) { spans {
        traceId segmentId spanId parentSpanId refs { traceId parentSegmentId parentSpanId type }
        serviceCode serviceInstanceName endpointName type peer component isError } } }`,
      { traceId },
    );
    const spans: Span[] = queryTrace.spans;
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));

    const entry = spans.find((s) => s.serviceCode === 'boxfleet-hub' && s.endpointName === ROUTE)!;
    expect(entry).toMatchObject({ type: 'Entry', refs: [] });
    const exit = spans.find((s) => s.serviceCode === 'boxfleet-hub' && s.endpointName === OPERATION)!;
    // OAP names the component by its id (23) from its own component-libraries.yml.
    expect(exit).toMatchObject({ type: 'Exit', component: 'GRPC', peer: `127.0.0.1:${fleet.agent.port}`, isError: false, segmentId: entry.segmentId });
    expect(exit.parentSpanId).toBe(entry.spanId);

    const command = spans.find((s) => s.serviceCode === 'boxfleet-agent' && s.endpointName === OPERATION)!;
    expect(command).toMatchObject({ type: 'Entry', serviceInstanceName: 'traced-1', component: 'GRPC', isError: false });
    expect(command.segmentId).not.toBe(entry.segmentId);
    // Its one parent is the hub's exit span, across processes.
    expect(command.refs).toEqual([{ traceId, parentSegmentId: exit.segmentId, parentSpanId: exit.spanId, type: 'CROSS_PROCESS' }]);
  });
});
