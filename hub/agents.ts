// One gRPC client per enrolled node, kept open and re-created when the node changes, plus a short
// cache of each node's Describe (so a command's own deadline is known before it is sent).
import fp from 'fastify-plugin';
import type { AgentDescription, CommandDescription } from '../agent-core/common/description.js';
import { AgentClient } from '../agent-core/common/agent-client.js';
import type { Node } from './db/models.js';
import { fromAgent, HubError } from './errors.js';

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

  /**
   * The node's command as its agent describes it now, for deciding who may run it. A command the
   * cached Describe lacks may be a plugin enabled since then: ask the agent once more before
   * answering that there is no such command, so a stale cache never leaves a command unchecked.
   */
  async command(node: Node, command: string): Promise<CommandDescription> {
    const find = (description: AgentDescription) => description.plugins.flatMap((p) => p.commands).find((c) => c.name === command);
    const cached = this.described.get(node.id);
    let description = cached && Date.now() - cached.at <= DESCRIBE_TTL_MS ? cached.description : undefined;
    let found = description && find(description);
    if (!found) {
      description = await this.describe(node);
      found = find(description);
    }
    if (found) return found;
    const plugin = description!.plugins.find((p) => p.id === command.slice(0, command.indexOf('.')));
    if (plugin?.state === 'disabled') throw new HubError('HUB_ERR_CONFLICT', `plugin ${plugin.id} is disabled on node ${node.id}`);
    throw new HubError('HUB_ERR_NOT_FOUND', `no command ${command} on node ${node.id}`);
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
