// Benchmark (not a test): a built agent serving a real sing-box (VLESS, Shadowsocks-2022 and
// Hysteria2 inbounds) takes a users.sync of 10,000 users; prints one JSON line with where the time
// went (render_ms, check_ms, reload_ms — reload includes verifying that sing-box serves it),
// the whole call as the operator saw it (total_ms), and the size of the rendered config.
import { statSync } from 'node:fs';
import path from 'node:path';
import { baseConfig, enableSingbox, makeUsers, prepareAgent, startAgent } from './singbox-node.mjs';

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const node = await prepareAgent();
await enableSingbox(node);
const { child: agent } = await startAgent(node);
node.call('singbox-config.config.apply', { config: await baseConfig() });

const users = makeUsers(USERS, { remaining_bytes: 100 * 1024 ** 3, expires_at: new Date(Date.now() + 30 * 86400_000).toISOString() });
const started = performance.now();
const result = node.call('singbox-config.users.sync', { revision: 1, users });
const totalMs = Math.round(performance.now() - started);
const status = node.call('singbox-config.status');
const { timings_ms: t } = status.last_apply;
const configBytes = statSync(path.join(node.dir, 'sing-box', 'config.json')).size;

agent.kill('SIGTERM');
await new Promise((r) => agent.once('exit', r));
process.kill(status.pid, 'SIGTERM');
node.cleanup();

console.log(
  JSON.stringify({
    users: USERS,
    inbounds: 3,
    render_ms: t.render,
    check_ms: t.check,
    reload_ms: t.reload,
    total_ms: totalMs,
    config_bytes: configBytes,
    reloaded: result.reloaded,
  }),
);
