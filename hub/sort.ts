// How the hub's tables take a sort: one column, descending with a leading "-" (`-usage_percent`),
// so a sorted view is one query parameter a dashboard can keep in its URL.
export type SortValue<K extends string> = K | `-${K}`;

/** Every value a `sort` parameter over `keys` accepts: each key, and each key with a leading "-". */
export const sortValues = <K extends string>(keys: readonly K[]): SortValue<K>[] => keys.flatMap((key) => [key, `-${key}` as const]);

export function parseSort<K extends string>(value: SortValue<K>): { key: K; descending: boolean } {
  return value.startsWith('-') ? { key: value.slice(1) as K, descending: true } : { key: value as K, descending: false };
}
