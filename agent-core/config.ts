// agent.yaml: read once per (re)load, validated against one schema with its defaults, then frozen.
// Every error starts with the file name and names the field, e.g.
// `/etc/boxfleet/agent.yaml: plugins.sysmetrics.enabled: must be boolean`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { parseDocument } from 'yaml';
import { InvalidArgumentError } from './common/errors.js';
import { validate } from './common/schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/boxfleet/agent.yaml';

const PluginSettings = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    /** A path (relative to this file) or package name of a third-party plugin. */
    module: Type.Optional(Type.String({ minLength: 1 })),
  },
  // The plugin's own settings sit beside `enabled`; the plugin's schema checks them.
  { additionalProperties: true },
);

export const AgentConfigSchema = Type.Object({
  node_id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$' }),
  listen: Type.String({ default: '0.0.0.0:7443', pattern: '^.+:[0-9]{1,5}$' }),
  /** Plaintext gRPC, for loopback tests only. */
  insecure: Type.Boolean({ default: false }),
  tls: Type.Object(
    { cert: Type.String({ default: 'agent.crt' }), key: Type.String({ default: 'agent.key' }) },
    { default: {} },
  ),
  token_file: Type.String({ default: 'token' }),
  state_dir: Type.String({ default: 'state' }),
  command_timeout_ms: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
  /** Re-read this file when it changes on disk (SIGHUP always re-reads it). */
  reload_on_change: Type.Boolean({ default: true }),
  log: Type.Object(
    {
      level: Type.Union([Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug')], {
        default: 'error',
      }),
      file: Type.Optional(Type.String({ minLength: 1 })),
      /**
       * The file gets no more lines past this size until it is rotated (SIGUSR1 reopens it), so
       * logs never fill a small node's disk; standard error (journald) still gets them.
       */
      max_file_mb: Type.Integer({ minimum: 1, maximum: 10_000, default: 50 }),
      /** Numbered debug lines per second, to prove a log pipeline end to end; 0: none. */
      load_test_lines_per_s: Type.Integer({ minimum: 0, maximum: 100_000, default: 0 }),
    },
    { default: {} },
  ),
  /**
   * SkyWalking traces of the hub's calls (continuing the hub's traces). Off unless a collector is
   * given: tracing costs the agent about 6–10 MB of memory.
   */
  tracing: Type.Object(
    {
      /** SkyWalking OAP's gRPC address, host:11800. */
      collector: Type.String({ default: '', pattern: '^$|^.+:[0-9]{1,5}$' }),
    },
    { default: {} },
  ),
  plugins: Type.Record(Type.String(), PluginSettings, { default: {} }),
});

export type AgentConfig = Static<typeof AgentConfigSchema> & {
  /** Absolute path of the file this config was read from. */
  readonly file: string;
};

/** Reads and validates agent.yaml; relative paths in it are made absolute against its folder. */
export async function readAgentConfig(file: string): Promise<AgentConfig> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`${absolute}: cannot read the agent config: ${(error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new InvalidArgumentError(`${absolute}: not valid YAML: ${doc.errors[0]!.message}`);
  }
  let config: Static<typeof AgentConfigSchema>;
  try {
    config = validate(AgentConfigSchema, doc.toJS() ?? {}, 'config');
  } catch (error) {
    throw new InvalidArgumentError(`${absolute}: ${(error as Error).message.replace(/^config\./, '')}`);
  }
  const dir = path.dirname(absolute);
  const at = (p: string) => path.resolve(dir, p);
  return Object.freeze({
    ...config,
    file: absolute,
    tls: { cert: at(config.tls.cert), key: at(config.tls.key) },
    token_file: at(config.token_file),
    state_dir: at(config.state_dir),
    log: { ...config.log, file: config.log.file && at(config.log.file) },
  });
}

