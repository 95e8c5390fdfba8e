// The AgentService of agent.proto as a grpc-js service definition, with protobuf-es doing the
// (de)serialisation. Imported only by the two adapters: agent-core/grpc-server.ts and
// hub/agent-client.ts.
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
