// Canonical JSON: every object's keys sorted, no whitespace. The hub names a config version by the
// sha256 of it and singbox-config hashes a base config the same way, so the same hash on both sides
// means the same config; the dashboard shows configs with their keys in this order, so that two
// versions compare line by line.

/** The value with every object's keys in sorted order (arrays keep theirs). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

export const canonicalJson = (value: unknown): string => JSON.stringify(sortKeys(value));
