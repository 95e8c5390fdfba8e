// hub-scale's clash-stats: the fake ledger of tests/fixtures that also writes traffic by itself, as
// a serving node would: every BENCH_LEDGER_EVERY_S seconds one entry for each of BENCH_LEDGER_USERS
// users taken in turn from user0 … user<BENCH_USERS − 1> (the users the bench seeds in the hub).
import { fakeLedger } from '../fixtures/plugins/fake-ledger.js';

const base = fakeLedger({ version: '0.4.0-bench', ledgerId: true });
const users = Number(process.env.BENCH_USERS ?? 1000);
const perRound = Math.min(users, Number(process.env.BENCH_LEDGER_USERS ?? 30));
const everyMs = Number(process.env.BENCH_LEDGER_EVERY_S ?? 10) * 1000;

export default {
  ...base,
  async start(ctx) {
    const instance = await base.start(ctx);
    const append = instance.commands['traffic.append'];
    // Each node starts at another user, so the fleet's entries spread over all of them.
    let next = [...ctx.nodeId].reduce((n, c) => n + c.charCodeAt(0), 0) % users;
    const timer = setInterval(() => {
      for (let i = 0; i < perRound; i++) {
        append({ user: `user${next}`, upload_bytes: 1000 + i, download_bytes: 20_000 + i, count: 1 });
        next = (next + 1) % users;
      }
    }, everyMs);
    timer.unref();
    return { ...instance, stop: () => clearInterval(timer) };
  },
};
