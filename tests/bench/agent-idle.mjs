// Benchmark (not a test): starts the built agent with all five first-party plugins enabled, the
// way deploy/boxfleet-agent.service does (same node flags and environment), lets it idle for 60 s
// and prints one JSON line: rss_mb, heap_mb, cpu_percent (over the last 30 s), startup_ms.
// `--with-singbox`: singbox-config runs a real sing-box (3 inbounds, 100 users) and clash-stats
// samples its counters every 10 s, as on a serving node.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { baseConfig, enableSingbox, makeUsers, prepareAgent, startAgent } from './singbox-node.mjs';

const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const CPU_WINDOW_S = Math.min(30, IDLE_S);
const withSingbox = process.argv.includes('--with-singbox');

const agentDir = await prepareAgent();
if (withSingbox) await enableSingbox(agentDir);
const { child: agent, startupMs, nodeFlags, env } = await startAgent(agentDir.config);
let singboxPid = null;
if (withSingbox) {
  agentDir.call('singbox-config.config.apply', { config: await baseConfig() });
  agentDir.call('singbox-config.users.sync', { revision: 1, users: makeUsers(100) });
  singboxPid = agentDir.call('singbox-config.status').pid;
}

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

const metrics = agentDir.call('sysmetrics.current');
agent.kill('SIGTERM');
await new Promise((r) => agent.once('exit', r));
if (singboxPid) process.kill(singboxPid, 'SIGTERM');
agentDir.cleanup();

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
    singbox: withSingbox,
    node_flags: nodeFlags.join(' '),
    env,
  }),
);
