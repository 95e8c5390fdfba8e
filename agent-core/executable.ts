// The standalone `boxfleet-agent` executable a node runs (a Node single executable: no Node.js
// needed on the node). It takes the same arguments as `boxfleet agent`. describe and call use the
// hub's gRPC client, the one other module it bundles.
import { Command } from 'commander';
import { addAgentCommands, fail } from './cli.js';
import { AGENT_VERSION } from './version.js';

const program = new Command('boxfleet-agent').version(AGENT_VERSION).description('The boxfleet node agent.');
addAgentCommands(program, async (file) => (await import('../hub/agent-client.js')).connectLocalAgent(file), 'boxfleet-agent');
program.parseAsync().catch(fail);
