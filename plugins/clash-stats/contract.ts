// clash-stats' commands as the hub and the dashboard see them: the TypeBox schemas of every
// command's input and output, and their types. Dependency-free (TypeBox only), so the hub and the
// dashboard can import it without the plugin; index.ts declares the commands with these schemas.
import { type Static, Type } from '@sinclair/typebox';

// The contract's user names: never contain '>', so V2Ray counter names split cleanly.
const UserName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$' });
const Bytes = Type.Integer({ minimum: 0 });
const Seq = Type.Integer({ minimum: 0 });
const LedgerId = Type.String({ description: "The ledger's id; a new ledger (its file lost) gets another, and its seqs start again at 1." });

/** One ledger entry: a user's bytes of one sample. */
export const TrafficEntry = Type.Object({
  seq: Type.Integer({ minimum: 1 }),
  time: Type.String({ format: 'date-time', description: 'When the sample was taken.' }),
  user: Type.String(),
  upload_bytes: Bytes,
  download_bytes: Bytes,
});
export type TrafficEntry = Static<typeof TrafficEntry>;

export const TrafficSampleInput = Type.Object({});
export const TrafficSampleOutput = Type.Object({
  appended: Type.Integer({ minimum: 0, description: 'Entries appended by this sample.' }),
  last_seq: Seq,
});
export type TrafficSampleOutput = Static<typeof TrafficSampleOutput>;

export const TrafficDrainInput = Type.Object({
  after_seq: Seq,
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
});
export type TrafficDrainInput = Static<typeof TrafficDrainInput>;
export const TrafficDrainOutput = Type.Object({ entries: Type.Array(TrafficEntry), head_seq: Seq, acked_seq: Seq, ledger_id: LedgerId });
export type TrafficDrainOutput = Static<typeof TrafficDrainOutput>;

export const TrafficAckInput = Type.Object({ seq: Seq });
export type TrafficAckInput = Static<typeof TrafficAckInput>;
export const TrafficAckOutput = Type.Object({ acked_seq: Seq, head_seq: Seq });
export type TrafficAckOutput = Static<typeof TrafficAckOutput>;

export const TrafficPositionInput = Type.Object({});
/** Where the ledger stands: the last entry written and the last one acknowledged. */
export const LedgerPosition = Type.Object({ head_seq: Seq, acked_seq: Seq, ledger_id: LedgerId });
export type LedgerPosition = Static<typeof LedgerPosition>;

export const TrafficTotalsInput = Type.Object({
  at_seq: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: 'The totals as of this seq (from acked_seq to head_seq): what the hub had when it committed up to here.',
    }),
  ),
});
export type TrafficTotalsInput = Static<typeof TrafficTotalsInput>;
export const TrafficTotalsOutput = Type.Object({
  last_seq: Type.Integer({ minimum: 0, description: 'The seq the totals are as of.' }),
  users: Type.Record(Type.String(), Type.Object({ upload_bytes: Bytes, download_bytes: Bytes })),
});
export type TrafficTotalsOutput = Static<typeof TrafficTotalsOutput>;

export const SummaryInput = Type.Object({
  fresh: Type.Boolean({ default: false, description: 'Ask sing-box now instead of using the cached summary.' }),
});
export type SummaryInput = Static<typeof SummaryInput>;
/** Node totals, open connections and online clients from the Clash API. */
export const ClashSummary = Type.Object({
  upload_total: Type.Integer({ minimum: 0, description: 'Bytes sent by all connections since sing-box started.' }),
  download_total: Type.Integer({ minimum: 0, description: 'Bytes received since sing-box started.' }),
  connections: Type.Integer({ minimum: 0, description: 'Open connections.' }),
  online_clients: Type.Integer({ minimum: 0, description: 'Distinct client IPs with an open connection.' }),
  sampled_at: Type.String({ format: 'date-time' }),
  cached: Type.Boolean(),
});
export type ClashSummary = Static<typeof ClashSummary>;

/** One open connection as the Clash API reports it. */
export const Connection = Type.Object({
  id: Type.String(),
  inbound: Type.String({ description: 'Inbound tag.' }),
  network: Type.String({ description: 'tcp or udp.' }),
  source: Type.String({ description: 'Client ip:port.' }),
  destination: Type.String({ description: 'host-or-ip:port the client asked for.' }),
  upload: Bytes,
  download: Bytes,
  start: Type.String(),
  chains: Type.Array(Type.String(), { description: 'Outbound tags, final hop first.' }),
  rule: Type.String(),
});
export type Connection = Static<typeof Connection>;

export const ConnectionsInput = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }) });
export type ConnectionsInput = Static<typeof ConnectionsInput>;
export const ConnectionsOutput = Type.Object({
  upload_total: Bytes,
  download_total: Bytes,
  open: Type.Integer({ minimum: 0, description: 'Open connections, including any beyond limit.' }),
  connections: Type.Array(Connection),
  sampled_at: Type.String({ format: 'date-time' }),
});
export type ConnectionsOutput = Static<typeof ConnectionsOutput>;

export const SingboxContributionInput = Type.Object({ users: Type.Array(UserName, { description: 'Every user name in the config.' }) });
export type SingboxContributionInput = Static<typeof SingboxContributionInput>;
export const SingboxContributionOutput = Type.Object({
  experimental: Type.Object({
    clash_api: Type.Optional(Type.Object({ external_controller: Type.String(), secret: Type.String() })),
    v2ray_api: Type.Object({
      listen: Type.String(),
      stats: Type.Object({ enabled: Type.Literal(true), users: Type.Array(Type.String()) }),
    }),
  }),
});
export type SingboxContributionOutput = Static<typeof SingboxContributionOutput>;
