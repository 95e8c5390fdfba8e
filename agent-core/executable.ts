// The standalone `boxfleet-agent` executable a node runs (a Node single executable: no Node.js
// needed on the node). It takes the same arguments as `boxfleet agent`.
import { Command } from 'commander';
import { fail } from './common/cli-run.js';
import { AGENT_VERSION } from './common/version.js';
import { addAgentProgram } from './main.js';

const program = new Command('boxfleet-agent').version(AGENT_VERSION).description('The boxfleet node agent.');
addAgentProgram(program, 'boxfleet-agent');
program.parseAsync().catch(fail);
