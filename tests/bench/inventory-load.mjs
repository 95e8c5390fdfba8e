// Benchmark (not a test): what gathering the node inventory costs the released agent. The agent
// (release/, installed as install.sh installs it, its unit's environment) starts with
// inventory_at_start off and the unlock schedule off, idles, then runs `health-probe.inventory`
// twice; prints one JSON line: the agent's RSS and anonymous memory idle before (the floor, same
// process, after one cheap command), after the first inventory (systeminformation loaded) and after a second one, each
// BENCH_SETTLE_S (20) after the event, with both inventories' times.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { prepareAgent, startAgent } from './singbox-node.mjs';

const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 20);
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const memory = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field) => Math.round((Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]) / 1024) * 10) / 10;
  return { rss_mb: mb('VmRSS'), anon_mb: mb('RssAnon') };
};

const node = await prepareAgent();
const config = parse(readFileSync(node.config, 'utf8'));
config.plugins = { ...config.plugins, 'health-probe': { inventory_at_start: false, unlock: { interval_s: 0 } } };
writeFileSync(node.config, stringify(config));
const { child: agent } = await startAgent(node);
try {
  // A first command of any kind costs the agent something (its first call over TLS): in the floor.
  await node.callAsync('health-probe.results', {});
  await sleep(SETTLE_S);
  const idle = memory(agent.pid);
  // fresh: gathered anew each time, not the one kept for the hour.
  const timed = async () => {
    const started = performance.now();
    await node.callAsync('health-probe.inventory', { fresh: true });
    return Math.round(performance.now() - started);
  };
  const firstMs = await timed();
  await sleep(SETTLE_S);
  const loaded = memory(agent.pid);
  const secondMs = await timed();
  await sleep(SETTLE_S);
  const again = memory(agent.pid);
  console.log(JSON.stringify({
    floor_idle_rss_mb: idle.rss_mb,
    floor_idle_anon_mb: idle.anon_mb,
    after_inventory_rss_mb: loaded.rss_mb,
    after_inventory_anon_mb: loaded.anon_mb,
    after_second_rss_mb: again.rss_mb,
    after_second_anon_mb: again.anon_mb,
    delta_rss_mb: Math.round((loaded.rss_mb - idle.rss_mb) * 10) / 10,
    delta_anon_mb: Math.round((loaded.anon_mb - idle.anon_mb) * 10) / 10,
    first_inventory_ms: firstMs,
    second_inventory_ms: secondMs,
  }));
} finally {
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  node.cleanup();
}
