import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAgentConfig } from '../../../agent-core/config.js';
import { loadPluginEntries } from '../../../agent-core/plugin-loader.js';
import { BUILTIN_PLUGINS } from '../../../agent-core/main.js';
import { PluginHost } from '../../../agent-core/plugin-host.js';

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-config-'));
  const file = path.join(dir, 'agent.yaml');
  await writeFile(file, text);
  return file;
}

const quiet = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };

describe('agent config', () => {
  it('fills defaults and resolves paths against the config folder', async () => {
    const file = await configFile('node_id: hk-1\nplugins:\n  sysmetrics: {}\n');
    const config = await readAgentConfig(file);
    const dir = path.dirname(file);
    expect(config).toMatchObject({
      node_id: 'hk-1',
      listen: '0.0.0.0:7443',
      insecure: false,
      command_timeout_ms: 5000,
      log: { level: 'error' },
      token_file: path.join(dir, 'token'),
      tls: { cert: path.join(dir, 'agent.crt'), key: path.join(dir, 'agent.key') },
      plugins: { sysmetrics: { enabled: true } },
    });
  });

  it('names the file and the field in every error', async () => {
    const cases: [string, string][] = [
      ['plugins:\n  sysmetrics: {}\n', 'node_id: is required'],
      ['node_id: a\nplugins:\n  sysmetrics:\n    enabled: "yes"\n', 'plugins.sysmetrics.enabled: must be boolean'],
      ['node_id: a\nlisten_port: 1\n', 'listen_port: unknown field'],
      ['node_id: a\nlog:\n  level: verbose\n', 'log.level: must be'],
      ['node_id: a\n  plugins: [\n', 'not valid YAML'],
    ];
    for (const [text, expected] of cases) {
      const file = await configFile(text);
      await expect(readAgentConfig(file)).rejects.toThrow(`${file}: ${expected}`);
    }
  });

  it('refuses an unknown plugin without module:, and a module that does not exist', async () => {
    const unknown = await configFile('node_id: a\nplugins:\n  nope: {}\n');
    await expect(loadPluginEntries(await readAgentConfig(unknown), BUILTIN_PLUGINS)).rejects.toThrow(
      `${unknown}: plugins.nope: no built-in plugin nope; name a third-party plugin with module:`,
    );
    const missing = await configFile('node_id: a\nplugins:\n  extra:\n    module: ./does-not-exist.js\n');
    await expect(loadPluginEntries(await readAgentConfig(missing), BUILTIN_PLUGINS)).rejects.toThrow(
      `${missing}: plugins.extra.module: cannot find ./does-not-exist.js`,
    );
  });

  it('loads a third-party plugin by module path and checks the key matches its id', async () => {
    const hello = path.resolve('examples/hello-plugin/index.js');
    const ok = await configFile(`node_id: a\nplugins:\n  hello:\n    module: ${hello}\n    greeting: Hi\n`);
    const entries = await loadPluginEntries(await readAgentConfig(ok), BUILTIN_PLUGINS);
    expect(entries.find((e) => e.definition.id === 'hello')).toMatchObject({ enabled: true, settings: { greeting: 'Hi' } });
    // Built-ins the file does not name are there, disabled, so Describe shows what could run.
    expect(entries.filter((e) => !e.enabled).map((e) => e.definition.id).sort()).toEqual(
      ['clash-stats', 'firewall', 'health-probe', 'scripts', 'singbox-config', 'sysmetrics'],
    );
    const wrongKey = await configFile(`node_id: a\nplugins:\n  greeter:\n    module: ${hello}\n`);
    await expect(loadPluginEntries(await readAgentConfig(wrongKey), BUILTIN_PLUGINS)).rejects.toThrow('plugins.greeter: ');
  });

  it("checks each plugin's own settings against its schema before anything starts", async () => {
    const file = await configFile('node_id: a\nplugins:\n  health-probe:\n    colour: red\n');
    const host = new PluginHost({ nodeId: 'a', agentVersion: '0.1.0', stateDir: os.tmpdir(), logger: quiet, commandTimeoutMs: 5000 });
    expect(() => host.prepare([])).not.toThrow();
    const entries = await loadPluginEntries(await readAgentConfig(file), BUILTIN_PLUGINS);
    expect(() => host.prepare(entries)).toThrow('plugins.health-probe.colour: unknown field');
  });
});
