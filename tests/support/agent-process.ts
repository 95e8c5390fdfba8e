// Runs the built agent (dist/cli.js) as a real process on loopback, as an operator would.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const CLI = path.resolve('dist/cli.js');
const run = promisify(execFile);

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
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
  stop(): Promise<void>;
}

export interface AgentOptions {
  nodeId: string;
  /** YAML lines appended under `plugins:` (indented by two spaces). */
  extraPlugins?: string;
  insecure?: boolean;
}

/** `boxfleet agent init` then `boxfleet agent`; resolves once the agent listens. */
export async function startAgentProcess(options: AgentOptions): Promise<AgentProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-agent-'));
  const port = await freePort();
  const init = await run(process.execPath, [
    CLI, 'agent', 'init', '--dir', dir, '--node-id', options.nodeId, '--listen', `127.0.0.1:${port}`,
    ...(options.insecure ? ['--insecure'] : []),
  ]);
  const enrollment = init.stdout.trim().split('\n').at(-1)!;
  const configFile = path.join(dir, 'agent.yaml');
  if (options.extraPlugins) await appendFile(configFile, `${options.extraPlugins}\n`);

  const child = spawn(process.execPath, [CLI, 'agent', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start within 15 s:\n${output}`)), 15_000);
    child.stdout!.on('data', () => {
      if (output.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code}:\n${output}`));
    });
  });

  return {
    dir,
    configFile,
    enrollment,
    port,
    child,
    output: () => output,
    async setConfig(edit) {
      await writeFile(configFile, edit(await readFile(configFile, 'utf8')));
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
