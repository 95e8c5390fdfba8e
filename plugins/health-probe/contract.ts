// health-probe's commands and events as the hub and the dashboard see them: the TypeBox schemas of
// every command's input and output, of the Watch events, and of an unlock check (the data in
// unlock-checks.json and agent.yaml), and their types. Dependency-free (TypeBox only), so the hub
// and the dashboard can import it without the plugin; index.ts declares the commands with these.
import { type Static, Type } from '@sinclair/typebox';

/** The longest probe a command accepts. */
export const MAX_TIMEOUT_MS = 30_000;

const Timeout = Type.Integer({ minimum: 1, maximum: MAX_TIMEOUT_MS, default: 3000, description: 'How long to wait, in ms.' });
const Host = Type.String({ minLength: 1, maxLength: 253, description: 'A hostname or IP address.' });
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const HttpUrl = Type.String({ pattern: '^https?://', maxLength: 2000, description: 'An http:// or https:// URL.' });
const ExpectStatus = Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
  maxItems: 20,
  default: [],
  description: 'Statuses that count as up; [] (default): any 2xx or 3xx. Redirects are not followed.',
});
const DnsRecord = Type.Union([Type.Literal('A'), Type.Literal('AAAA')], { default: 'A' });

export const TcpInput = Type.Object({ host: Host, port: Port, timeout_ms: Timeout });
export type TcpInput = Static<typeof TcpInput>;
export const HttpInput = Type.Object({ url: HttpUrl, expect_status: ExpectStatus, timeout_ms: Timeout });
export type HttpInput = Static<typeof HttpInput>;
const DnsServer = Type.String({
  maxLength: 64,
  pattern: '^([0-9.]+|\\[[0-9a-fA-F:]+\\])(:[0-9]{1,5})?$|^[0-9a-fA-F:]+$',
  description: "A DNS server to ask instead of the node's, e.g. 1.1.1.1, 1.1.1.1:53 or [2606:4700::1111]:53.",
});
export const DnsInput = Type.Object({ host: Host, record: DnsRecord, server: Type.Optional(DnsServer), timeout_ms: Timeout });
export type DnsInput = Static<typeof DnsInput>;

/** What one probe found. A failure is a result, not an error: `ok: false` with `error`. */
export const ProbeOutcome = Type.Object({
  ok: Type.Boolean(),
  latency_ms: Type.Optional(Type.Number({ minimum: 0, description: 'Time to connect / answer / resolve, in ms (0.1 precision).' })),
  error: Type.Optional(Type.String({ description: 'e.g. `ECONNREFUSED 203.0.113.5:443`, `timed out after 3000 ms`, `status 503, expected 200`.' })),
  address: Type.Optional(Type.String({ description: 'tcp, http: the IP address connected to.' })),
  status: Type.Optional(Type.Integer({ description: 'http: the response status.' })),
  addresses: Type.Optional(Type.Array(Type.String(), { description: 'dns: the addresses the name resolved to.' })),
});
export type ProbeOutcome = Static<typeof ProbeOutcome>;

export const ProbeKind = Type.Union([Type.Literal('tcp'), Type.Literal('http'), Type.Literal('dns')]);
export type ProbeKind = Static<typeof ProbeKind>;

/** One scheduled probe's result: the `health-probe.result` event, and an entry of `results`. */
export const ProbeEntry = Type.Object({ time: Type.String({ format: 'date-time' }), ...ProbeOutcome.properties });
export type ProbeEntry = Static<typeof ProbeEntry>;
export const ProbeEvent = Type.Object({ name: Type.String(), kind: ProbeKind, target: Type.String(), ...ProbeEntry.properties });
export type ProbeEvent = Static<typeof ProbeEvent>;

/** One unlock check, as data: the requests made, the rules that read their answers, and where the region is. */
export const UnlockRequest = Type.Object({
  url: HttpUrl,
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  // Optional rather than defaulted (also below): agent.yaml's checks sit in a union, where no default is filled in.
  follow_redirects: Type.Optional(Type.Boolean({ description: 'Default true: up to 5 redirects, each Location kept for the rules.' })),
});
const Regex = (what: string) => Type.String({ minLength: 1, maxLength: 500, description: `A regular expression (case-insensitive) on ${what}.` });
export const UnlockRule = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 80, description: 'Shown in the evidence when this rule decided.' }),
  request: Type.Optional(Type.Integer({ minimum: 0, description: 'Which request (index) this rule reads; default 0.' })),
  status: Type.Optional(Regex('the status code, e.g. ^403$')),
  location: Type.Optional(Regex('any redirect Location of the request')),
  final_url: Type.Optional(Regex('the URL of the last answer')),
  body: Type.Optional(Regex('the body of the last answer (its first 2 MB)')),
  result: Type.Union([Type.Literal('available'), Type.Literal('not_available'), Type.Literal('unknown')]),
});
export const RegionSource = Type.Object({
  request: Type.Optional(Type.Integer({ minimum: 0, description: 'Default 0.' })),
  from: Type.Union([Type.Literal('body'), Type.Literal('final_url'), Type.Literal('location')]),
  regex: Regex('that text; its first group is the region (upper-cased)'),
});
export const UnlockCheck = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 80 }),
  mark: Type.String({ minLength: 1, maxLength: 8, description: 'Short label for subscription entry names, e.g. NF.' }),
  requests: Type.Array(UnlockRequest, { minItems: 1, maxItems: 4 }),
  rules: Type.Array(UnlockRule, { minItems: 1, maxItems: 20, description: 'In order; the first whose conditions all hold decides.' }),
  region: Type.Optional(Type.Array(RegionSource, { maxItems: 8, description: 'In order; the first that matches gives the region. Default: none.' })),
});
export type UnlockCheck = Static<typeof UnlockCheck>;

