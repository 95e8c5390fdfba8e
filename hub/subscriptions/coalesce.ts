// One database read for many concurrent /sub requests. Keys asked for while the event loop handles
// incoming sockets are gathered and loaded together in the check phase right after (setImmediate):
// a promise-tick batcher such as DataLoader's default would see one request at a time, since Node
// runs the microtasks after each socket's callback. One batch is read at a time, and the keys that
// arrive meanwhile wait for the next, so under load (a MySQL round trip) batches grow instead of
// the reads multiplying.
//
// A key only ever joins a batch that has not started yet, so every answer comes from a read that
// started after the request arrived: a change committed before a request is always seen by it.

/** Loads the values of several keys at once; a key missing from the map has no value. */
export type BatchLoad<K, V> = (keys: K[]) => Promise<Map<K, V>>;

export function coalesced<K, V>(load: BatchLoad<K, V>): (key: K) => Promise<V | undefined> {
  let pending: { key: K; resolve(value: V | undefined): void; reject(error: unknown): void }[] = [];
  let reading = false;

  const flush = () => {
    if (reading || pending.length === 0) return;
    reading = true;
    const batch = pending;
    pending = [];
    load([...new Set(batch.map((p) => p.key))])
      .then(
        (values) => {
          for (const p of batch) p.resolve(values.get(p.key));
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      )
      .finally(() => {
        reading = false;
        flush();
      });
  };

  return (key) =>
    new Promise((resolve, reject) => {
      if (pending.length === 0 && !reading) setImmediate(flush);
      pending.push({ key, resolve, reject });
    });
}
