// A real agent process, called over gRPC + TLS by a raw grpc-js client that can send what the hub
// never would: wrong or missing tokens, and messages far larger than the agent reads.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnrollment } from '../../agent-core/common/enrollment.js';
import { fetchAgentCertificate, type AgentClient } from '../../agent-core/common/agent-client.js';
import {
  agentServiceDefinition,
  ExecuteRequestSchema,
  MAX_REQUEST_BYTES,
  WatchRequestSchema,
  type Event,
} from '../../proto/agent-service.js';
import { makeUsers } from '../bench/singbox-node.mjs';
import { clientFromEnrollment, startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { helloPluginWith, type HelloPlugin } from '../support/hello-plugin.js';

const MB = 1024 * 1024;
const RawClient = grpc.makeGenericClientConstructor(agentServiceDefinition, 'AgentService');

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return kb / 1024;
}

/** The agent's RSS once four samples in a row (250 ms apart) lie within 1 MB of each other. */
async function settledRssMb(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 80; i++) {
    samples.push(rssMb(pid));
    const last = samples.slice(-4);
    if (last.length === 4 && Math.max(...last) - Math.min(...last) < 1) return last.at(-1)!;
    await new Promise((r) => setTimeout(r, 250));
  }
  return samples.at(-1)!;
}

function auth(token: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

describe('agent authentication and limits, real agent process', () => {
  let agent: AgentProcess;
  let hello: HelloPlugin;
  let client: AgentClient;
  let raw: grpc.Client;
  let token: string;

  /**
   * An Execute whose message is `bytes` already serialised (so that many calls share one buffer);
   * resolves with the status name it ended with.
   */
  const executeRaw = (bytes: Buffer, metadata: grpc.Metadata, timeoutMs = 30_000) =>
    new Promise<string>((resolve) => {
      raw.makeUnaryRequest(
        agentServiceDefinition.Execute.path,
        () => bytes,
        agentServiceDefinition.Execute.responseDeserialize,
        null,
        metadata,
        { deadline: Date.now() + timeoutMs },
        (error) => resolve(error ? grpc.status[error.code]! : 'OK'),
      );
    });
  const execute = (command: string, input: unknown) =>
    Buffer.from(toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { command, payloadJson: JSON.stringify(input), requestId: 'r' })));

  /** Opens a Watch and resolves with how it ended (a status name) or 'STILL OPEN' after `waitMs`. */
  const watchEnd = (metadata: grpc.Metadata, waitMs: number) =>
    new Promise<{ ended: string; ms: number }>((resolve) => {
      const started = performance.now();
      const stream = raw.makeServerStreamRequest(
        agentServiceDefinition.Watch.path,
        agentServiceDefinition.Watch.requestSerialize,
        agentServiceDefinition.Watch.responseDeserialize,
        create(WatchRequestSchema, { filter: [] }),
        metadata,
      );
      const timer = setTimeout(() => {
        stream.cancel();
        resolve({ ended: 'STILL OPEN', ms: waitMs });
      }, waitMs);
      stream.on('data', (_event: Event) => {});
      stream.on('error', (error: grpc.ServiceError) => {
        clearTimeout(timer);
        resolve({ ended: grpc.status[error.code]!, ms: performance.now() - started });
      });
    });

  beforeAll(async () => {
    hello = await helloPluginWith(process.cwd());
    agent = await startAgentProcess({ nodeId: 'auth', extraPlugins: `  hello:\n    module: ${hello.module}\nreload_on_change: false` });
    client = await clientFromEnrollment(agent.enrollment);
    const enrollment = parseEnrollment(agent.enrollment);
    token = enrollment.token;
    const certificate = await fetchAgentCertificate(enrollment.address, enrollment.fingerprint!);
    raw = new RawClient(
      enrollment.address,
      // The test trusts the certificate it just fetched; pinning is command-bus.suite's subject.
      grpc.credentials.createSsl(Buffer.from(certificate), null, null, { checkServerIdentity: () => undefined }),
      { 'grpc.max_send_message_length': 128 * MB, 'grpc.ssl_target_name_override': 'boxfleet-agent' },
    );
  });

  afterAll(async () => {
    raw?.close();
    client?.close();
    await agent?.stop();
    await hello?.cleanup();
  });

  it('refuses Execute with a wrong or missing token before the plugin runs', async () => {
    const greet = execute('hello.greet', { name: 'Ann' });
    expect((await client.execute('hello.greet', { name: 'Ann' })).result).toMatchObject({ count: 1 });
    expect(await executeRaw(greet, auth('x'.repeat(43)))).toBe('UNAUTHENTICATED');
    expect(await executeRaw(greet, auth(undefined))).toBe('UNAUTHENTICATED');
    expect(await executeRaw(greet, auth(`${token}x`))).toBe('UNAUTHENTICATED');
    expect((await client.execute('hello.greet', { name: 'Ann' })).result).toMatchObject({ count: 2 });
  });

  it('ends a Watch with a wrong or missing token at once with UNAUTHENTICATED', async () => {
    for (const metadata of [auth('x'.repeat(43)), auth(undefined)]) {
      const { ended, ms } = await watchEnd(metadata, 3000);
      expect(ended).toBe('UNAUTHENTICATED');
      expect(ms).toBeLessThan(1000);
    }
    expect((await watchEnd(auth(token), 300)).ended).toBe('STILL OPEN');
  });

  it('refuses a request larger than MAX_REQUEST_BYTES with RESOURCE_EXHAUSTED, and the hub does not send one', async () => {
    const input = { name: 'x'.repeat(MAX_REQUEST_BYTES) };
    expect(await executeRaw(execute('hello.greet', input), auth(token))).toBe('RESOURCE_EXHAUSTED');
    await expect(client.execute('hello.greet', input)).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', message: `Attempted to send message with a size larger than ${MAX_REQUEST_BYTES}` });
  });

  it('takes users.sync of 10,000 users over the bus', async () => {
    const users = makeUsers(10_000).map((user) => ({ ...user, remaining_bytes: 100 * 2 ** 30, expires_at: '2027-01-01T00:00:00.000Z' }));
    const { result } = await client.execute('singbox-config.users.sync', { revision: 1, users }, { timeoutMs: 90_000 });
    expect(result).toMatchObject({ revision: 1, changed: true });
    const listed = (await client.execute('singbox-config.users.list', {})).result as { users: unknown[] };
    expect(listed.users).toHaveLength(10_000);
  });

  it('does not read unauthenticated messages: 8 concurrent 60 MB Executes leave its memory where it was', async () => {
    const pid = agent.child.pid!;
    const huge = execute('hello.greet', { name: 'x'.repeat(60 * MB) });
    const wrong = auth('x'.repeat(43));
    // Warm up the refusing path so that what is measured is only what the messages would add.
    await Promise.all(Array.from({ length: 8 }, () => executeRaw(execute('hello.greet', { name: 'y' }), wrong)));
    const before = await settledRssMb(pid);

    for (let round = 0; round < 3; round++) {
      const ended = await Promise.all(Array.from({ length: 8 }, () => executeRaw(huge, wrong)));
      expect(ended).toEqual(Array(8).fill('UNAUTHENTICATED'));
    }
    const after = await settledRssMb(pid);
    expect(after - before, `agent RSS ${before.toFixed(1)} MB before, ${after.toFixed(1)} MB after`).toBeLessThan(10);
    expect((await client.execute('hello.greet', { name: 'Bo' })).result).toMatchObject({ message: 'Hello, Bo!' });
  });
});
