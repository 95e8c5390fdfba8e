// Owns the sing-box process and its config (architecture §4): base config + managed users +
// contributions from firewall and clash-stats → render → check → replace → reload → verify, rolled
// back to the last good config on failure. This file composes the pieces: state.ts (what the
// plugin keeps), serving.ts (putting a config in service), limits.ts (users past their limits cut
// off here) and commands/ (one file per command group). The README lists every file.
import { definePlugin } from '../../agent-core/sdk.js';
import { configCommands } from './commands/config.js';
import { reloadCommands } from './commands/reload.js';
import { statusCommands } from './commands/status.js';
import { createUserSync } from './commands/users.js';
import { commands, events } from './contract.js';
import { startLimits } from './limits.js';
import { createPeers } from './peers.js';
import { createServing } from './serving.js';
import { Settings } from './settings.js';
import { loadState } from './state.js';

export default definePlugin({
  id: 'singbox-config',
  version: '0.4.0',
  agent: '>=0.1.0 <1',
  description: 'The sing-box process and its config: users, contributions, checked reloads with rollback.',
  config: Settings,
  commands,
  events,
  async start(ctx) {
    const state = await loadState(ctx);
    const peers = createPeers(ctx);
    const serving = createServing(ctx, state, peers);
    const userSync = createUserSync(ctx, state, serving, peers);
    const limits = startLimits(ctx, state, serving, peers, userSync);
    await serving.start();

    return {
      commands: {
        ...statusCommands(state, serving, limits),
        ...configCommands(state, serving),
        ...userSync.handlers,
        ...reloadCommands(state, serving),
      },

      async health() {
        if (!state.served || (await serving.runner.isAlive().catch(() => false))) return { healthy: true };
        // Why it died and how many times: an operator (and the hub's alert) sees a crash loop as one.
        const runner = await serving.runner.state().catch(() => undefined);
        const exit = runner?.last_exit;
        if (!exit) return { healthy: false, message: 'sing-box is not running' };
        const next = exit.restart_in_ms === null ? '' : `; starting it again in ${Math.ceil(exit.restart_in_ms / 1000)} s`;
        return { healthy: false, message: `sing-box is not running (${runner.restarts} restarts so far): ${exit.reason}${next}` };
      },

      stop() {
        // sing-box keeps serving: only the watching stops.
        state.stopped = true;
        limits.stop();
        userSync.cancel();
        serving.runner.close();
      },
    };
  },
});
