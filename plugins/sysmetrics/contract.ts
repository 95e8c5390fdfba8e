// sysmetrics' commands and event as the hub and the dashboard see them: the TypeBox schemas of
// every command's input and output and of the `sysmetrics.sample` payload, and their types.
// Dependency-free (TypeBox only), so the hub and the dashboard can import it without the plugin;
// index.ts declares the commands and the event with these schemas.
import { type Static, Type } from '@sinclair/typebox';

const Bytes = Type.Integer({ minimum: 0 });
const Rate = Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
  description: 'Bytes per second since the previous sample; null on the first.',
});

export const SampleKind = Type.Union([Type.Literal('cpu-memory'), Type.Literal('disk-network')]);
export type SampleKind = Static<typeof SampleKind>;

/** One periodic sample: the `sysmetrics.sample` event's payload, and one of `history`'s samples. */
export const Sample = Type.Object({
  kind: SampleKind,
  time: Type.String({ format: 'date-time' }),
  values: Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()]), {
    description: 'cpu-memory: cpu_percent, memory_*_bytes; disk-network: disk_*_bytes, disk_read/write_per_s, net_rx/tx_per_s (null: no earlier reading).',
  }),
});
export type Sample = Static<typeof Sample>;

export const CurrentInput = Type.Object({});
export const CurrentOutput = Type.Object({
  cpu: Type.Object({
    load_percent: Type.Number({ minimum: 0, maximum: 100, description: 'Average over all cores since the previous sample.' }),
    cores: Type.Integer({ minimum: 1 }),
  }),
  memory: Type.Object({ total_bytes: Bytes, used_bytes: Bytes, available_bytes: Bytes }),
  disk: Type.Union([Type.Object({ mount: Type.String(), total_bytes: Bytes, used_bytes: Bytes }), Type.Null()], {
    description: "The filesystem holding '/' (else the largest); null when none could be read.",
  }),
  network: Type.Object({ rx_bytes: Bytes, tx_bytes: Bytes, rx_per_s: Rate, tx_per_s: Rate }),
  agent: Type.Object({ rss_bytes: Bytes, heap_used_bytes: Bytes, uptime_s: Type.Integer({ minimum: 0 }) }),
  sampled_at: Type.String({ format: 'date-time' }),
});
export type CurrentOutput = Static<typeof CurrentOutput>;

export const HistoryInput = Type.Object({
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  kind: Type.Optional(SampleKind),
});
export type HistoryInput = Static<typeof HistoryInput>;
export const HistoryOutput = Type.Object({ samples: Type.Array(Sample) });
export type HistoryOutput = Static<typeof HistoryOutput>;
