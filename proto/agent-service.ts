// The AgentService of agent.proto as a grpc-js service definition, with protobuf-es doing the
// (de)serialisation. Imported only by the two adapters: agent-core/grpc-server.ts and
// agent-core/common/agent-client.ts.
import { fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { MethodDefinition } from '@grpc/grpc-js';
import {
  AgentService,
  DescribeRequestSchema,
  DescribeResponseSchema,
  EventSchema,
  ExecuteRequestSchema,
  ExecuteResponseSchema,
  WatchRequestSchema,
} from './gen/agent/v1/agent_pb.js';

export * from './gen/agent/v1/agent_pb.js';

/**
 * The largest request message an agent reads, after decompression; the hub sends nothing larger.
 * Sized for the biggest legitimate commands: config.apply of a config as large as the hub stores
 * (its 16 MiB body limit), and users.sync of tens of thousands of users (10,000 users of the
 * benchmark's shape, with limits, are 2.3 MB of JSON: about 230 bytes a user, so about 70,000 fit).
 */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/** The largest answer either side handles: config.get of a node with tens of thousands of users. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

function method<I extends DescMessage, O extends DescMessage>(
  name: string,
  input: I,
  output: O,
  responseStream: boolean,
): MethodDefinition<MessageShape<I>, MessageShape<O>> {
  return {
    path: `/${AgentService.typeName}/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: (message) => Buffer.from(toBinary(input, message)),
    requestDeserialize: (bytes) => fromBinary(input, bytes),
    responseSerialize: (message) => Buffer.from(toBinary(output, message)),
    responseDeserialize: (bytes) => fromBinary(output, bytes),
  };
}

export const agentServiceDefinition = {
  Describe: method('Describe', DescribeRequestSchema, DescribeResponseSchema, false),
  Execute: method('Execute', ExecuteRequestSchema, ExecuteResponseSchema, false),
  Watch: method('Watch', WatchRequestSchema, EventSchema, true),
};
