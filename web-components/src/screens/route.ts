// Which screen an address shows: the registry's paths matched against the segments of `#/a/b/c`
// (a `?query` after them is left to the screen).

/** A screen and the values of its path's `:params`. */
export interface Route<S> {
  screen: S;
  params: Record<string, string>;
}

/**
 * The screen whose path matches the most segments of the hash (`#/nodes/web-1/config` is the config
 * editor, not the node page); without a match the first screen, home.
 */
export function parseRoute<S extends { path: string }>(hash: string, screens: readonly [S, ...S[]]): Route<S> {
  // What follows `?` is the screen's own state (the users table's sort and filters), not a segment.
  const segments = hash.replace(/^#\/?/, '').split('?')[0]!.split('/').map(decodeURIComponent);
  let best: Route<S> = { screen: screens[0], params: {} };
  let bestLength = 0;
  for (const screen of screens) {
    const parts = screen.path.split('/');
    const params = match(parts, segments);
    if (params && parts.length > bestLength) {
      best = { screen, params };
      bestLength = parts.length;
    }
  }
  return best;
}

/** The params if every part of the path matches its segment: a literal, `:name` (not empty) or `:name?`. */
function match(parts: string[], segments: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const segment = segments[i] ?? '';
    if (!part.startsWith(':')) {
      if (segment !== part) return null;
      continue;
    }
    const optional = part.endsWith('?');
    if (!segment && !optional) return null;
    params[part.slice(1, optional ? -1 : undefined)] = segment;
  }
  return params;
}
