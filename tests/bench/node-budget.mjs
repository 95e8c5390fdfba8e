// Benchmark (not a test; needs root, for the cgroup): a serving node on its budget. The released
// agent and the sing-box it supervises run inside one cgroup of 1 vCPU and 1 GB (cgroup v2 when
// /sys/fs/cgroup is the unified hierarchy, else the v1 cpu and memory controllers, nested under
// this process's own groups); real sing-box clients outside the group pull bytes from a loopback
// origin through VLESS (TLS) and Shadowsocks-2022. With 1,000 users, then after a users.sync to
// 10,000 (the first 1,000 kept), prints one JSON line: the sync's time and the agent's anonymous
// memory peak during it, then under load the agent's and sing-box's share of the vCPU, their RSS and
// anonymous memory, the group's memory peak, throughput, and the ledger's bytes over the bytes the
// clients moved; then the same two processes idle (medians over a window of readings). The floor,
// measured the same way in the same run: the same agent with sing-box running and no users.
// Env: BENCH_LOAD_S (20), BENCH_SETTLE_S (20: idle time before the idle readings), BENCH_WINDOW_S
// (20: idle readings, one a second, of which the median is printed), BENCH_CLIENTS (2 per
// protocol), BENCH_STREAMS (2 downloads at once per client).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { baseConfig, download, enableSingbox, makeUsers, prepareAgent, startAgent, startClient, startOrigin } from './singbox-node.mjs';

const LOAD_S = Number(process.env.BENCH_LOAD_S ?? 20);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 20);
const WINDOW_S = Math.max(1, Number(process.env.BENCH_WINDOW_S ?? 20));
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 2);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 2);
const MEMORY_LIMIT = 1024 ** 3;
const CPU_PERIOD_US = 100_000;
const DOWNLOAD_BYTES = 32 * 1024 * 1024;

if (process.getuid?.() !== 0) {
  console.error('bench:node-budget makes a cgroup: run it as root');
  process.exit(1);
}

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const ticks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
};
/** RSS and anonymous memory (RssAnon) in bytes. */
const memory = (pid) => {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)[1]) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon') };
};

/** A 1 vCPU / 1 GB group: `dirs` to enter, its memory peak (resettable) and anonymous memory. */
function makeGroup(name) {
  const write = (file, value) => writeFileSync(file, String(value));
  const read = (file) => readFileSync(file, 'utf8').trim();
  const stat = (file, key) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(read(file))?.[1] ?? NaN);
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const available = read('/sys/fs/cgroup/cgroup.controllers').split(' ');
    for (const c of ['cpu', 'memory']) if (!available.includes(c)) throw new Error(`cgroup v2 here offers no ${c} controller`);
    write('/sys/fs/cgroup/cgroup.subtree_control', '+cpu +memory');
    const dir = `/sys/fs/cgroup/${name}`;
    mkdirSync(dir);
    write(`${dir}/memory.max`, MEMORY_LIMIT);
    write(`${dir}/cpu.max`, `${CPU_PERIOD_US} ${CPU_PERIOD_US}`);
    return {
      version: 'v2',
      dirs: [dir],
      peak: () => Number(read(`${dir}/memory.peak`)),
      // Writing to memory.peak resets it on Linux 6.12 and later; before, the peak is the run's.
      resetPeak: () => {
        try {
          write(`${dir}/memory.peak`, 0);
        } catch {
          // An older kernel: the peaks printed are the run's so far.
        }
      },
      anon: () => stat(`${dir}/memory.stat`, 'anon'),
      throttledUs: () => stat(`${dir}/cpu.stat`, 'throttled_usec'),
      remove: () => rmdirSync(dir),
    };
  }
  // v1: each controller its own hierarchy; the group nests under this process's own groups.
  const own = (controller) => {
    const line = read('/proc/self/cgroup')
      .split('\n')
      .find((l) => l.split(':')[1].split(',').includes(controller));
    if (!line) throw new Error(`no cgroup v1 ${controller} controller here`);
    return line.split(':')[2];
  };
  const memoryDir = path.join('/sys/fs/cgroup/memory', own('memory'), name);
  const cpuDir = path.join('/sys/fs/cgroup/cpu', own('cpu'), name);
  mkdirSync(memoryDir);
  mkdirSync(cpuDir);
  write(`${memoryDir}/memory.limit_in_bytes`, MEMORY_LIMIT);
  write(`${cpuDir}/cpu.cfs_period_us`, CPU_PERIOD_US);
  write(`${cpuDir}/cpu.cfs_quota_us`, CPU_PERIOD_US);
  return {
    version: 'v1',
    dirs: [memoryDir, cpuDir],
    peak: () => Number(read(`${memoryDir}/memory.max_usage_in_bytes`)),
    resetPeak: () => write(`${memoryDir}/memory.max_usage_in_bytes`, 0),
    anon: () => stat(`${memoryDir}/memory.stat`, 'total_rss'),
    throttledUs: () => stat(`${cpuDir}/cpu.stat`, 'throttled_time') / 1000,
    remove: () => {
      rmdirSync(memoryDir);
      rmdirSync(cpuDir);
    },
  };
}

