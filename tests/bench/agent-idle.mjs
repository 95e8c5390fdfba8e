// Benchmark (not a test): starts the built agent with all five first-party plugins enabled, the
// way deploy/boxfleet-agent.service does (same node flags), lets it idle for 60 s, and prints one
// JSON line: rss_mb, heap_mb, cpu_percent (over the last 30 s), startup_ms.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const CPU_WINDOW_S = Math.min(30, IDLE_S);
const cli = path.resolve('dist/cli.js');
const unit = readFileSync(process.env.BENCH_UNIT ?? 'deploy/boxfleet-agent.service', 'utf8');
const nodeFlags = /ExecStart=\S*env node ((?:--\S+ )*)/.exec(unit)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
const unitEnv = Object.fromEntries([...unit.matchAll(/^Environment=(\w+)=(\S*)$/gm)].map((m) => [m[1], m[2]]));

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const dir = mkdtempSync(path.join(os.tmpdir(), 'boxfleet-bench-'));
execFileSync(process.execPath, [cli, 'agent', 'init', '--dir', dir, '--node-id', 'bench', '--listen', `127.0.0.1:${port}`]);
const config = path.join(dir, 'agent.yaml');

const started = performance.now();
const agent = spawn(process.execPath, [...nodeFlags, cli, 'agent', '--config', config], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, ...unitEnv },
});
await new Promise((resolve, reject) => {
  agent.stdout.on('data', (chunk) => chunk.toString().includes('listening on') && resolve());
  agent.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
});
const startupMs = Math.round(performance.now() - started);

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const ticks = () => {
  const fields = readFileSync(`/proc/${agent.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
};
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

await sleep(IDLE_S - CPU_WINDOW_S);
const before = ticks();
await sleep(CPU_WINDOW_S);
const cpuPercent = ((ticks() - before) / clockTicks / CPU_WINDOW_S) * 100;
const status = readFileSync(`/proc/${agent.pid}/status`, 'utf8');
const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]);
const mb = (k) => Math.round((k / 1024) * 10) / 10;

const metrics = JSON.parse(execFileSync(process.execPath, [cli, 'agent', 'call', '--config', config, 'sysmetrics.current']).toString());
agent.kill('SIGTERM');
await new Promise((r) => agent.once('exit', r));
rmSync(dir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    rss_mb: mb(kb('VmRSS')),
    // File-backed pages are the node binary's own code, shared and reclaimable; anon is the agent's.
    rss_anon_mb: mb(kb('RssAnon')),
    rss_file_mb: mb(kb('RssFile')),
    heap_mb: Math.round((metrics.agent.heap_used_bytes / 1024 / 1024) * 10) / 10,
    cpu_percent: Math.round(cpuPercent * 100) / 100,
    startup_ms: startupMs,
    idle_s: IDLE_S,
    plugins: 5,
    node_flags: nodeFlags.join(' '),
    env: unitEnv,
  }),
);
