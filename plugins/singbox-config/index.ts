// Owns the sing-box process and its config. For now it only reports which sing-box it would run.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { definePlugin, Type } from '../../agent-core/sdk.js';

const run = promisify(execFile);

// `sing-box version` only prints build info; if it takes longer than this the binary is wedged.
const VERSION_TIMEOUT_MS = 3000;

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** A bare name is looked up on PATH like a shell would; anything with a slash is used as is. */
async function resolveBinary(binary: string): Promise<{ file: string } | { reason: string }> {
  if (binary.includes('/')) {
    const file = path.resolve(binary);
    return (await isExecutableFile(file)) ? { file } : { reason: `${file} is not an executable file` };
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.resolve(dir, binary);
    if (await isExecutableFile(file)) return { file };
  }
  return { reason: `no ${JSON.stringify(binary)} on PATH` };
}

/** Reads `sing-box version`: first line `sing-box version X`, later `Tags: a,b,c`. */
function parseVersion(stdout: string): { version: string | null; tags: string[] } {
  const version = /^sing-box version (\S+)/m.exec(stdout)?.[1] ?? null;
  const tagLine = /^Tags:(.*)$/m.exec(stdout)?.[1] ?? '';
  const tags = tagLine.split(',').map((tag) => tag.trim()).filter(Boolean);
  return { version, tags };
}

/** Why `<binary> version` failed, in one line. */
function describeFailure(error: unknown): string {
  const e = error as { killed?: boolean; code?: unknown; stderr?: unknown; message?: unknown };
  if (e.killed) return `did not answer within ${VERSION_TIMEOUT_MS} ms`;
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim().split('\n')[0] : '';
  if (typeof e.code === 'number') return `exited with code ${e.code}${stderr ? `: ${stderr}` : ''}`;
  return String(e.message ?? error).split('\n')[0]!;
}

export default definePlugin({
  id: 'singbox-config',
  version: '0.1.0',
  agent: '>=0.1.0 <1',
  description: 'The sing-box process and its config.',
  config: Type.Object({
    binary: Type.String({
      minLength: 1,
      default: 'sing-box',
      description: 'sing-box executable: a bare name is looked up on PATH, a path is used as is.',
    }),
    config_path: Type.String({ minLength: 1, default: '/etc/sing-box/config.json' }),
  }),
  commands: {
    status: {
      description: 'Which sing-box binary the agent uses, its version and build tags.',
      input: Type.Object({}),
      output: Type.Object({
        found: Type.Boolean(),
        binary: Type.Union([Type.String(), Type.Null()]),
        version: Type.Union([Type.String(), Type.Null()]),
        tags: Type.Array(Type.String()),
        config_path: Type.String(),
        message: Type.String(),
      }),
    },
  },
  start(ctx) {
    const { config_path } = ctx.config;
    return {
      commands: {
        async status(_input, { signal }) {
          const resolved = await resolveBinary(ctx.config.binary);
          if ('reason' in resolved) {
            return {
              found: false,
              binary: null,
              version: null,
              tags: [],
              config_path,
              message: `sing-box not found: ${resolved.reason}; set plugins.singbox-config.binary`,
            };
          }
          const binary = resolved.file;
          try {
            const { stdout } = await run(binary, ['version'], { timeout: VERSION_TIMEOUT_MS, signal });
            const { version, tags } = parseVersion(stdout);
            const message = version
              ? `sing-box ${version} at ${binary}`
              : `${binary} answered \`version\` without a sing-box version line; is it sing-box?`;
            return { found: true, binary, version, tags, config_path, message };
          } catch (error) {
            // Found but unusable (crashes, hangs, wrong architecture): a status report, not a failure.
            return {
              found: true,
              binary,
              version: null,
              tags: [],
              config_path,
              message: `${binary} version failed: ${describeFailure(error)}`,
            };
          }
        },
      },
    };
  },
});
