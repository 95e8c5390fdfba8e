// health-probe's commands as the hub and the dashboard see them: the TypeBox schemas of every
// command's input and output, and their types. Dependency-free (TypeBox only), so the hub and the
// dashboard can import it without the plugin; index.ts declares the commands with these schemas.
import { type Static, Type } from '@sinclair/typebox';

/** The longest probe `tcp` accepts. */
export const MAX_TIMEOUT_MS = 30_000;

export const TcpInput = Type.Object({
  host: Type.String({ minLength: 1, description: 'A hostname or IP address.' }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  timeout_ms: Type.Integer({ minimum: 1, maximum: MAX_TIMEOUT_MS, default: 3000 }),
});
export type TcpInput = Static<typeof TcpInput>;

export const TcpResult = Type.Union([
  Type.Object({
    ok: Type.Literal(true),
    latency_ms: Type.Number({ minimum: 0, description: 'Time to connect, including the DNS lookup, in ms (0.1 precision).' }),
    address: Type.String({ description: 'The IP address connected to.' }),
  }),
  Type.Object({ ok: Type.Literal(false), error: Type.String() }),
]);
export type TcpResult = Static<typeof TcpResult>;
