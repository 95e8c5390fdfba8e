// SkyWalking traces across hub → agent, off unless a collector is configured. The
// skywalking-backend-js agent is only loaded when tracing starts, so a process without tracing
// pays nothing for it (with it, about 6–10 MB and 50 ms at start-up). The package instruments HTTP
// servers and mysql2 by itself; gRPC is ours: the hub's calls to an agent are exit spans that send
// the `sw8` header in the call's metadata, and the agent continues that trace in an entry span.
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** The parts of skywalking-backend-js used here (deep paths: the package exports no others). */
type SkyWalking = typeof import('skywalking-backend-js');
type Carrier = typeof import('skywalking-backend-js/lib/trace/context/ContextCarrier.js').ContextCarrier;
type Span = import('skywalking-backend-js/lib/trace/span/Span.js').default;

/** The metadata key SkyWalking's cross-process header travels under. */
export const SW8 = 'sw8';
/** SkyWalking's component id for gRPC, and its RPC-framework span layer. */
const GRPC_COMPONENT = 23;
const RPC_FRAMEWORK_LAYER = 2;

export interface TracingOptions {
  /** The collector's gRPC address, host:port (SkyWalking OAP listens on 11800). */
  collector: string;
  /** The service the traces belong to: `boxfleet-hub` or `boxfleet-agent`. */
  service: string;
  /** This process among the service's: the hub's host, the agent's node id. */
  instance?: string;
}

interface Tracer {
  sw: SkyWalking;
  carrier: Carrier;
  component: import('skywalking-backend-js/lib/trace/Component.js').Component;
}

let tracer: Tracer | null = null;

/**
 * Starts reporting traces. Call it before the HTTP server is created (the package patches Node's
 * http module); a second call does nothing.
 */
export function startTracing({ collector, service, instance = os.hostname() }: TracingOptions): void {
  if (tracer) return;
  // The package is CommonJS; its default export is the agent. The standalone agent executable does
  // not bundle it (it patches modules it finds on disk), so there it is looked up next to the executable.
  const load = createRequire(import.meta.url);
  let sw: SkyWalking;
  try {
    sw = load('skywalking-backend-js') as SkyWalking;
  } catch (error) {
    const beside = path.dirname(path.dirname(process.execPath));
    throw new Error(
      `tracing needs the npm package skywalking-backend-js, which is not installed here (${(error as Error).message.split('\n')[0]}); ` +
        `install it beside the executable (npm install --prefix ${beside} skywalking-backend-js@0.9.0) or turn tracing off`,
    );
  }
  const { ContextCarrier } = load('skywalking-backend-js/lib/trace/context/ContextCarrier.js') as typeof import('skywalking-backend-js/lib/trace/context/ContextCarrier.js');
  const { Component } = load('skywalking-backend-js/lib/trace/Component.js') as typeof import('skywalking-backend-js/lib/trace/Component.js');
  // Health checks and Prometheus scrapes come every few seconds and would bury the traces that matter
  // (HTTP entry spans are named METHOD:/path).
  sw.default.start({ serviceName: service, serviceInstance: instance, collectorAddress: collector, traceIgnorePath: '*:/health,*:/metrics' });
  tracer = { sw, carrier: ContextCarrier, component: new Component(GRPC_COMPONENT) };
}

/** Sends what is buffered (the package reports once a second); call before the process exits. */
export async function flushTracing(): Promise<void> {
  await tracer?.sw.default.flush();
}

/** The trace the current code runs in, for log lines and audit records; undefined without one. */
export function traceId(): string | undefined {
  const span = tracer?.sw.ContextManager.currentSpan;
  return span ? span.context.traceId() : undefined;
}

/** Names the current entry span (the HTTP server names it by the raw URL; a route pattern groups better). */
export function nameCurrentSpan(operation: string): void {
  const span = tracer?.sw.ContextManager.currentSpan;
  if (span) span.operation = operation;
}

function asRpc(span: Span, peer: string): Span {
  span.component = tracer!.component;
  span.layer = RPC_FRAMEWORK_LAYER;
  span.peer = peer;
  return span;
}

async function finish<T>(span: Span, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    span.error(error as Error);
    throw error;
  } finally {
    span.stop();
  }
}

/**
 * Runs a call to another process in an exit span: `work` gets the `sw8` value to send along
 * (undefined when tracing is off).
 */
export function exitSpan<T>(operation: string, peer: string, work: (sw8: string | undefined) => Promise<T>): Promise<T> {
  if (!tracer) return work(undefined);
  const span = asRpc(tracer.sw.ContextManager.current.newExitSpan(operation, tracer.component), peer);
  span.start();
  const sw8 = span.inject().items.find((item) => item.key === SW8)?.value;
  const result = work(sw8);
  // The call runs on while this context goes on: the span leaves the context's stack until it stops.
  span.async();
  return finish(span, result);
}

/**
 * Runs work that begins here (a gRPC call from the hub, a scheduled job) in an entry span: it
 * continues the caller's trace when `sw8` carries one, else starts a trace.
 */
export function entrySpan<T>(operation: string, work: () => Promise<T>, from: { sw8?: string; peer?: string } = {}): Promise<T> {
  const active = tracer;
  if (!active) return work();
  // A context of its own, emptied of whatever spans the caller's had (gRPC runs handlers in contexts
  // an earlier call left its spans in), so unrelated work never becomes this span's parent.
  return Promise.resolve().then(() => {
    active.sw.ContextManager.clearAll();
    const carrier = from.sw8 ? active.carrier.from({ [SW8]: from.sw8 }) : undefined;
    const span = asRpc(active.sw.ContextManager.current.newEntrySpan(operation, carrier), from.peer ?? '');
    span.start();
    return finish(span, work());
  });
}
