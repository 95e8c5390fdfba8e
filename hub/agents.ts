// One gRPC client per enrolled node, kept open and re-created when the node changes, plus a short
// cache of each node's Describe (so a command's own deadline is known before it is sent).
import fp from 'fastify-plugin';
import { AgentClient, type AgentDescription } from './agent-client.js';
import type { Node } from './db/models.js';
import { fromAgent } from './errors.js';

const DESCRIBE_TTL_MS = 60_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5000;

export class AgentPool {
  private readonly clients = new Map<string, { client: AgentClient; key: string }>();
  private readonly described = new Map<string, { at: number; description: AgentDescription }>();

  client(node: Node): AgentClient {
    const key = `${node.address}|${node.fingerprint}|${node.token}|${node.insecure}`;
    const current = this.clients.get(node.id);
    if (current?.key === key) return current.client;
    current?.client.close();
    const client = new AgentClient({
      address: node.address,
      token: node.token,
      insecure: Boolean(node.insecure),
      certificate: node.certificate ?? undefined,
      fingerprint: node.fingerprint ?? undefined,
    });
    this.clients.set(node.id, { client, key });
    this.described.delete(node.id);
    return client;
  }

  async describe(node: Node, timeoutMs = 5000): Promise<AgentDescription> {
    try {
      const description = await this.client(node).describe(timeoutMs);
      this.described.set(node.id, { at: Date.now(), description });
      return description;
    } catch (error) {
      throw fromAgent(node.id, error);
    }
  }

  /** The node's command by name, from a Describe at most a minute old. */
  private async commandInfo(node: Node, command: string) {
    let cached = this.described.get(node.id);
    if (!cached || Date.now() - cached.at > DESCRIBE_TTL_MS) {
      await this.describe(node);
      cached = this.described.get(node.id)!;
    }
    return cached.description.plugins.flatMap((p) => p.commands).find((c) => c.name === command);
  }

  /** The least role the agent says the command needs; undefined when the node has no such command. */
  async commandRole(node: Node, command: string): Promise<string | undefined> {
    return (await this.commandInfo(node, command))?.role;
  }

  /**
   * Whether the node's command declares this input field, from a Describe at most a minute old.
   * Ask before sending a field newer than the plugin: its schema refuses unknown fields.
   */
  async takesInput(node: Node, command: string, field: string): Promise<boolean> {
    const input = (await this.commandInfo(node, command))?.input as { properties?: Record<string, unknown> } | undefined;
    return input?.properties?.[field] !== undefined;
  }

  /** Runs a plugin command with that command's own deadline; errors become HubErrors. */
  async execute(node: Node, command: string, input: unknown, requestId?: string) {
    try {
      const timeoutMs = (await this.commandInfo(node, command))?.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
      return await this.client(node).execute(command, input, { timeoutMs, requestId });
    } catch (error) {
      throw fromAgent(node.id, error);
    }
  }

  forget(nodeId: string): void {
    this.clients.get(nodeId)?.client.close();
    this.clients.delete(nodeId);
    this.described.delete(nodeId);
  }

  close(): void {
    for (const id of [...this.clients.keys()]) this.forget(id);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    agents: AgentPool;
  }
}

export const agentsPlugin = fp(
  async (app) => {
    const pool = new AgentPool();
    app.decorate('agents', pool);
    app.addHook('onClose', () => pool.close());
  },
  { name: 'agents' },
);
