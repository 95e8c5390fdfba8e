// reload and restart: sing-box serves the same base config and users again, freshly rendered
// (reload) or after a stop and start (restart).
import { restartServed } from '../apply.js';
import type { Serving } from '../serving.js';
import { messageOf, noConfig, type Handlers, type State } from '../state.js';
import { servedUsers } from '../users.js';

export function reloadCommands(state: State, serving: Serving): Pick<Handlers, 'reload' | 'restart'> {
  return {
    reload: () =>
      state.serialize(async () => {
        if (!state.base) throw noConfig();
        const result = await serving.commit('reload', state.base, state.users, { bad: 'failed-precondition', force: true });
        return { changed: result.changed, reloaded: result.reloaded, rendered_hash: result.served.hash };
      }),

    restart: () =>
      state.serialize(async () => {
        if (!state.served) throw noConfig();
        try {
          await restartServed(serving.envFor(servedUsers(state.users)), state.served.config);
          state.reloads += 1;
          state.lastApply = { time: new Date().toISOString(), action: 'restart', ok: true, message: 'sing-box restarted' };
        } catch (error) {
          state.lastApply = { time: new Date().toISOString(), action: 'restart', ok: false, message: messageOf(error) };
          throw error;
        }
        const runner = await serving.runner.state();
        return { running: runner.running, pid: runner.pid };
      }),
  };
}
