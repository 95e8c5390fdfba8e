// Operator scripts: runs the executables the node's own admin put in one folder (agent.yaml `dir`),
// each declared by a sidecar (description, arguments as a JSON Schema, timeout, role). Nothing the
// hub sends is ever run as code: a command names a script and gives arguments, which are checked
// against its schema and passed as argv. Each script's role is enforced here, and offered to the hub
// as two commands (run: admin scripts; run-owner: any), so the hub's role check decides who runs what.
import { definePlugin, PermissionDeniedError, Type, type CallInfo } from '../../agent-core/sdk.js';
import { ListInput, ListOutput, MAX_TIMEOUT_S, RunInput, RunOutput } from './contract.js';

const MAX_KILL_GRACE_MS = 30_000;

const Config = Type.Object({
  dir: Type.String({
    pattern: '^/',
    default: '/etc/boxfleet/scripts',
    description: 'The folder of scripts and their sidecars (an absolute path). Only its owner should be able to write it.',
  }),
  output_cap_bytes: Type.Integer({ minimum: 1024, maximum: 4 * 1024 * 1024, default: 65_536, description: 'Bytes of stdout and of stderr kept per run; the rest is dropped and the cut marked.' }),
  kill_grace_ms: Type.Integer({ minimum: 100, maximum: MAX_KILL_GRACE_MS, default: 5000, description: "After a timeout, how long the script's process group has between SIGTERM and SIGKILL." }),
});

// The command's own deadline leaves room for the longest script timeout, the kill grace and SIGKILL.
const RUN_TIMEOUT_MS = MAX_TIMEOUT_S * 1000 + MAX_KILL_GRACE_MS + 10_000;

/** What a script sees of the agent's environment: enough to find programs, nothing the agent holds. */
function scriptEnv(nodeId: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { BOXFLEET_NODE_ID: nodeId };
  for (const key of ['PATH', 'HOME', 'LANG']) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

export default definePlugin({
  id: 'scripts',
  version: '0.1.0',
  agent: '>=0.1.0 <1',
  description: "Runs the scripts the node's admin put in a folder, with the arguments, timeout and role each declares.",
  config: Config,
  commands: {
    list: {
      description: 'The scripts in the folder: name, description, argument schema, timeout and role; unusable ones with the reason.',
      input: ListInput,
      output: ListOutput,
      role: 'admin',
    },
    run: {
      description: "Runs a script whose sidecar says role admin, with arguments checked against its schema; output, exit code, duration.",
      input: RunInput,
      output: RunOutput,
      mutates: true,
      role: 'admin',
      timeoutMs: RUN_TIMEOUT_MS,
    },
    'run-owner': {
      description: 'Runs any script, those whose sidecar says role owner included.',
      input: RunInput,
      output: RunOutput,
      mutates: true,
      role: 'owner',
      timeoutMs: RUN_TIMEOUT_MS,
    },
  },
  async start(ctx) {
    // Loaded only when the plugin is enabled, so a node without scripts carries none of it.
    const [{ ScriptFolder }, { runScript }] = await Promise.all([import('./folder.js'), import('./run.js')]);
    const folder = new ScriptFolder(ctx.config.dir);
    const env = scriptEnv(ctx.nodeId);

    const run = async ({ name, args }: RunInput, call: CallInfo, asOwner: boolean): Promise<RunOutput> => {
      const script = await folder.get(name);
      if (script.role === 'owner' && !asOwner) {
        throw new PermissionDeniedError(`script ${name} needs the owner role: run it with scripts.run-owner`);
      }
      const argv = script.argv(args);
      const result = await runScript({
        file: script.file,
        argv,
        cwd: folder.dir,
        env,
        timeoutMs: script.timeout_s * 1000,
        graceMs: ctx.config.kill_grace_ms,
        capBytes: ctx.config.output_cap_bytes,
        signal: call.signal,
      });
      const { exit_code, signal, duration_ms, timed_out, truncated } = result;
      ctx.logger.info('script ran', { script: name, request_id: call.requestId, exit_code, signal, duration_ms, timed_out, truncated });
      return result;
    };

    return {
      commands: {
        list: async () => ({ dir: folder.dir, scripts: await folder.list() }),
        run: (input, call) => run(input, call, false),
        'run-owner': (input, call) => run(input, call, true),
      },
      async health() {
        try {
          const unusable = (await folder.list()).filter((s) => !s.usable).length;
          return { healthy: true, message: unusable ? `${unusable} script(s) unusable; scripts.list says why` : undefined };
        } catch (error) {
          return { healthy: false, message: (error as Error).message };
        }
      },
    };
  },
});
