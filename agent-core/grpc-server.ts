// The agent's edge: serves the command bus over gRPC (TLS unless `insecure`), checks the token on
// every call before reading its request, and maps typed errors to gRPC status codes. The only agent
// file that sees protobuf.
import { timingSafeEqual } from 'node:crypto';
import { constants as http2, type Http2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import {
  agentServiceDefinition,
  DescribeResponseSchema,
  EventSchema,
  ExecuteResponseSchema,
  MAX_REQUEST_BYTES,
  MAX_RESPONSE_BYTES,
  type DescribeRequest,
  type DescribeResponse,
  type Event,
  type ExecuteRequest,
  type ExecuteResponse,
  type WatchRequest,
} from '../proto/agent-service.js';
import { isAgentError, InvalidArgumentError, UnauthenticatedError, type AgentError } from './common/errors.js';
import type { AppLogger } from './common/logger.js';
import type { PluginHost } from './plugin-host.js';
import { entrySpan, SW8 } from './common/tracing.js';

/**
 * Calls at once on one connection: the hub keeps one Watch and a few commands in flight per node,
 * and each call may hold a request of up to MAX_REQUEST_BYTES.
 */
const MAX_CONCURRENT_STREAMS = 32;

export interface GrpcServerOptions {
  listen: string;
  insecure: boolean;
  tls?: { cert: string; key: string };
  /** Read on every call, so a token rotated by a config reload applies at once. */
  token: () => string;
  host: PluginHost;
  nodeId: string;
  agentVersion: string;
  logger: AppLogger;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

const STATUS: Record<AgentError['status'], grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  INTERNAL: grpc.status.INTERNAL,
};

function toStatus(error: unknown): Pick<grpc.StatusObject, 'code' | 'details'> {
  if (isAgentError(error)) return { code: STATUS[error.status], details: error.message };
  return { code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * After a status, grpc-js goes on reading and dropping whatever the caller still sends (a whole
 * message of any size, through TLS and HTTP/2), and gives an interceptor no way to stop that.
 * Resetting the HTTP/2 stream with NO_ERROR once the status is out (RFC 9113 §8.1) makes the caller
 * stop sending. The stream is a private field of grpc-js's base call: agent-auth.test.ts measures
 * the agent's memory under refused 60 MB requests and fails if this stops working.
 */
function stopReceiving(call: grpc.ServerInterceptingCallInterface): void {
  (call as unknown as { stream?: Http2Stream }).stream?.close(http2.NGHTTP2_NO_ERROR);
}

export function startGrpcServer(options: GrpcServerOptions): Promise<RunningServer> {
  const { host, logger } = options;

  /**
   * Ends a call without the right token as soon as its metadata arrives. Its request is then never
   * read: grpc-js reads a message only when the handler asks for it, so what an unauthenticated
   * caller sends is dropped unread instead of being received and decoded first.
   */
  const requireToken: grpc.ServerInterceptor = (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const header = String(metadata.get('authorization')[0] ?? '');
            if (sameSecret(header, `Bearer ${options.token()}`)) return pass(metadata);
            const status = toStatus(new UnauthenticatedError('missing or wrong agent token'));
            logger.info(`${method.path.split('/').at(-1)} refused`, { code: 'UNAUTHENTICATED', error: status.details, peer: call.getPeer() });
            call.sendStatus(status);
            stopReceiving(call);
          },
        }),
    });

  /**
   * A unary method (its caller already authenticated), handled in a SkyWalking entry span (named
   * `operation` of the request) that continues the hub's trace when tracing is on.
   */
  function unary<Req, Res>(
    name: string,
    handle: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
    operation: (request: Req) => string = () => `Agent.${name}`,
  ) {
    return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      Promise.resolve()
        .then(() =>
          entrySpan(operation(call.request), () => handle(call.request, call), { sw8: call.metadata.get(SW8)[0]?.toString(), peer: call.getPeer() }),
        )
        .then(
          (response) => callback(null, response),
          (error: unknown) => {
            const status = toStatus(error);
            logger.info(`${name} refused`, { code: grpc.status[status.code], error: status.details, peer: call.getPeer() });
            callback(status);
          },
        );
    };
  }

  const describe = unary<DescribeRequest, DescribeResponse>('Describe', async () => {
    const plugins = await host.describe();
    return create(DescribeResponseSchema, {
      agentVersion: options.agentVersion,
      nodeId: options.nodeId,
      plugins: plugins.map((p) => ({
        ...p,
        commands: p.commands.map((c) => ({
          name: c.name,
          description: c.description,
          inputSchemaJson: JSON.stringify(c.input),
          outputSchemaJson: JSON.stringify(c.output),
          mutates: c.mutates,
          role: c.role,
          timeoutMs: c.timeoutMs,
        })),
        events: p.events.map((e) => ({ name: e.name, description: e.description, schemaJson: JSON.stringify(e.schema) })),
      })),
    });
  });

  const execute = unary<ExecuteRequest, ExecuteResponse>('Execute', async (request, call) => {
    let input: unknown = {};
    if (request.payloadJson !== '') {
      try {
        input = JSON.parse(request.payloadJson);
      } catch (error) {
        throw new InvalidArgumentError(`payload is not JSON: ${(error as Error).message}`);
      }
      // grpc-js holds the request until the answer is sent, and the text (megabytes for a large
      // users.sync) is not needed once parsed.
      request.payloadJson = '';
    }
    const deadline = call.getDeadline();
    const gone = new AbortController();
    call.once('cancelled', () => gone.abort());
    const started = performance.now();
    const result = await host.execute(request.command, input, {
      requestId: request.requestId,
      deadline: deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined,
      signal: gone.signal,
      remote: true,
      inputOwned: true,
    });
    const durationMs = Math.round(performance.now() - started);
    logger.debug('command executed', { command: request.command, request_id: request.requestId, duration_ms: durationMs });
    return create(ExecuteResponseSchema, {
      resultJson: JSON.stringify(result ?? null),
      requestId: request.requestId,
      durationMs,
    });
  }, (request) => `Agent.Execute/${request.command}`);

  const watch = (call: grpc.ServerWritableStream<WatchRequest, Event>) => {
    const filter = [...call.request.filter];
    logger.info('watch opened', { filter, peer: call.getPeer() });
    const unsubscribe = host.subscribe(filter, (event) => {
      call.write(create(EventSchema, { name: event.name, payloadJson: JSON.stringify(event.payload), timeUnixMs: BigInt(event.time) }));
    });
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      logger.info('watch closed', { filter, peer: call.getPeer() });
      call.end();
    };
    call.on('cancelled', close);
    call.on('close', close);
    call.on('error', close);
  };

  // grpc-node.max_session_memory stays unlimited (grpc-js's default): Node counts the data queued to
  // send against it and refuses new calls while a large answer is being written, and unread requests
  // do not count, since HTTP/2 flow control holds them at the caller.
  const server = new grpc.Server({
    interceptors: [requireToken],
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    'grpc.max_send_message_length': MAX_RESPONSE_BYTES,
    'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
    'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip,
  });
  server.addService(agentServiceDefinition, { Describe: describe, Execute: execute, Watch: watch });

  const credentials = options.insecure
    ? grpc.ServerCredentials.createInsecure()
    : grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(options.tls!.cert), private_key: Buffer.from(options.tls!.key) }], false);

  return new Promise((resolve, reject) => {
    server.bindAsync(options.listen, credentials, (error, port) => {
      if (error) return reject(new Error(`cannot listen on ${options.listen}: ${error.message}`));
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.forceShutdown(), 5000);
            server.tryShutdown(() => {
              clearTimeout(force);
              done();
            });
          }),
      });
    });
  });
}
