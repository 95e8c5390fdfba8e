// The hub's edge to an agent: a gRPC client that pins the agent's certificate by fingerprint,
// sends the token, sets deadlines and gzip, and hands back plain objects. The only hub file that
// sees protobuf.
import { randomUUID, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { create } from '@bufbuild/protobuf';
import {
  agentServiceDefinition,
  DescribeRequestSchema,
  ExecuteRequestSchema,
  MAX_REQUEST_BYTES,
  MAX_RESPONSE_BYTES,
  WatchRequestSchema,
  type Event,
} from '../../proto/agent-service.js';
import { splitAddress } from './address.js';
import type { AgentDescription } from './description.js';
import { certificateFingerprint } from './fingerprint.js';
import { exitSpan, SW8 } from './tracing.js';

export interface AgentTarget {
  address: string;
  token: string;
  insecure: boolean;
  /** The agent's certificate (PEM), already checked against the enrolled fingerprint. */
  certificate?: string;
  /** Lower-case hex SHA-256 of the certificate (DER). */
  fingerprint?: string;
}

export interface AgentEvent {
  name: string;
  payload: unknown;
  time: number;
}

/**
 * A failed call, with the gRPC status name (UNAVAILABLE, DEADLINE_EXCEEDED...) as its code, or
 * UNTRUSTED when the agent's certificate is not the pinned one.
 */
export class AgentCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AgentCallError';
  }
}

function callError(error: grpc.ServiceError): AgentCallError {
  return new AgentCallError(grpc.status[error.code] ?? 'UNKNOWN', error.details || error.message);
}

/**
 * Fetches the certificate an agent presents and checks it against the enrolled fingerprint, so
 * the hub can trust exactly that certificate from then on.
 */
export function fetchAgentCertificate(address: string, fingerprint: string, timeoutMs = 5000): Promise<string> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'], servername: undefined });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS answer from ${address} within ${timeoutMs} ms`)));
    socket.once('secureConnect', () => {
      const der = socket.getPeerCertificate(true).raw;
      socket.end();
      if (!der) return reject(new AgentCallError('UNAVAILABLE', `${address} presented no certificate`));
      const seen = certificateFingerprint(der);
      if (seen !== fingerprint) {
        return reject(
          new AgentCallError('UNTRUSTED', `certificate fingerprint mismatch at ${address}: expected ${fingerprint}, got ${seen}`),
        );
      }
      resolve(new X509Certificate(der).toString());
    });
    socket.once('error', (error) => reject(new AgentCallError('UNAVAILABLE', `cannot reach ${address}: ${error.message}`)));
  });
}

const Client = grpc.makeGenericClientConstructor(agentServiceDefinition, 'AgentService');

export class AgentClient {
  private readonly client: grpc.Client;
  private readonly metadata = new grpc.Metadata();

  constructor(readonly target: AgentTarget) {
    let credentials: grpc.ChannelCredentials;
    if (target.insecure) {
      credentials = grpc.credentials.createInsecure();
    } else {
      if (!target.certificate || !target.fingerprint) throw new Error('a TLS agent needs its pinned certificate');
      const pinned = target.fingerprint;
      credentials = grpc.credentials.createSsl(Buffer.from(target.certificate), null, null, {
        // The certificate is trusted because it is the one enrolled, not because of its names.
        checkServerIdentity: (_host, cert) =>
          certificateFingerprint(cert.raw) === pinned ? undefined : new Error(`agent certificate does not match the pinned fingerprint ${pinned}`),
      });
    }
    this.client = new Client(target.address, credentials, {
      'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
      // The agent reads nothing larger: refused here, a request is not sent for nothing.
      'grpc.max_send_message_length': MAX_REQUEST_BYTES,
      'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip,
      'grpc.keepalive_time_ms': 30_000,
      // The reconciler has its own backoff; do not add gRPC's (up to 120 s) when a node returns.
      'grpc.max_reconnect_backoff_ms': 10_000,
      // Names in the certificate are not checked (the fingerprint is); this keeps an IP out of SNI.
      ...(target.insecure ? {} : { 'grpc.ssl_target_name_override': 'boxfleet-agent' }),
    });
    this.metadata.set('authorization', `Bearer ${target.token}`);
  }

  /** One call, in a SkyWalking exit span named `operation` when tracing is on. */
  private unary<Req, Res>(operation: string, def: grpc.MethodDefinition<Req, Res>, request: Req, timeoutMs: number): Promise<Res> {
    return exitSpan(operation, this.target.address, (sw8) => {
      const metadata = sw8 ? this.metadata.clone() : this.metadata;
      if (sw8) metadata.set(SW8, sw8);
      return new Promise<Res>((resolve, reject) => {
        this.client.makeUnaryRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          request,
          metadata,
          { deadline: Date.now() + timeoutMs },
          (error, response) => (error ? reject(callError(error)) : resolve(response!)),
        );
      });
    });
  }

  async describe(timeoutMs = 5000): Promise<AgentDescription> {
    const res = await this.unary('Agent.Describe', agentServiceDefinition.Describe, create(DescribeRequestSchema), timeoutMs);
    return {
      agentVersion: res.agentVersion,
      nodeId: res.nodeId,
      plugins: res.plugins.map((p) => ({
        id: p.id,
        version: p.version,
        state: p.state,
        healthy: p.healthy,
        message: p.message,
        commands: p.commands.map((c) => ({
          name: c.name,
          description: c.description,
          input: JSON.parse(c.inputSchemaJson),
          output: JSON.parse(c.outputSchemaJson),
          mutates: c.mutates,
          role: c.role,
          timeoutMs: c.timeoutMs,
        })),
        events: p.events.map((e) => ({ name: e.name, description: e.description, schema: JSON.parse(e.schemaJson) })),
      })),
    };
  }

  /** `timeoutMs` should be the command's own deadline; the call waits a little longer for the agent's answer. */
  async execute(
    command: string,
    input: unknown,
    options: { timeoutMs?: number; requestId?: string } = {},
  ): Promise<{ result: unknown; durationMs: number; requestId: string }> {
    const requestId = options.requestId ?? randomUUID();
    const res = await this.unary(
      `Agent.Execute/${command}`,
      agentServiceDefinition.Execute,
      create(ExecuteRequestSchema, { command, payloadJson: JSON.stringify(input ?? {}), requestId }),
      (options.timeoutMs ?? 5000) + 2000,
    );
    return { result: JSON.parse(res.resultJson), durationMs: res.durationMs, requestId };
  }

  /** Streams events until the returned function is called or the stream ends. */
  watch(filter: string[], onEvent: (event: AgentEvent) => void, onEnd: (error?: AgentCallError) => void): () => void {
    const def = agentServiceDefinition.Watch;
    const stream = this.client.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      create(WatchRequestSchema, { filter }),
      this.metadata,
    );
    stream.on('data', (event: Event) =>
      onEvent({ name: event.name, payload: JSON.parse(event.payloadJson), time: Number(event.timeUnixMs) }),
    );
    stream.on('error', (error: grpc.ServiceError) => onEnd(error.code === grpc.status.CANCELLED ? undefined : callError(error)));
    stream.on('end', () => onEnd());
    return () => stream.cancel();
  }

  close(): void {
    this.client.close();
  }
}
