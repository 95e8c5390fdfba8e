import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests that need a real external component say so in their file name. `npm test` runs the rest
// and needs nothing installed; `npm run test:real` (BOXFLEET_TEST_SET=real) runs only those, and
// there a missing component is a failure, not a skip. `.ci/run` provides the components.
const REAL = 'tests/**/*.{singbox,mariadb,s3,mihomo,chromium,prometheus,systemd,release,nftables,skywalking,otelcol,toxiproxy}.test.ts';
const realSet = process.env.BOXFLEET_TEST_SET === 'real';

export default defineConfig({
  resolve: {
    alias: {
      'boxfleet/plugin/testing': fileURLToPath(new URL('./agent-core/harness.ts', import.meta.url)),
      'boxfleet/plugin': fileURLToPath(new URL('./agent-core/sdk.ts', import.meta.url)),
    },
  },
  test: {
    include: realSet ? [REAL] : ['tests/**/*.test.ts'],
    exclude: realSet ? ['node_modules/**'] : ['node_modules/**', REAL],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The fault suite's table (tests/support/fault-table-print.ts) is printed once, after every file has run.
    globalSetup: realSet ? ['tests/support/fault-table-print.ts'] : [],
    // Vitest's default on a 2-core machine is one worker (cores − 1), which leaves a core idle while
    // tests wait on timers and sockets. The real set keeps one: its sing-box, MariaDB and Chromium
    // tests move real bytes against real clocks.
    maxWorkers: realSet ? 1 : 2,
  },
});
