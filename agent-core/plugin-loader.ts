// Turns the `plugins:` map of agent.yaml into plugin entries: built-ins by id, third-party
// plugins by `module:` (a path relative to the config file, or a package name).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { AgentConfig } from './config.js';
import { InvalidArgumentError } from './common/errors.js';
import type { PluginEntry } from './plugin-host.js';
import type { AnyPluginDefinition } from './sdk.js';

function looksLikePlugin(value: unknown): value is AnyPluginDefinition {
  const v = value as Partial<AnyPluginDefinition> | null;
  return !!v && typeof v.id === 'string' && typeof v.start === 'function' && typeof v.commands === 'object';
}

async function importModule(config: AgentConfig, id: string, specifier: string): Promise<{ definition: AnyPluginDefinition; module: string }> {
  let resolved: string;
  try {
    resolved = createRequire(config.file).resolve(specifier);
  } catch (error) {
    throw new InvalidArgumentError(`${config.file}: plugins.${id}.module: cannot find ${specifier}: ${(error as Error).message.split('\n')[0]}`);
  }
  let loaded: { default?: unknown };
  try {
    loaded = await import(pathToFileURL(resolved).href);
  } catch (error) {
    throw new InvalidArgumentError(`${config.file}: plugins.${id}.module: ${specifier} failed to load: ${(error as Error).message}`);
  }
  const definition = loaded.default;
  if (!looksLikePlugin(definition)) {
    throw new InvalidArgumentError(`${config.file}: plugins.${id}.module: ${specifier} has no default export made by definePlugin()`);
  }
  if (definition.id !== id) {
    throw new InvalidArgumentError(`${config.file}: plugins.${id}: ${specifier} is the plugin "${definition.id}"; use that id as the key`);
  }
  return { definition, module: resolved };
}

/**
 * `builtins` are the plugins the agent's entry point ships, found by id. Built-ins missing from
 * the config are listed as disabled, so Describe shows what could run.
 */
export async function loadPluginEntries(config: AgentConfig, builtins: readonly AnyPluginDefinition[]): Promise<PluginEntry[]> {
  const entries: PluginEntry[] = [];
  for (const [id, { enabled, module, ...settings }] of Object.entries(config.plugins)) {
    const builtin = builtins.find((p) => p.id === id);
    if (!module && !builtin) {
      throw new InvalidArgumentError(`${config.file}: plugins.${id}: no built-in plugin ${id}; name a third-party plugin with module:`);
    }
    entries.push({ ...(module ? await importModule(config, id, module) : { definition: builtin! }), enabled, settings });
  }
  for (const builtin of builtins) {
    if (!(builtin.id in config.plugins)) entries.push({ definition: builtin, enabled: false, settings: {} });
  }
  return entries;
}
