// firewall's commands as the hub and the dashboard see them: the TypeBox schemas of every command's
// input and output, and their types. Dependency-free (TypeBox only), so the hub and the dashboard
// can import it without the plugin; index.ts declares the commands (and blocked_ports) with these.
import { type Static, Type } from '@sinclair/typebox';

export const BlockedPort = Type.Object({
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  // An enum rather than a union of literals, so a wrong value reads "must be one of tcp, udp".
  protocol: Type.Unsafe<'tcp' | 'udp'>({ type: 'string', enum: ['tcp', 'udp'] }),
});
export type BlockedPort = Static<typeof BlockedPort>;

export const NftablesState = Type.Object({ available: Type.Boolean(), table_present: Type.Boolean(), message: Type.String() });
export type NftablesState = Static<typeof NftablesState>;

export const ListInput = Type.Object({});
export const ListOutput = Type.Object({
  blocked_ips: Type.Array(Type.String()),
  blocked_ports: Type.Array(BlockedPort),
  block_bittorrent: Type.Boolean(),
  table: Type.String(),
  nftables: NftablesState,
});
export type ListOutput = Static<typeof ListOutput>;

export const SingboxContributionInput = Type.Object({});
export const SingboxContributionOutput = Type.Object({
  route_rules: Type.Array(Type.Unsafe<Record<string, unknown>>({ type: 'object' }), {
    description: 'sing-box route rules; singbox-config puts them after {"action":"sniff"} and before the base config\'s rules.',
  }),
});
export type SingboxContributionOutput = Static<typeof SingboxContributionOutput>;
