// Shared by the singbox-config*.test.ts files.
import type { SyncUser as User } from '../../../plugins/singbox-config/contract.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import { definePlugin, FailedPreconditionError, Type, type AnyPluginDefinition } from '../../../agent-core/sdk.js';
import singboxConfig from '../../../plugins/singbox-config/index.js';

export interface Status {
  found: boolean;
  binary: string | null;
  version: string | null;
  tags: string[];
  config_path: string;
  message: string;
  mode: string;
  running: boolean;
  pid: number | null;
  since: string | null;
  restarts: number;
  reloads: number;
  last_exit: { pid: number; code: number | null; signal: string | null; reason: string; stderr_tail: string; restart_in_ms: number | null } | null;
  config: { version: number | null; hash: string | null; rendered_hash: string | null };
  users: { revision: number | null; count: number; served: number; locally_removed: { name: string; reason: string; at: string }[] };
  last_apply: { action: string; ok: boolean; message: string } | null;
  limits: { check_s: number; checked_at: string | null; took_ms: number | null; error: string | null };
  degraded: boolean;
}

let harness: Harness | undefined;

/** Runs singbox-config.status with this `plugins.singbox-config` config; `closeHarness` (run it in afterEach) stops the plugin. */
export async function status(config: Record<string, unknown> = {}, commandTimeoutMs?: number): Promise<Status> {
  harness = await createHarness(singboxConfig, { config: { 'singbox-config': config }, commandTimeoutMs });
  return harness.execute<Status>('singbox-config.status');
}

export async function closeHarness(): Promise<void> {
  await harness?.close();
  harness = undefined;
}

/** A loopback port free for TCP and UDP (sing-box's inbounds here take either). */
export { freeUdpPort as freePort } from '../../support/agent-process.js';

