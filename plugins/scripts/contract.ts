// scripts' commands as the hub and the dashboard see them: the TypeBox schemas of every command's
// input and output. Dependency-free (TypeBox only), so the hub and the dashboard can import it
// without the plugin; index.ts declares the commands with these.
import { type Static, Type } from '@sinclair/typebox';

/** A script's file name in the folder, and the name commands use; no dots or slashes, so never a path. */
export const SCRIPT_NAME = '^[a-z0-9][a-z0-9_-]{0,63}$';

/** The longest `timeout_s` a sidecar may declare. */
export const MAX_TIMEOUT_S = 3600;

export const ScriptRole = Type.Unsafe<'admin' | 'owner'>({ type: 'string', enum: ['admin', 'owner'] });

export const ListInput = Type.Object({});

export const ScriptInfo = Type.Object({
  name: Type.String({ description: 'The file name in the folder (may break the naming rule, then `problem` says so).' }),
  usable: Type.Boolean({ description: 'False: the script is never run; `problem` says why.' }),
  problem: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  args: Type.Optional(Type.Unknown({ description: 'The JSON Schema of `args` (an object schema).' })),
  timeout_s: Type.Optional(Type.Number()),
  role: Type.Optional(ScriptRole),
});
export type ScriptInfo = Static<typeof ScriptInfo>;

export const ListOutput = Type.Object({
  dir: Type.String(),
  scripts: Type.Array(ScriptInfo),
});
export type ListOutput = Static<typeof ListOutput>;

export const RunInput = Type.Object({
  name: Type.String({ pattern: SCRIPT_NAME, description: 'A script in the folder.' }),
  args: Type.Record(Type.String(), Type.Unknown(), {
    default: {},
    description: "The script's arguments, checked against its sidecar's `args` schema and passed as argv.",
  }),
});
export type RunInput = Static<typeof RunInput>;

export const RunOutput = Type.Object({
  exit_code: Type.Union([Type.Integer(), Type.Null()], { description: 'Null when a signal ended the script.' }),
  signal: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Type.Number(),
  stdout: Type.String(),
  stderr: Type.String(),
  truncated: Type.Boolean({ description: 'stdout or stderr went over the cap; the cut one ends with a marker.' }),
  timed_out: Type.Boolean({ description: "The script outlived its timeout_s; its process group was killed." }),
});
export type RunOutput = Static<typeof RunOutput>;