const group = makeGroup(`boxfleet-node-budget-${process.pid}`);
const node = await prepareAgent();
const origin = await startOrigin();
const clients = [];
let agent;
let singboxPid;
try {
  await enableSingbox(node);
  ({ child: agent } = await startAgent(node, { cgroups: group.dirs }));
  const config = await baseConfig();
  await node.callAsync('singbox-config.config.apply', { config });
  const singbox = () => node.call('singbox-config.status').pid;
  singboxPid = singbox();

  /**
   * Both processes idle: after SETTLE_S seconds, one reading a second for WINDOW_S seconds, each
   * figure the median of its readings. V8's idle collections move a single reading by several MB
   * either way; the agent's lowest and highest anonymous readings are printed beside the median.
   */
  const idle = async () => {
    await sleep(SETTLE_S);
    const readings = [];
    for (let i = 0; i < WINDOW_S; i++) {
      readings.push({ agent: memory(agent.pid), singbox: memory(singboxPid), group: group.anon() });
      await sleep(1);
    }
    const median = (pick) => {
      const sorted = readings.map(pick).sort((x, y) => x - y);
      return mb(sorted[Math.floor((sorted.length - 1) / 2)]);
    };
    const anon = readings.map((r) => r.agent.anon);
    return {
      agent_rss_mb: median((r) => r.agent.rss),
      agent_anon_mb: median((r) => r.agent.anon),
      agent_anon_min_mb: mb(Math.min(...anon)),
      agent_anon_max_mb: mb(Math.max(...anon)),
      singbox_rss_mb: median((r) => r.singbox.rss),
      singbox_anon_mb: median((r) => r.singbox.anon),
      group_anon_mb: median((r) => r.group),
    };
  };

  /** users.sync as the hub sends it, with the agent's anonymous memory sampled while it runs. */
  const sync = async (users, revision) => {
    group.resetPeak();
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, memory(agent.pid).anon)), 20);
    const started = performance.now();
    await node.callAsync('singbox-config.users.sync', { revision, users });
    const ms = Math.round(performance.now() - started);
    clearInterval(watch);
    singboxPid = singbox();
    return { users: users.length, sync_ms: ms, agent_anon_peak_during_sync_mb: mb(peak), group_peak_during_sync_mb: mb(group.peak()) };
  };

  /** Samples, then drains and acknowledges every new ledger entry, as the hub's traffic job does: bytes moved. */
  let position = 0;
  const drain = async () => {
    await node.callAsync('clash-stats.traffic.sample');
    let up = 0;
    let down = 0;
    for (;;) {
      const { entries } = await node.callAsync('clash-stats.traffic.drain', { after_seq: position, limit: 1000 });
      if (entries.length === 0) return { up, down };
      for (const e of entries) {
        up += e.upload_bytes;
        down += e.download_bytes;
        position = e.seq;
      }
      await node.callAsync('clash-stats.traffic.ack', { seq: position });
    }
  };

  /** LOAD_S seconds of downloads through every client at once. */
  const load = async () => {
    await drain();
    group.resetPeak();
    const throttled = group.throttledUs();
    const cpu = { agent: ticks(agent.pid), singbox: ticks(singboxPid) };
    const samples = [];
    const watch = setInterval(() => samples.push({ agent: memory(agent.pid), singbox: memory(singboxPid) }), 1000);
    const started = performance.now();
    const until = Date.now() + LOAD_S * 1000;
    let received = 0;
    let sent = 0;
    await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: STREAMS }, async () => {
          while (Date.now() < until) {
            const d = await download(c.port, origin.port, DOWNLOAD_BYTES);
            received += d.received;
            sent += d.sent;
          }
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    clearInterval(watch);
    const share = (pid, before) => Math.round(((ticks(pid) - before) / clockTicks / seconds) * 1000) / 10;
    const result = {
      seconds: Math.round(seconds * 10) / 10,
      gbit_s: Math.round(((received * 8) / seconds / 1e9) * 100) / 100,
      agent_cpu_percent: share(agent.pid, cpu.agent),
      singbox_cpu_percent: share(singboxPid, cpu.singbox),
      throttled_ms: Math.round((group.throttledUs() - throttled) / 1000),
      group_peak_mb: mb(group.peak()),
    };
    const max = (who, field) => mb(Math.max(...samples.map((s) => s[who][field])));
    Object.assign(result, {
      agent_rss_max_mb: max('agent', 'rss'),
      agent_anon_max_mb: max('agent', 'anon'),
      singbox_rss_max_mb: max('singbox', 'rss'),
      singbox_anon_max_mb: max('singbox', 'anon'),
    });
    const ledger = await drain();
    // The ledger counts the proxied stream both ways (the request, and the response with its headers).
    result.ledger_ratio = Math.round((ledger.down / received) * 1e6) / 1e6;
    result.ledger_upload_ratio = Math.round((ledger.up / sent) * 1e6) / 1e6;
    return result;
  };

  const floor = await idle();

  const limits = { remaining_bytes: 100 * 1024 ** 3, expires_at: new Date(Date.now() + 30 * 86400_000).toISOString() };
  const users = makeUsers(1000, limits);
  const at1000 = await sync(users, 1);
  for (let i = 0; i < CLIENTS; i++) {
    clients.push(await startClient(node.dir, config, 'vless-in', users[i]));
    clients.push(await startClient(node.dir, config, 'ss-in', users[CLIENTS + i]));
  }
  at1000.load = await load();
  at1000.idle = await idle();

  const at10000 = await sync([...users, ...makeUsers(9000, limits).map((u, i) => ({ ...u, name: `more${String(i).padStart(5, '0')}` }))], 2);
  at10000.load = await load();
  at10000.idle = await idle();

  console.log(
    JSON.stringify({
      cgroup: group.version,
      cpu_quota_vcpu: 1,
      memory_limit_mb: mb(MEMORY_LIMIT),
      clients: { vless: CLIENTS, shadowsocks_2022: CLIENTS, streams_each: STREAMS },
      floor_no_users: floor,
      users_1000: at1000,
      users_10000: at10000,
      executable: node.tarball,
    }),
  );
} finally {
  for (const c of clients) c.child.kill('SIGTERM');
  if (agent && agent.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
  }
  if (singboxPid) {
    try {
      process.kill(singboxPid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await origin.close();
  // The group can go once its last process has.
  for (let i = 0; ; i++) {
    try {
      group.remove();
      break;
    } catch (error) {
      if (i > 50) throw error;
      await sleep(0.1);
    }
  }
  node.cleanup();
}
