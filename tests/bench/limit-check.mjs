// Benchmark (not a test): what singbox-config's local limit checks cost an idle node. The built
// agent (dist/, `npm run build`; with the flags and environment of its unit) runs a real sing-box
// (3 inbounds) with BENCH_USERS users (default 1,000), each of whom connected once (so sing-box has
// their counters and the ledger their totals), then no traffic; default plugin settings.
// Floor, in the same run: the same users without limits, so no check runs and clash-stats samples
// on its own timer (every 10 s). Then the same users with limits: a check every limit_check_s (5 s),
// whose samples replace the timer's. Prints one JSON line: the agent's and sing-box's CPU (% of one
// core) over BENCH_WINDOW_S (default 60) each way, and how long a check's reading took when nothing
// had moved (the sample alone) and when a byte had (the sample and every user's totals).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { parse, stringify } from 'yaml';
import { baseConfig, deployedAgent, freePort, makeUsers, singboxBin } from './singbox-node.mjs';

const USERS = Number(process.env.BENCH_USERS ?? 1000);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 60);
const SETTLE_S = 10;
const cli = path.resolve('dist/cli.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'boxfleet-limit-check-'));
const config = path.join(dir, 'agent.yaml');

execFileSync(process.execPath, [cli, 'agent', 'init', '--dir', dir, '--node-id', 'bench', '--listen', `127.0.0.1:${await freePort()}`], { stdio: 'ignore' });
const yaml = parse(readFileSync(config, 'utf8'));
Object.assign(yaml.plugins, {
  'singbox-config': { enabled: true, binary: singboxBin(), config_path: path.join(dir, 'sing-box', 'config.json') },
  'clash-stats': { enabled: true, clash_api: { url: `http://127.0.0.1:${await freePort()}`, secret: 'bench-secret' }, v2ray_api: { listen: `127.0.0.1:${await freePort()}` } },
});
writeFileSync(config, stringify(yaml));

const { env } = deployedAgent();
// The released executable sets --no-opt itself; `boxfleet agent` from dist/ gets it here.
const agent = spawn(process.execPath, ['--no-opt', cli, 'agent', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
await new Promise((resolve, reject) => {
  agent.stdout.on('data', (chunk) => chunk.toString().includes('listening on') && resolve());
  agent.once('exit', (code) => reject(new Error(`agent exited with ${code}`)));
});
const call = (command, input = {}) => {
  const file = path.join(dir, 'input.json');
  writeFileSync(file, JSON.stringify(input));
  const out = execFileSync(process.execPath, [cli, 'agent', 'call', '--config', config, '--timeout', '300000', command, `@${file}`], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.toString());
};

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const ticks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
};
/** CPU of the agent and of sing-box over WINDOW_S, in % of one core. */
async function cpu(singboxPid) {
  await sleep(SETTLE_S);
  const before = [ticks(agent.pid), ticks(singboxPid)];
  await sleep(WINDOW_S);
  const percent = (pid, i) => Math.round(((ticks(pid) - before[i]) / clockTicks / WINDOW_S) * 100 * 1000) / 1000;
  return { agent: percent(agent.pid, 0), singbox: percent(singboxPid, 1) };
}

// What each user's connection reaches: a byte, then the end.
const target = net.createServer((socket) => socket.end('x'));
await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));

/** One VLESS connection as `user` (over TLS, to the target), a byte each way: sing-box counts the user from then on. */
function connectAs(user, port) {
  const header = Buffer.concat([
    Buffer.from([0]), // version
    Buffer.from(user.uuid.replaceAll('-', ''), 'hex'),
    Buffer.from([0, 1]), // no addons; TCP
    Buffer.from([target.address().port >> 8, target.address().port & 0xff, 1, 127, 0, 0, 1]),
    Buffer.from('x'),
  ]);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'bench.boxfleet.test', rejectUnauthorized: false }, () => socket.write(header));
    socket.setTimeout(10_000, () => socket.destroy(new Error(`${user.name}: no answer within 10 s`)));
    socket.on('data', () => {});
    socket.once('end', () => (socket.end(), resolve()));
    socket.once('error', reject);
  });
}
async function connectAll(users, port) {
  for (let i = 0; i < users.length; i += 50) await Promise.all(users.slice(i, i + 50).map((u) => connectAs(u, port)));
}

const base = await baseConfig();
call('singbox-config.config.apply', { config: base });
const users = makeUsers(USERS);
call('singbox-config.users.sync', { revision: 1, users });
const vlessPort = base.inbounds[0].listen_port;
await connectAll(users, vlessPort);
call('clash-stats.traffic.sample');
const counted = Object.keys(call('clash-stats.traffic.totals').users).length;
if (counted !== USERS) throw new Error(`the ledger counts ${counted} of ${USERS} users`);
const { pid: singboxPid } = call('singbox-config.status');
const floor = await cpu(singboxPid);

// The rendered config does not carry limits: no reload, sing-box keeps its counters.
const limits = { remaining_bytes: 100 * 1024 ** 3, expires_at: new Date(Date.now() + 30 * 86400_000).toISOString() };
call('singbox-config.users.sync', { revision: 2, users: users.map((u) => ({ ...u, ...limits })) });
const checked = await cpu(singboxPid);
const idle = call('singbox-config.status');
await connectAs(users[0], vlessPort);
await sleep(idle.limits.check_s + 1);
const moved = call('singbox-config.status');
if (moved.reloads !== idle.reloads) throw new Error('sing-box was reloaded during the run: its counters started over');

agent.kill('SIGTERM');
await new Promise((r) => agent.once('exit', r));
process.kill(singboxPid, 'SIGTERM');
target.close();
rmSync(dir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    users: USERS,
    window_s: WINDOW_S,
    limit_check_s: idle.limits.check_s,
    agent_cpu_percent: checked.agent,
    floor_agent_cpu_percent: floor.agent,
    singbox_cpu_percent: checked.singbox,
    floor_singbox_cpu_percent: floor.singbox,
    check_idle_ms: idle.limits.took_ms,
    check_after_traffic_ms: moved.limits.took_ms,
    check_error: moved.limits.error,
  }),
);
