// Every first-party plugin, by id. A plugin listed in agent.yaml without `module:` comes from here.
import clashStats from '../plugins/clash-stats/index.js';
import firewall from '../plugins/firewall/index.js';
import healthProbe from '../plugins/health-probe/index.js';
import singboxConfig from '../plugins/singbox-config/index.js';
import sysmetrics from '../plugins/sysmetrics/index.js';
import type { AnyPluginDefinition } from './sdk.js';

export const BUILTIN_PLUGINS: readonly AnyPluginDefinition[] = [
  singboxConfig,
  clashStats,
  sysmetrics,
  firewall,
  healthProbe,
];
