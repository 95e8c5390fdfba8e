// status, process and ssm.endpoints: what this node runs and serves, read-only.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describeVersionFailure, parseVersion, resolveBinary, VERSION_TIMEOUT_MS } from '../binary.js';
import type { Limits } from '../limits.js';
import type { Serving } from '../serving.js';
import { ssmEndpoints } from '../ssm.js';
import type { Handlers, State } from '../state.js';
import { servedUsers } from '../users.js';

const run = promisify(execFile);

export function statusCommands(state: State, serving: Serving, limits: Limits): Pick<Handlers, 'status' | 'process' | 'ssm.endpoints'> {
  const { settings, configPath } = state;
  const runnerState = () => serving.runner.state().catch(() => ({ running: false, pid: null, since: null, restarts: 0, last_exit: null }));
  return {
    async status(_input, { signal }) {
      const resolved = await resolveBinary(settings.binary);
      let found = false;
      let binaryFile: string | null = null;
      let version: string | null = null;
      let tags: string[] = [];
      let message: string;
      if ('reason' in resolved) {
        message = `sing-box not found: ${resolved.reason}; set plugins.singbox-config.binary`;
      } else {
        found = true;
        binaryFile = resolved.file;
        try {
          const { stdout } = await run(binaryFile, ['version'], { timeout: VERSION_TIMEOUT_MS, signal });
          ({ version, tags } = parseVersion(stdout));
          message = version
            ? `sing-box ${version} at ${binaryFile}`
            : `${binaryFile} answered \`version\` without a sing-box version line; is it sing-box?`;
        } catch (error) {
          // Found but unusable (crashes, hangs, wrong architecture): a status report, not a failure.
          message = `${binaryFile} version failed: ${describeVersionFailure(error)}`;
        }
      }
      const runner = await runnerState();
      const { base, served, users } = state;
      return {
        found,
        binary: binaryFile,
        version,
        tags,
        config_path: configPath,
        message,
        mode: settings.mode,
        ...runner,
        reloads: state.reloads,
        config: { version: base?.version ?? null, hash: base?.hash ?? null, rendered_hash: served?.hash ?? null },
        users: {
          revision: users?.revision ?? null,
          count: users?.users.length ?? 0,
          served: servedUsers(users).length,
          locally_removed: users?.removed ?? [],
        },
        last_apply: state.lastApply,
        limits: limits.status(),
        degraded: limits.isDegraded(),
      };
    },

    async process() {
      const { running, since, restarts } = await runnerState();
      return { running, since, restarts, reloads: state.reloads, last_apply_ok: state.lastApply?.ok ?? null };
    },

    'ssm.endpoints': async () => ({
      endpoints: state.served ? ssmEndpoints(state.served.config).map(({ inbound, url }) => ({ inbound, url })) : [],
    }),
  };
}
