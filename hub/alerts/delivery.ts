// Delivering notification rows (alert_notifications, user_event_deliveries): each pending row is
// tried once per tick; a failure is recorded (last_error) and the row stays pending until its
// max-th attempt, then it is failed. Channels go in parallel, and in row order within one, so a
// firing goes out before its resolution.
import type { Knex } from 'knex';

export interface DeliveryRow {
  id: number;
  channel: string;
  attempts: number;
}

/** Thrown by a send that can never succeed (the channel is gone): the row fails at once. */
export class Undeliverable extends Error {}

export interface DeliveryOptions<R extends DeliveryRow> {
  db: Knex;
  /** The rows' table: status, attempts, last_error and sent_at are written there. */
  table: string;
  maxAttempts: number;
  now(): number;
  send(row: R): Promise<void>;
  /** Told of each failed attempt (for the log); `final` when the row is now failed. */
  failed(row: R, attempt: number, final: boolean, error: string): void;
}

export async function deliverRows<R extends DeliveryRow>(rows: readonly R[], options: DeliveryOptions<R>): Promise<{ sent: number; failed: number }> {
  const { db, table, maxAttempts, now } = options;
  let sent = 0;
  let failed = 0;
  const byChannel = new Map<string, R[]>();
  for (const row of rows) byChannel.set(row.channel, [...(byChannel.get(row.channel) ?? []), row]);
  const each = async (row: R) => {
    const attempts = row.attempts + 1;
    let error: string | null = null;
    let final = false;
    try {
      await options.send(row);
    } catch (e) {
      // fetch says only "fetch failed"; the cause names the refused connection or the timeout.
      const cause = (e as Error & { cause?: Error }).cause;
      error = `${(e as Error).message || String(e)}${cause?.message ? ` (${cause.message})` : ''}`;
      final = e instanceof Undeliverable || attempts >= maxAttempts;
    }
    const status = error === null ? 'sent' : final ? 'failed' : 'pending';
    await db(table)
      .where({ id: row.id })
      .update({ status, attempts, last_error: error?.slice(0, 1000) ?? null, sent_at: error === null ? now() : null });
    if (error === null) sent += 1;
    else {
      failed += 1;
      options.failed(row, attempts, final, error);
    }
  };
  await Promise.all(
    [...byChannel.values()].map(async (list) => {
      for (const row of list) await each(row);
    }),
  );
  return { sent, failed };
}
