// The dependency rules (.dependency-cruiser.cjs) hold for the repository, and each of them really
// refuses the import it is written against: a rule that matched nothing would pass forever.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RULES = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: string;
}

/** The violations dependency-cruiser finds under `dirs` of `cwd`, with the repository's rules. */
async function violations(cwd: string, dirs: string[]): Promise<Violation[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [DEPCRUISE, '--config', RULES, '--output-type', 'json', ...dirs], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
  });
  const report = JSON.parse(stdout) as { summary: { violations: { from: string; to: string; rule: { name: string } }[] } };
  return report.summary.violations.map((v) => ({ from: v.from, to: v.to, rule: v.rule.name }));
}

describe('layering', () => {
  it('holds in this repository: the hub, agent-core, plugins and the dashboard import only what their layer may', async () => {
    expect(await violations(ROOT, ['agent-core', 'hub', 'plugins', 'web-components/src', 'proto'])).toEqual([]);
  });

  describe('each rule refuses the import it names and lets the allowed ones through', () => {
    let dir: string;
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('on a small tree with one import of every kind', async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-layers-'));
      const files: Record<string, string> = {
        'hub/routes.ts': [
          "import '../agent-core/agent.js';",
          "import '../agent-core/common/log.js';",
          "import '../plugins/alpha/index.js';",
          "import '../plugins/alpha/contract.js';",
          "import '../proto/agent-service.js';",
          "import './missing.js';",
          "import '@fastify/rate-limit';",
        ].join('\n'),
        'hub/rate-limit-store.ts': "import '@fastify/rate-limit';",
        'node_modules/@fastify/rate-limit/package.json': JSON.stringify({ name: '@fastify/rate-limit', main: 'index.js' }),
        'node_modules/@fastify/rate-limit/index.js': '',
        'hub/cli.ts': ["import '../agent-core/main.js';", "import '../agent-core/cli.js';"].join('\n'),
        'agent-core/agent.ts': "import '../plugins/alpha/index.js';",
        'agent-core/cli.ts': '',
        'agent-core/main.ts': "import '../plugins/alpha/index.js';",
        'agent-core/sdk.ts': '',
        'agent-core/grpc-server.ts': "import '../proto/agent-service.js';",
        'agent-core/common/log.ts': "import '../agent.js';",
        'plugins/alpha/index.ts': [
          "import '../../agent-core/sdk.js';",
          "import '../../agent-core/agent.js';",
          "import '../../hub/routes.js';",
          "import '../beta/index.js';",
          "import './contract.js';",
        ].join('\n'),
        'plugins/alpha/contract.ts': "import 'node:fs';",
        'plugins/beta/index.ts': '',
        'proto/agent-service.ts': '',
        'web-components/src/screen.ts': [
          "import '../../hub/routes.js';",
          "import '../../plugins/alpha/contract.js';",
          "import '../../agent-core/common/roles.js';",
        ].join('\n'),
        'web-components/src/widget.ts': "import type {} from '../../plugins/alpha/contract.js';",
        'agent-core/common/roles.ts': '',
        'tsconfig.json': JSON.stringify({
          compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowJs: true, noEmit: true },
        }),
      };
      for (const [file, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
        await writeFile(path.join(dir, file), `${text}\n`);
      }
      const found = await violations(dir, ['hub', 'agent-core', 'plugins', 'proto', 'web-components/src']);
      const key = (v: Violation) => `${v.rule}: ${v.from} → ${v.to}`;
      expect(found.map(key).sort()).toEqual(
        [
          { rule: 'hub-not-agent-internals', from: 'hub/routes.ts', to: 'agent-core/agent.ts' },
          { rule: 'hub-only-plugin-contracts', from: 'hub/routes.ts', to: 'plugins/alpha/index.ts' },
          { rule: 'generated-agent-proto-behind-adapters', from: 'hub/routes.ts', to: 'proto/agent-service.ts' },
          { rule: 'no-unresolvable', from: 'hub/routes.ts', to: './missing.js' },
          { rule: 'hub-rate-limits-shared', from: 'hub/routes.ts', to: 'node_modules/@fastify/rate-limit/index.js' },
          { rule: 'hub-cli-only-agent-entry', from: 'hub/cli.ts', to: 'agent-core/cli.ts' },
          { rule: 'agent-core-not-plugins', from: 'agent-core/agent.ts', to: 'plugins/alpha/index.ts' },
          { rule: 'common-stands-alone', from: 'agent-core/common/log.ts', to: 'agent-core/agent.ts' },
          { rule: 'plugins-only-sdk', from: 'plugins/alpha/index.ts', to: 'agent-core/agent.ts' },
          { rule: 'agent-not-hub', from: 'plugins/alpha/index.ts', to: 'hub/routes.ts' },
          { rule: 'plugins-not-each-other', from: 'plugins/alpha/index.ts', to: 'plugins/beta/index.ts' },
          { rule: 'contracts-dependency-free', from: 'plugins/alpha/contract.ts', to: 'fs' },
          { rule: 'web-types-and-common-only', from: 'web-components/src/screen.ts', to: 'hub/routes.ts' },
          { rule: 'web-contracts-as-types', from: 'web-components/src/screen.ts', to: 'plugins/alpha/contract.ts' },
        ]
          .map(key)
          .sort(),
      );
    });
  });
});
