// config.*: the base config. config.apply serves a new one as a new version; config.rollback
// serves a kept one again, also as a new version; config.get and config.history read them.
import { configHash, FailedPreconditionError, NotFoundError } from '../../../agent-core/sdk.js';
import { checkBase, redact, type SingboxConfig } from '../render.js';
import type { Serving } from '../serving.js';
import { noConfig, type Handlers, type State } from '../state.js';
import { readIfExists, type BaseState } from '../store.js';


export function configCommands(state: State, serving: Serving): Pick<Handlers, 'config.get' | 'config.apply' | 'config.history' | 'config.rollback'> {
  const { history } = state;

  /** The served config with its users: the plugin keeps it without them (apply.ts ServedState), the file has them. */
  async function rendered(): Promise<SingboxConfig | null> {
    if (!state.served) return null;
    const text = await readIfExists(state.configPath);
    try {
      if (text !== undefined) return JSON.parse(text) as SingboxConfig;
    } catch {
      // Replaced by something that is not JSON since: what the plugin last served is all there is.
    }
    return state.served.config;
  }

  return {
    'config.get': async () => {
      const served = await rendered();
      return { version: state.base?.version ?? null, base: state.base?.config ?? null, rendered: served && redact(served) };
    },

    async 'config.apply'({ config, comment }) {
      checkBase(config);
      return state.serialize(async () => {
        const { base } = state;
        const hash = configHash(config);
        const same = base?.hash === hash;
        const nextBase: BaseState =
          same && base
            ? base
            : {
                version: Math.max(base?.version ?? 0, await history.newest()) + 1,
                time: new Date().toISOString(),
                comment: comment ?? '',
                hash,
                config,
              };
        const result = await serving.commit('config.apply', nextBase, state.users, { bad: 'invalid-argument' });
        if (!same) await serving.keepVersion(nextBase, result.served);
        return { version: nextBase.version, hash, reloaded: result.reloaded };
      });
    },

    'config.history': async () => ({
      current: state.base?.version ?? null,
      versions: (await history.list()).map(({ version, time, hash, comment }) => ({ version, time, hash, comment })),
    }),

    'config.rollback': ({ version }) =>
      state.serialize(async () => {
        if (!state.base) throw noConfig();
        const current = state.base;
        let target = version;
        if (target === undefined) {
          target = (await history.list()).find((entry) => entry.version < current.version)?.version;
          if (target === undefined) throw new FailedPreconditionError(`no version before ${current.version} in the history`);
        }
        if (target === current.version) throw new FailedPreconditionError(`input.version: ${target} is the current version`);
        const found = await history.read(target);
        if (!found) {
          throw new NotFoundError(`input.version: version ${target} is not in the history (it keeps the last ${state.settings.history_size})`);
        }
        const nextBase: BaseState = {
          version: Math.max(current.version, await history.newest()) + 1,
          time: new Date().toISOString(),
          comment: `rollback to version ${target}`,
          hash: found.entry.hash,
          config: found.base,
        };
        const result = await serving.commit('config.rollback', nextBase, state.users, { bad: 'failed-precondition' });
        await serving.keepVersion(nextBase, result.served);
        return { version: nextBase.version, restored: target, hash: nextBase.hash, reloaded: result.reloaded };
      }),
  };
}
