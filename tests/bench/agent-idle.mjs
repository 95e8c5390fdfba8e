// Benchmark (not a test): the released agent executable (release/, `npm run release`), installed as
// install.sh installs it, with all five first-party plugins enabled and its unit's environment,
// idles for 60 s; prints one JSON line: rss_mb, heap_mb, cpu_percent (over the last 30 s),
// startup_ms. Its health-probe work at the default schedule is in the window: the inventory (10 s
// after start) and one run of the unlock checks (scheduled 10 min after start; asked for here at the
// start instead, by `unlock.first_run_s`, so it counts). Beside them the floors measured in the same run with the same flags: Node running
// only a grpc-js TLS server (floor_rss_mb, the budget: ratio_to_floor ≤ 1.1) and Node doing nothing
// (floor_node_rss_mb).
// `--with-singbox`: singbox-config runs the installed sing-box (3 inbounds, 100 users) and
// clash-stats samples its counters every 10 s, as on a serving node.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import path from 'node:path';
import { baseConfig, deployedAgent, enableSingbox, makeUsers, prepareAgent, startAgent } from './singbox-node.mjs';

const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const CPU_WINDOW_S = Math.min(30, IDLE_S);
const withSingbox = process.argv.includes('--with-singbox');

const node = await prepareAgent();
if (withSingbox) await enableSingbox(node);
// The first scheduled unlock run 5 s after start rather than 10 min (no internet here: the checks
// fail fast, having run all of their code).
const config = parse(readFileSync(node.config, 'utf8'));
config.plugins['health-probe'] = { ...config.plugins['health-probe'], unlock: { first_run_s: 5 } };
writeFileSync(node.config, stringify(config));
const { child: agent, startupMs, env } = await startAgent(node);
let singboxPid = null;
if (withSingbox) {
  node.call('singbox-config.config.apply', { config: await baseConfig() });
  node.call('singbox-config.users.sync', { revision: 1, users: makeUsers(100) });
  singboxPid = node.call('singbox-config.status').pid;
}

// The executable sets its V8 flags itself (AGENT_V8_FLAGS in deploy/release.mjs); the floors get them on the command line.
const floorFlags = /const AGENT_V8_FLAGS = '([^']+)'/.exec(readFileSync('deploy/release.mjs', 'utf8'))[1].split(' ');
const floorEnv = { ...process.env, ...env };
const floorScript = path.resolve('tests/bench/floor-grpc.mjs');
const etc = path.dirname(node.config);
const floors = {
  grpc: spawn(process.execPath, [...floorFlags, floorScript, path.join(etc, 'agent.crt'), path.join(etc, 'agent.key')], { env: floorEnv, stdio: 'ignore' }),
  node: spawn(process.execPath, [...floorFlags, floorScript, '--bare'], { env: floorEnv, stdio: 'ignore' }),
};

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const ticks = () => {
  const fields = readFileSync(`/proc/${agent.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
};
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const status = (pid) => readFileSync(`/proc/${pid}/status`, 'utf8');
const kb = (text, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)[1]);
const mb = (k) => Math.round((k / 1024) * 10) / 10;

await sleep(IDLE_S - CPU_WINDOW_S);
const before = ticks();
await sleep(CPU_WINDOW_S);
const cpuPercent = ((ticks() - before) / clockTicks / CPU_WINDOW_S) * 100;
const agentStatus = status(agent.pid);
const floorGrpcStatus = status(floors.grpc.pid);
const floorGrpc = kb(floorGrpcStatus, 'VmRSS');
const floorNode = kb(status(floors.node.pid), 'VmRSS');

const metrics = node.call('sysmetrics.current');
for (const child of [agent, floors.grpc, floors.node]) child.kill('SIGTERM');
await new Promise((r) => agent.once('exit', r));
if (singboxPid) process.kill(singboxPid, 'SIGTERM');
node.cleanup();

console.log(
  JSON.stringify({
    rss_mb: mb(kb(agentStatus, 'VmRSS')),
    // File-backed pages are the executable's own code, shared and reclaimable; anon is the agent's.
    rss_anon_mb: mb(kb(agentStatus, 'RssAnon')),
    rss_file_mb: mb(kb(agentStatus, 'RssFile')),
    heap_mb: Math.round((metrics.agent.heap_used_bytes / 1024 / 1024) * 10) / 10,
    cpu_percent: Math.round(cpuPercent * 100) / 100,
    startup_ms: startupMs,
    floor_rss_mb: mb(floorGrpc),
    floor_rss_anon_mb: mb(kb(floorGrpcStatus, 'RssAnon')),
    floor_node_rss_mb: mb(floorNode),
    ratio_to_floor: Math.round((kb(agentStatus, 'VmRSS') / floorGrpc) * 100) / 100,
    idle_s: IDLE_S,
    plugins: 5,
    singbox: withSingbox,
    executable: node.tarball,
    env,
  }),
);
