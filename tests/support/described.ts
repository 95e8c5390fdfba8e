// A node's Describe as the node-status job would have stored it: one `tally` plugin offering these
// commands (object input, mutating), for tests of what the hub decides from stored descriptions.
import type { AgentDescription } from '../../agent-core/common/description.js';

export const tallyDescription = (nodeId: string, commands: { name: string; role: string }[]): AgentDescription => ({
  agentVersion: '1.0.0',
  nodeId,
  plugins: [
    {
      id: 'tally',
      version: '1.0.0',
      state: 'running',
      healthy: true,
      message: '',
      events: [],
      commands: commands.map((c) => ({ ...c, description: '', input: { type: 'object' }, output: {}, mutates: true, timeoutMs: 5000 })),
    },
  ],
});