export function tcpConnects(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** pids of every process whose command line mentions `fragment` (e.g. a test's temp folder). */
export function pidsMentioning(fragment: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state !== 'Z' && args.some((arg) => arg.includes(fragment))) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** SIGKILLs every process started with a path under `root`: no sing-box outlives the tests. */
export function killAllUnder(root: string): void {
  for (const pid of pidsMentioning(root)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate and key for hysteria2/tuic/trojan, made by sing-box itself. */
export function tlsFiles(bin: string, dir: string): { certificate_path: string; key_path: string } {
  const pem = execFileSync(bin, ['generate', 'tls-keypair', 'localhost'], { encoding: 'utf8' });
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pem)![0];
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)![0];
  const certificate_path = path.join(dir, 'cert.pem');
  const key_path = path.join(dir, 'key.pem');
  execFileSync('sh', ['-c', `cat > ${certificate_path}`], { input: `${cert}\n` });
  execFileSync('sh', ['-c', `cat > ${key_path}`], { input: `${key}\n` });
  return { certificate_path, key_path };
}

/** A user as the hub sends it, with credentials derived from `name` (so tests can predict them). */
export function user(name: string, extra: Partial<TestUser> = {}): TestUser {
  const digest = createHash('sha256').update(name).digest();
  const hex = digest.toString('hex');
  return {
    name,
    uuid: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`,
    password: `pw-${hex.slice(0, 24)}`,
    ss_key: digest.toString('base64'),
    remaining_bytes: null,
    expires_at: null,
    ...extra,
  };
}

export type TestUser = User;

type Totals = Record<string, { upload_bytes: number; download_bytes: number }>;

/**
 * A stand-in for clash-stats with the contract's commands, so singbox-config can be tested against
 * its peer before the real one lands: totals are whatever the test sets; `entries` are the ledger's
 * entries after `acked_seq` (already in `totals`), which traffic.totals { at_seq } takes back out.
 * Each sample reports a new head, so totals a test sets by hand are read afresh; with
 * `samplesMoveTheHead: false` the head is the last entry's seq, as in a real ledger.
 */
export function fakeClashStats(options: { clashPort?: number; v2rayPort?: number; samplesMoveTheHead?: boolean } = {}) {
  const state = {
    totals: {} as Totals,
    acked_seq: 0,
    entries: [] as { seq: number; user: string; upload_bytes: number; download_bytes: number }[],
    /** The at_seq of every traffic.totals call (undefined: plain totals). */
    totalsAt: [] as (number | undefined)[],
    samples: 0,
    /** While set, traffic.sample waits for it (a sample that takes its time). */
    sampleGate: undefined as Promise<void> | undefined,
    contributions: [] as string[][],
  };
  const head = () => state.entries.at(-1)?.seq ?? state.acked_seq;
  function totalsAt(seq: number): Totals {
    if (seq < state.acked_seq) throw new FailedPreconditionError(`input.at_seq: ${seq} is below acked_seq ${state.acked_seq}`);
    if (seq > head()) throw new FailedPreconditionError(`input.at_seq: ${seq} is beyond head_seq ${head}`);
    const totals = structuredClone(state.totals);
    for (const e of state.entries.filter((entry) => entry.seq > seq)) {
      totals[e.user]!.upload_bytes -= e.upload_bytes;
      totals[e.user]!.download_bytes -= e.download_bytes;
    }
    return totals;
  }
  const plugin = definePlugin({
    id: 'clash-stats',
    version: '0.0.0-test',
    agent: '>=0.1.0 <1',
    commands: {
      'traffic.sample': {
        description: 'test double',
        input: Type.Object({}),
        output: Type.Object({ appended: Type.Integer(), last_seq: Type.Integer() }),
      },
      'traffic.totals': {
        description: 'test double',
        input: Type.Object({ at_seq: Type.Optional(Type.Integer({ minimum: 0 })) }),
        output: Type.Object({ last_seq: Type.Integer(), users: Type.Record(Type.String(), Type.Object({ upload_bytes: Type.Integer(), download_bytes: Type.Integer() })) }),
      },
      'singbox-contribution': {
        description: 'test double',
        input: Type.Object({ users: Type.Array(Type.String()) }),
        output: Type.Object({ experimental: Type.Unsafe<Record<string, unknown>>({ type: 'object' }) }),
      },
    },
    start: () => ({
      commands: {
        'traffic.sample': async () => {
          state.samples += 1;
          await state.sampleGate;
          return { appended: 0, last_seq: options.samplesMoveTheHead === false ? head() : state.samples };
        },
        'traffic.totals': ({ at_seq }) => {
          state.totalsAt.push(at_seq);
          if (at_seq !== undefined) return { last_seq: at_seq, users: totalsAt(at_seq) };
          return { last_seq: options.samplesMoveTheHead === false ? head() : state.samples, users: structuredClone(state.totals) };
        },
        'singbox-contribution': ({ users }) => {
          state.contributions.push(users);
          const experimental: Record<string, unknown> = {};
          if (options.clashPort) experimental.clash_api = { external_controller: `127.0.0.1:${options.clashPort}`, secret: 'test-secret-0123456789' };
          if (options.v2rayPort) experimental.v2ray_api = { listen: `127.0.0.1:${options.v2rayPort}`, stats: { enabled: true, users } };
          return { experimental };
        },
      },
    }),
  });
  return { plugin: plugin as AnyPluginDefinition, state };
}

export interface Node {
  harness: Harness;
  dir: string;
  configPath: string;
  workDir: string;
}

/**
 * singbox-config (and `peers`) in a harness, with config_path and work_dir in `dir` (a fresh temp
 * folder unless given: pass the same one to act as a restarted agent).
 */
export async function startNode(
  settings: Record<string, unknown>,
  options: { dir?: string; root?: string; peers?: AnyPluginDefinition[] } = {},
): Promise<Node> {
  const dir = options.dir ?? mkdtempSync(path.join(options.root ?? os.tmpdir(), 'node-'));
  const configPath = path.join(dir, 'etc', 'config.json');
  const workDir = path.join(dir, 'work');
  execFileSync('mkdir', ['-p', path.dirname(configPath), workDir]);
  const h = await createHarness([singboxConfig, ...(options.peers ?? [])], {
    config: { 'singbox-config': { config_path: configPath, work_dir: workDir, coalesce_ms: 300, verify_timeout_ms: 5000, ...settings } },
  });
  return { harness: h, dir, configPath, workDir };
}
