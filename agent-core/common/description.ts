// What an agent's Describe returns, as the hub's client hands it on and the dashboard shows it.
// Dependency-free, so the dashboard bundles the same types.

export interface CommandDescription {
  name: string;
  description: string;
  /** JSON Schema of the input and the output. */
  input: unknown;
  output: unknown;
  mutates: boolean;
  /** The least role that may run it, as the agent declares it; the hub refuses a role it does not know. */
  role: string;
  timeoutMs: number;
}

export interface PluginDescription {
  id: string;
  version: string;
  state: string;
  healthy: boolean;
  message: string;
  commands: CommandDescription[];
  events: { name: string; description: string; schema: unknown }[];
}

export interface AgentDescription {
  agentVersion: string;
  nodeId: string;
  plugins: PluginDescription[];
}