export const UnlockStatus = Type.Union([Type.Literal('available'), Type.Literal('not_available'), Type.Literal('unknown')]);
export type UnlockStatus = Static<typeof UnlockStatus>;
export const UnlockResult = Type.Object({
  id: Type.String(),
  name: Type.String(),
  mark: Type.String(),
  result: UnlockStatus,
  region: Type.Union([Type.String(), Type.Null()], { description: 'ISO 3166 code when a region source matched.' }),
  evidence: Type.Object({
    rule: Type.Union([Type.String(), Type.Null()], { description: 'The rule that decided; null: none matched (result unknown).' }),
    error: Type.Union([Type.String(), Type.Null()]),
    requests: Type.Array(
      Type.Object({
        url: Type.String(),
        status: Type.Union([Type.Integer(), Type.Null()]),
        final_url: Type.Union([Type.String(), Type.Null()]),
        error: Type.Union([Type.String(), Type.Null()]),
      }),
    ),
  }),
});
export type UnlockResult = Static<typeof UnlockResult>;
/** One run of the unlock checks: `unlock`'s answer and the `health-probe.unlock` event. */
export const UnlockReport = Type.Object({ checked_at: Type.String({ format: 'date-time' }), results: Type.Array(UnlockResult) });
export type UnlockReport = Static<typeof UnlockReport>;

export const UnlockInput = Type.Object({
  checks: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50, description: 'Check ids; default: all.' })),
});
export type UnlockInput = Static<typeof UnlockInput>;

export const ResultsInput = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'One probe; default: all.' })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'The newest this many history entries per probe; default: all kept.' })),
});
export type ResultsInput = Static<typeof ResultsInput>;
export const ProbeHistory = Type.Object({
  name: Type.String(),
  kind: ProbeKind,
  target: Type.String(),
  interval_s: Type.Number(),
  latest: Type.Union([ProbeEntry, Type.Null()]),
  history: Type.Array(ProbeEntry, { description: 'Oldest first.' }),
});
export type ProbeHistory = Static<typeof ProbeHistory>;
export const ResultsOutput = Type.Object({
  probes: Type.Array(ProbeHistory),
  unlock: Type.Union([UnlockReport, Type.Null()], { description: 'The last unlock run (scheduled or by command); null: none yet.' }),
});
export type ResultsOutput = Static<typeof ResultsOutput>;

export const InventoryInput = Type.Object({
  fresh: Type.Optional(Type.Boolean({ description: 'Gather it again even if one was gathered within the hour.' })),
});
export type InventoryInput = Static<typeof InventoryInput>;

const Bytes = Type.Integer({ minimum: 0 });
const Text = Type.String();
export const Inventory = Type.Object({
  os: Type.Object({ platform: Text, distro: Text, release: Text, codename: Text, kernel: Text, arch: Text, hostname: Text }),
  virtualization: Type.Object({ virtual: Type.Boolean(), host: Text, system: Text }),
  cpu: Type.Object({ manufacturer: Text, brand: Text, cores: Type.Integer(), physical_cores: Type.Integer(), speed_ghz: Type.Number() }),
  memory: Type.Object({ total_bytes: Bytes, swap_total_bytes: Bytes }),
  disks: Type.Array(Type.Object({ device: Text, name: Text, type: Text, size_bytes: Bytes })),
  filesystems: Type.Array(Type.Object({ fs: Text, type: Text, mount: Text, size_bytes: Bytes, used_bytes: Bytes })),
  interfaces: Type.Array(
    Type.Object({ name: Text, mac: Text, addresses: Type.Array(Text), internal: Type.Boolean(), virtual: Type.Boolean(), speed_mbps: Type.Union([Type.Number(), Type.Null()]) }),
  ),
  gathered_at: Type.String({ format: 'date-time' }),
});
export type Inventory = Static<typeof Inventory>;
