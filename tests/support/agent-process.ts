// Runs the built agent (dist/cli.js) as a real process on loopback, as an operator would.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { parseEnrollment } from '../../agent-core/common/enrollment.js';
import { AgentClient, fetchAgentCertificate } from '../../agent-core/common/agent-client.js';

export const CLI = path.resolve('dist/cli.js');

/** A gRPC client for the agent an enrollment string names, with its certificate pinned as the hub does. */
export async function clientFromEnrollment(enrollment: string): Promise<AgentClient> {
  const e = parseEnrollment(enrollment);
  return new AgentClient({
    address: e.address,
    token: e.token,
    insecure: e.insecure,
    fingerprint: e.fingerprint,
    certificate: e.insecure ? undefined : await fetchAgentCertificate(e.address, e.fingerprint!),
  });
}
const run = promisify(execFile);

/**
 * Ports this process has handed out: the OS may offer a port it just freed again, and two settings
 * given the same one (a node's Clash and V2Ray APIs, say) would collide once both listen.
 */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** A loopback port free for UDP as well as TCP (for QUIC-based inbounds such as Hysteria2). */
export async function freeUdpPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const socket = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    if (ok) return port;
  }
}

export interface AgentProcess {
  dir: string;
  configFile: string;
  enrollment: string;
  port: number;
  child: ChildProcess;
  /** Everything the agent wrote to stdout and stderr. */
  output(): string;
  setConfig(edit: (yaml: string) => string): Promise<void>;
  /** SIGKILL: no cleanup, as when the node runs out of memory. */
  kill9(): Promise<void>;
  /** Starts the agent again on the same folder and config (after kill9). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface AgentOptions {
  nodeId: string;
  /** YAML lines appended under `plugins:` (indented by two spaces). */
  extraPlugins?: string;
  /** Edits the parsed agent.yaml written by `agent init` (its folder is given) before the agent starts. */
  configure?: (config: Record<string, any>, dir: string) => void;
  insecure?: boolean;
  /** Runs the agent inside this network namespace (`ip netns exec`), listening on `address` there. */
  netns?: { name: string; address: string };
  /** Standard error is not kept (nor in output()): for agents that log thousands of lines a second. */
  discardStderr?: boolean;
  /** Added to the agent process's environment. */
  env?: NodeJS.ProcessEnv;
}

/** `boxfleet agent init` then `boxfleet agent`; resolves once the agent listens. */
export async function startAgentProcess(options: AgentOptions): Promise<AgentProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-agent-'));
  const port = await freePort();
  // init binds the address once to check it, so it runs where the agent will.
  const inNetns = options.netns ? ['ip', 'netns', 'exec', options.netns.name] : [];
  const node = [...inNetns, process.execPath];
  const init = await run(node[0]!, [
    ...node.slice(1), CLI, 'agent', 'init', '--dir', dir, '--node-id', options.nodeId, '--listen', `${options.netns?.address ?? '127.0.0.1'}:${port}`,
    ...(options.insecure ? ['--insecure'] : []),
  ]);
  const enrollment = init.stdout.trim().split('\n').at(-1)!;
  const configFile = path.join(dir, 'agent.yaml');
  if (options.extraPlugins) await appendFile(configFile, `${options.extraPlugins}\n`);

  if (options.configure) {
    const config = parse(await readFile(configFile, 'utf8'));
    options.configure(config, dir);
    await writeFile(configFile, stringify(config));
  }

  let child!: ChildProcess;
  let output = '';
  const launch = async () => {
    child = spawn(node[0]!, [...node.slice(1), CLI, 'agent', '--config', configFile], {
      stdio: ['ignore', 'pipe', options.discardStderr ? 'ignore' : 'pipe'],
      env: { ...process.env, ...options.env },
    });
    const started = child;
    started.stdout!.on('data', (chunk) => (output += chunk));
    started.stderr?.on('data', (chunk) => (output += chunk));
    const mark = output.length;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent did not start within 15 s:\n${output}`)), 15_000);
      started.stdout!.on('data', () => {
        if (output.slice(mark).includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`agent exited with ${code}:\n${output}`));
      });
    });
  };
  await launch();

  return {
    dir,
    configFile,
    enrollment,
    port,
    get child() {
      return child;
    },
    output: () => output,
    async setConfig(edit) {
      await writeFile(configFile, edit(await readFile(configFile, 'utf8')));
    },
    async kill9() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    restart: launch,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
