import { defineConfig } from 'tsup';

// The agent's dependencies are bundled in: one file per chunk loads faster and takes several MB
// less memory on a 1 GB node than hundreds of small modules. The hub's stay external (native
// modules, and the SkyWalking agent instruments mysql2 only when it is loaded from node_modules).
const AGENT_DEPS = [
  '@grpc/grpc-js',
  '@bufbuild/protobuf',
  '@sinclair/typebox',
  'ajv',
  'ajv-formats',
  'commander',
  'semver',
  'systeminformation',
  'winston',
  'yaml',
];

export default defineConfig({
  // hub-jobs: the scheduled jobs, for the benchmarks that drive them directly.
  entry: { cli: 'hub/cli.ts', plugin: 'agent-core/sdk.ts', testing: 'agent-core/harness.ts', 'hub-jobs': 'hub/jobs/index.ts' },
  format: ['esm'],
  target: 'node20',
  splitting: true,
  noExternal: AGENT_DEPS,
  // Bundled CommonJS code calls require(); give ESM chunks one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  dts: { entry: { plugin: 'agent-core/sdk.ts', testing: 'agent-core/harness.ts' } },
  clean: true,
  // Keep `node:` on built-in imports: node:sea (like node:test) exists only with it.
  removeNodeProtocol: false,
});
