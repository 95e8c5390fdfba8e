// Which addresses an operator's probe may reach. Loopback, link-local, private and other
// non-public ranges are refused unless agent.yaml allows them, so a probe command cannot map the
// node's own services or its LAN. The check is made on the resolved addresses, which the
// connection then uses: a name pointing at 127.0.0.1 is refused, and no second resolution can hand
// the socket another address than the one checked.
import dns from 'node:dns';
import net from 'node:net';
import { PermissionDeniedError } from '../../agent-core/sdk.js';

/** Ranges no probe reaches by default (RFC 6890 special-purpose blocks a node could serve on). */
const NON_PUBLIC: readonly [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
];

const blocked = new net.BlockList();
for (const [address, prefix, family] of NON_PUBLIC) blocked.addSubnet(address, prefix, family);

export interface TargetPolicy {
  allow_private_targets: boolean;
  /** CIDRs reachable even though they are non-public, e.g. `10.1.2.0/24`. */
  allowed_cidrs: readonly string[];
}

/** Parses `allowed_cidrs` once; a malformed entry is refused at start naming it. */
export function targetGuard(policy: TargetPolicy): (address: string) => void {
  if (policy.allow_private_targets) return () => undefined;
  const allowed = new net.BlockList();
  for (const cidr of policy.allowed_cidrs) {
    const [address = '', bits] = cidr.split('/');
    const family = net.isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const prefix = bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits);
    if (!net.isIP(address) || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv6' ? 128 : 32)) {
      throw new Error(`allowed_cidrs: ${cidr} is not an IP address or CIDR`);
    }
    allowed.addSubnet(address, prefix, family);
  }
  return (address) => {
    const family = net.isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (blocked.check(address, family) && !allowed.check(address, family)) {
      throw new PermissionDeniedError(`${address} is a loopback, link-local or private address; allow it with allowed_cidrs or allow_private_targets`);
    }
  };
}

/** The addresses `host` resolves to (itself when it is an IP); rejects with the resolver's error. */
export async function resolveAll(host: string): Promise<dns.LookupAddress[]> {
  const family = net.isIP(host);
  return family ? [{ address: host, family }] : dns.promises.lookup(host, { all: true });
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net.connect and http.request that answers with addresses resolved (and checked)
 * before, so the connection goes where the check said it may.
 */
export function pinnedLookup(addresses: readonly dns.LookupAddress[]) {
  return (_hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    if (options.all) return callback(null, [...addresses]);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  };
}
