// The agent's entry point: the one explicit list of built-in plugins, and the agent's commands
// running with it. The rest of agent-core knows plugins only through the SDK, so this is the one
// agent-core file that imports plugins (the dependency rules allow exactly it).
import type { Command } from 'commander';
import clashStats from '../plugins/clash-stats/index.js';
import firewall from '../plugins/firewall/index.js';
import healthProbe from '../plugins/health-probe/index.js';
import scripts from '../plugins/scripts/index.js';
import singboxConfig from '../plugins/singbox-config/index.js';
import sysmetrics from '../plugins/sysmetrics/index.js';
import { addAgentCommands } from './cli.js';
import type { AnyPluginDefinition } from './sdk.js';

/** Every first-party plugin. A plugin listed in agent.yaml without `module:` comes from here. */
export const BUILTIN_PLUGINS: readonly AnyPluginDefinition[] = [singboxConfig, clashStats, sysmetrics, firewall, healthProbe, scripts];

/**
 * The built-ins `agent init` enables. scripts runs executables the node's admin chose, so it stays
 * off until they enable it in agent.yaml with its folder.
 */
const ENABLED_AT_INIT = BUILTIN_PLUGINS.filter((p) => p !== scripts).map((p) => p.id);

/** `run`, `init`, `enrollment`, `describe` and `call` on `command`, as `invokedAs` names them. */
export const addAgentProgram = (command: Command, invokedAs: string): Command =>
  addAgentCommands(command, BUILTIN_PLUGINS, ENABLED_AT_INIT, invokedAs);
