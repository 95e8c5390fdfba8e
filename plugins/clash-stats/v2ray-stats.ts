// Client for sing-box's V2Ray stats API (gRPC, plain text, loopback only; singbox.md §6). The one
// file that imports the code generated from proto/v2ray/stats.proto: protobuf-es is already what
// the agent uses for its own proto, so generating beats hand-writing an encoder for int64/uint32
// fields and repeated messages, and the .proto stays the single source of truth.
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { UnavailableError } from '../../agent-core/sdk.js';
import {
  QueryStatsRequestSchema,
  QueryStatsResponseSchema,
  StatsService,
  SysStatsRequestSchema,
  SysStatsResponseSchema,
} from '../../proto/gen/v2ray/stats_pb.js';
import type { Pair } from './ledger-record.js';

function method<I extends DescMessage, O extends DescMessage>(name: string, input: I, output: O) {
  return {
    path: `/${StatsService.typeName}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (message: MessageShape<I>) => Buffer.from(toBinary(input, message)),
    requestDeserialize: (bytes: Buffer) => fromBinary(input, bytes),
    responseSerialize: (message: MessageShape<O>) => Buffer.from(toBinary(output, message)),
    responseDeserialize: (bytes: Buffer) => fromBinary(output, bytes),
  } satisfies grpc.MethodDefinition<MessageShape<I>, MessageShape<O>>;
}

/** The two methods clash-stats calls, as a grpc-js service definition (tests serve it too). */
export const statsServiceDefinition = {
  QueryStats: method('QueryStats', QueryStatsRequestSchema, QueryStatsResponseSchema),
  GetSysStats: method('GetSysStats', SysStatsRequestSchema, SysStatsResponseSchema),
};

const USER_COUNTER = /^user>>>(.+)>>>traffic>>>(uplink|downlink)$/;

export interface V2RayStats {
  /** Seconds since this sing-box instance started (GetSysStats.Uptime). */
  uptime(): Promise<number>;
  /** `user>>>NAME>>>traffic>>>uplink|downlink` as NAME → [uplink, downlink], read without resetting. */
  userCounters(): Promise<Map<string, Pair>>;
  close(): void;
}

/**
 * A client for one sample. A fresh channel each time (with its own subchannel) means a sing-box
 * that just came back is reached at once, instead of after grpc's reconnect backoff.
 */
export function openV2RayStats(listen: string, timeoutMs: number): V2RayStats {
  const client = new grpc.Client(listen, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.enable_retries': 0,
  });

  function call<Req, Res>(definition: grpc.MethodDefinition<Req, Res>, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          if (error || !response) {
            const reason = error ? `${grpc.status[error.code] ?? error.code}: ${error.details}` : 'empty answer';
            reject(new UnavailableError(`V2Ray stats API at ${listen}: ${reason}`, { cause: error }));
          } else resolve(response);
        },
      );
    });
  }

  return {
    async uptime() {
      const response = await call(statsServiceDefinition.GetSysStats, create(SysStatsRequestSchema));
      return response.Uptime;
    },
    async userCounters() {
      const request = create(QueryStatsRequestSchema, { patterns: ['user>>>'], reset: false });
      const response = await call(statsServiceDefinition.QueryStats, request);
      const counters = new Map<string, Pair>();
      for (const stat of response.stat) {
        const match = USER_COUNTER.exec(stat.name);
        if (!match) continue;
        const pair = counters.get(match[1]!) ?? [0, 0];
        // A counter matched by two patterns comes twice with the same value; set, never add.
        pair[match[2] === 'uplink' ? 0 : 1] = Number(stat.value < 0n ? 0n : stat.value);
        counters.set(match[1]!, pair);
      }
      return counters;
    },
    close() {
      client.close();
    },
  };
}
