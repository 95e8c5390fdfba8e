// Blocked IPs and ports (nftables) and proxy-level blocks. It reports what is configured and whether
// nftables can be used, and contributes its proxy-level blocks to the sing-box route (singbox-config
// asks for them); it does not write nftables rules yet.
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { definePlugin, InvalidArgumentError, Type } from '../../agent-core/sdk.js';
import { BlockedPort, ListInput, ListOutput, SingboxContributionInput, SingboxContributionOutput } from './contract.js';

const run = promisify(execFile);

// Listing one table is instant; a slower nft is stuck (e.g. waiting on the netlink lock).
const NFT_TIMEOUT_MS = 3000;

/** An IPv4/IPv6 address, optionally with a /prefix that fits its family. */
function isIpOrCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      await access(file, constants.X_OK);
      if ((await stat(file)).isFile()) return file;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Never throws: a missing or forbidden nft is something to report, not a failed command. */
async function nftablesState(table: string, signal: AbortSignal): Promise<ListOutput["nftables"]> {
  const nft = await findOnPath('nft');
  if (!nft) return { available: false, table_present: false, message: 'nft not found on PATH; nftables blocks cannot be applied' };
  try {
    await run(nft, ['-j', 'list', 'table', 'inet', table], { timeout: NFT_TIMEOUT_MS, signal });
    return { available: true, table_present: true, message: `table inet ${table} is present` };
  } catch (error) {
    const e = error as { killed?: boolean; stderr?: unknown; message?: unknown };
    const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : '';
    let message: string;
    if (e.killed) message = `nft did not answer within ${NFT_TIMEOUT_MS} ms`;
    else if (/No such file or directory/i.test(stderr)) message = `table inet ${table} does not exist yet`;
    else if (/Operation not permitted|Permission denied/i.test(stderr)) {
      message = `nft is not permitted to read tables (run the agent as root or with CAP_NET_ADMIN)`;
    } else message = `nft failed: ${(stderr || String(e.message ?? error)).split('\n')[0]}`;
    return { available: true, table_present: false, message };
  }
}

export default definePlugin({
  id: 'firewall',
  version: '0.1.0',
  agent: '>=0.1.0 <1',
  description: 'Blocked IPs and ports (nftables) and proxy-level blocks such as BitTorrent.',
  config: Type.Object({
    blocked_ips: Type.Array(Type.String({ minLength: 1, description: 'An IPv4/IPv6 address or CIDR.' }), { default: [] }),
    blocked_ports: Type.Array(BlockedPort, { default: [] }),
    block_bittorrent: Type.Boolean({ default: false }),
    // Passed to nft as an identifier, so keep to what nft accepts unquoted.
    table: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$', default: 'boxfleet' }),
  }),
  commands: {
    list: {
      description: 'The configured blocks, and whether nftables is usable and the table exists.',
      input: ListInput,
      output: ListOutput,
    },
    'singbox-contribution': {
      description: 'sing-box route rules for the configured blocks: reject blocked_ips, and BitTorrent when block_bittorrent is set.',
      input: SingboxContributionInput,
      output: SingboxContributionOutput,
    },
  },
  start(ctx) {
    const { blocked_ips, blocked_ports, block_bittorrent, table } = ctx.config;
    // JSON Schema has no CIDR format, so addresses are checked here, before the plugin runs.
    blocked_ips.forEach((value, i) => {
      if (!isIpOrCidr(value)) {
        throw new InvalidArgumentError(`plugins.firewall.blocked_ips.${i}: ${JSON.stringify(value)} is not an IP address or CIDR`);
      }
    });
    // `ip_cidr` only matches IP destinations: a client asking for a domain is not resolved first (pitfall 18).
    const routeRules: Record<string, unknown>[] = [];
    if (blocked_ips.length > 0) routeRules.push({ ip_cidr: [...blocked_ips], action: 'reject' });
    if (block_bittorrent) routeRules.push({ protocol: 'bittorrent', action: 'reject' });
    return {
      commands: {
        async list(_input, { signal }) {
          return {
            blocked_ips,
            blocked_ports,
            block_bittorrent,
            table,
            nftables: await nftablesState(table, signal),
          };
        },
        'singbox-contribution': async () => ({ route_rules: routeRules }),
      },
    };
  },
});
