// Where tests find the real components (sing-box, MariaDB), so every test that needs one agrees
// on it. Only tests named for their component (`*.singbox.test.ts`, `*.mariadb.test.ts`, ...) call
// these; `npm run test:real` runs just those, and `.ci/run` provides the components through
// BOXFLEET_SINGBOX_BIN and BOXFLEET_TEST_MYSQL_URL. There is no skipping: a component that is
// missing throws, so its tests fail with a message saying how to provide it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pkg from '../../package.json' with { type: 'json' };

// Where deploy/build-sing-box.sh (run by .ci/run and npm run release) caches the amd64 sing-box.
const CACHED_SINGBOX = path.join(os.homedir(), `.cache/boxfleet/sing-box-v${pkg.boxfleet.singbox.version}-linux-amd64/sing-box`);

/**
 * A real sing-box binary: BOXFLEET_SINGBOX_BIN when set (used as given, so a wrong path fails
 * loudly where it is run), else the one .ci/run built if it exists; throws when there is neither.
 */
export function singboxBin(): string {
  const fromEnv = process.env.BOXFLEET_SINGBOX_BIN;
  if (fromEnv) return fromEnv;
  if (existsSync(CACHED_SINGBOX)) return CACHED_SINGBOX;
  throw new Error(`no sing-box binary: set BOXFLEET_SINGBOX_BIN, or run .ci/run once to build one at ${CACHED_SINGBOX}`);
}

// Where deploy/build-toxiproxy.sh (run by .ci/run) caches Toxiproxy's server.
const CACHED_TOXIPROXY = path.join(os.homedir(), `.cache/boxfleet/toxiproxy-v${pkg.boxfleet.toxiproxy.version}/toxiproxy-server`);

/** The Toxiproxy server deploy/build-toxiproxy.sh built; throws when it is not there. */
export function toxiproxyBin(): string {
  if (existsSync(CACHED_TOXIPROXY)) return CACHED_TOXIPROXY;
  throw new Error(`no Toxiproxy: run deploy/build-toxiproxy.sh (.ci/run does) to build one at ${CACHED_TOXIPROXY}`);
}

/** A MariaDB/MySQL server URL (mysql://user:pass@host:port) from BOXFLEET_TEST_MYSQL_URL; throws when unset. */
export function mysqlUrl(): string {
  const url = process.env.BOXFLEET_TEST_MYSQL_URL;
  if (!url) {
    throw new Error('no MariaDB: set BOXFLEET_TEST_MYSQL_URL=mysql://user:pass@127.0.0.1:port (.ci/run starts one)');
  }
  return url;
}

/** An S3 server URL (s3://ACCESS:SECRET@127.0.0.1:PORT?ssl=false) from BOXFLEET_TEST_S3_URL. */
export function s3ServerUrl(): string {
  const url = process.env.BOXFLEET_TEST_S3_URL;
  if (!url) throw new Error('no S3 server: set BOXFLEET_TEST_S3_URL=s3://ACCESS:SECRET@127.0.0.1:PORT?ssl=false (.ci/s3-server.sh starts one)');
  return url;
}

/** Debian's redis-server from PATH (.ci/run installs the package); throws when it is not there. */
export function redisServerBin(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const bin = path.join(dir, 'redis-server');
    if (dir && existsSync(bin)) return bin;
  }
  throw new Error('no redis-server on PATH: apt-get install redis-server (.ci/run installs it)');
}

/** A SkyWalking OAP: its gRPC address (for hub and agent) and its GraphQL query URL. */
export interface SkyWalkingOap {
  grpc: string;
  graphql: string;
  /** Stops the OAP when the test started it; nothing when .ci/run did. */
  stop(): Promise<void>;
}

/**
 * The OAP named by BOXFLEET_TEST_SKYWALKING ("GRPC_ADDRESS GRAPHQL_URL", as .ci/skywalking-oap.sh
 * prints it; .ci/run starts one early so it is up when the test comes), else one started here by
 * that script (which fetches OAP from Maven Central into ~/.cache/boxfleet the first time).
 */
export async function skywalkingOap(): Promise<SkyWalkingOap> {
  const fromEnv = process.env.BOXFLEET_TEST_SKYWALKING;
  if (fromEnv) {
    const [grpc, graphql] = fromEnv.split(' ');
    if (!grpc || !graphql) throw new Error(`BOXFLEET_TEST_SKYWALKING must be "GRPC_ADDRESS GRAPHQL_URL", not ${fromEnv}`);
    return { grpc, graphql, stop: async () => {} };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-oap-'));
  const script = path.resolve('.ci/skywalking-oap.sh');
  const { stdout } = await promisify(execFile)('bash', [script, dir], { maxBuffer: 1 << 24 });
  const [grpc, graphql] = stdout.trim().split(' ') as [string, string];
  const pid = Number(await readFile(path.join(dir, 'oap.pid'), 'utf8'));
  return {
    grpc,
    graphql,
    stop: async () => {
      try {
        process.kill(pid, 'SIGTERM');
        while (process.kill(pid, 0)) await new Promise((r) => setTimeout(r, 200));
      } catch {
        // It has exited (kill(pid, 0) throws ESRCH once it is gone).
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A binary of Debian's prometheus package: its env override (BOXFLEET_PROMETHEUS_BIN, BOXFLEET_PROMTOOL_BIN) or /usr/bin. */
export function prometheusPackageBin(name: 'prometheus' | 'promtool'): string {
  const bin = process.env[`BOXFLEET_${name.toUpperCase()}_BIN`] ?? `/usr/bin/${name}`;
  if (!existsSync(bin)) throw new Error(`no ${name} at ${bin}: apt-get install -y prometheus (.ci/run installs it), or set BOXFLEET_${name.toUpperCase()}_BIN`);
  return bin;
}
