// What may import what. `npm test` runs this check (`npm run check:layers`); a violation fails it
// with the rule's name. The picture and the reasons are in ARCHITECTURE.md.
//
//   web-components ──types──▶ plugins/<id>/contract.ts, agent-core/common (dependency-free files)
//   hub ──▶ agent-core/common, plugins/<id>/contract.ts
//   agent-core/main.ts (the agent's entry: the built-in plugin list) ──▶ agent-core, plugins
//   agent-core ──▶ agent-core/common          plugins/<id> ──▶ agent-core/sdk.ts only
//   generated protobuf ◀── one adapter per side (agent-core/grpc-server.ts, agent-core/common/agent-client.ts)
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'hub-not-agent-internals',
      comment: 'The hub uses only agent-core/common (and its CLI mounts the agent entry point, agent-core/main.ts).',
      severity: 'error',
      from: { path: '^hub/', pathNot: '^hub/cli\\.ts$' },
      to: { path: '^agent-core/', pathNot: '^agent-core/common/' },
    },
    {
      name: 'hub-cli-only-agent-entry',
      comment: 'The boxfleet command mounts the agent through its entry point, nothing deeper.',
      severity: 'error',
      from: { path: '^hub/cli\\.ts$' },
      to: { path: '^agent-core/', pathNot: '^agent-core/(common/|main\\.ts$)' },
    },
    {
      name: 'hub-only-plugin-contracts',
      comment: "The hub knows a plugin only by its dependency-free contract, never its implementation.",
      severity: 'error',
      from: { path: '^hub/' },
      to: { path: '^plugins/', pathNot: '^plugins/[^/]+/contract\\.ts$' },
    },
    {
      name: 'hub-rate-limits-shared',
      comment: "The hub's rate limits go through hub/rate-limit-store.ts, which counts them in the Redis the hubs share when there is one.",
      severity: 'error',
      from: { path: '^hub/', pathNot: '^hub/rate-limit-store\\.ts$' },
      to: { path: '^node_modules/@fastify/rate-limit/' },
    },
    {
      name: 'agent-core-not-plugins',
      comment: 'agent-core knows plugins through the SDK; only the entry point (agent-core/main.ts) lists the built-ins.',
      severity: 'error',
      from: { path: '^agent-core/', pathNot: '^agent-core/main\\.ts$' },
      to: { path: '^plugins/' },
    },
    {
      name: 'agent-not-hub',
      comment: 'Nothing on the node imports the hub (its dependencies would end up in the agent executable).',
      severity: 'error',
      from: { path: '^(agent-core|plugins)/' },
      to: { path: '^hub/' },
    },
    {
      name: 'common-stands-alone',
      comment: 'The common module is shared by hub and agent, so it imports neither (only the proto adapter and itself).',
      severity: 'error',
      from: { path: '^agent-core/common/' },
      to: { path: '^(agent-core/(?!common/)|hub/|plugins/|web-components/)' },
    },
    {
      name: 'plugins-only-sdk',
      comment: 'A plugin is written against the public SDK only, as a third-party plugin is.',
      severity: 'error',
      from: { path: '^plugins/' },
      to: { path: '^agent-core/', pathNot: '^agent-core/sdk\\.ts$' },
    },
    {
      name: 'plugins-not-each-other',
      comment: "A plugin uses another plugin's public commands through ctx.call, never its files.",
      severity: 'error',
      from: { path: '^plugins/([^/]+)/' },
      to: { path: '^plugins/', pathNot: '^plugins/$1/' },
    },
    {
      name: 'contracts-dependency-free',
      comment: 'A contract is read by the hub and bundled into the dashboard: TypeBox schemas only.',
      severity: 'error',
      from: { path: '^plugins/[^/]+/contract\\.ts$' },
      to: { pathNot: '^node_modules/@sinclair/typebox/' },
    },
    {
      name: 'web-types-and-common-only',
      comment: 'The dashboard talks to the hub over HTTP; it may take types from contracts and dependency-free common files.',
      severity: 'error',
      from: { path: '^web-components/' },
      to: {
        path: '^(hub|proto|plugins|agent-core)/',
        pathNot: '^(plugins/[^/]+/contract\\.ts|agent-core/common/(roles|description|canonical-json)\\.ts)$',
      },
    },
    {
      name: 'web-contracts-as-types',
      comment: "A contract's schemas are the hub's to check; the dashboard imports only their types.",
      severity: 'error',
      from: { path: '^web-components/' },
      to: { path: '^plugins/[^/]+/contract\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'generated-agent-proto-behind-adapters',
      comment: 'Generated protobuf code is imported by one adapter per side.',
      severity: 'error',
      from: { pathNot: '^(proto/|agent-core/grpc-server\\.ts$|agent-core/common/agent-client\\.ts$)' },
      to: { path: '^proto/(agent-service\\.ts$|gen/agent/)' },
    },
    {
      name: 'generated-v2ray-proto-behind-adapter',
      comment: "sing-box's V2Ray stats API is clash-stats' own, behind one file.",
      severity: 'error',
      from: { pathNot: '^(proto/|plugins/clash-stats/v2ray-stats\\.ts$)' },
      to: { path: '^proto/gen/v2ray/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that resolves to nothing is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^proto/gen/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Subpath imports (csv-parse/sync) resolve through the package's "exports", as Node resolves them.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
  },
};
