// Turns one reading of sing-box's per-user counters into byte deltas against the ledger's
// baselines, and the baseline changes that go with them. Pure: no I/O, no clock.
import type { BaselinePatch, Delta, InstanceMarker, Pair, SourceBaseline } from './ledger.js';

/** The V2Ray stats API: one counter pair per user name listed in `experimental.v2ray_api.stats.users`. */
export const V2RAY_SOURCE = 'v2ray';
/** One managed Shadowsocks inbound's SSM API; its counters are keyed by SSM username (`<name>@<tag>`). */
export const ssmSource = (inbound: string): string => `ssm:${inbound}`;

/**
 * An instance's start is estimated as (clock read before the uptime call − uptime). Uptime drops
 * its fraction of a second, so an estimate is at most 1 s late; it is early by up to the call's
 * time, and the start stored for a new instance comes only from calls of at most 1 s. So a later
 * estimate of the same instance is never more than 2 s after the stored one, and one more than 2 s
 * after it is a new instance (the contract's "uptime < previous uptime + elapsed − 2"). An earlier
 * estimate is never taken for a restart: a false restart would count every counter again.
 */
export const RESTART_TOLERANCE_S = 2;

export function sameInstance(earlier: InstanceMarker, later: InstanceMarker): boolean {
  if (earlier.boot !== null && later.boot !== null) {
    // Another boot id: the machine rebooted, so sing-box started again.
    return earlier.boot === later.boot && later.mono <= earlier.mono + RESTART_TOLERANCE_S;
  }
  return later.wall <= earlier.wall + RESTART_TOLERANCE_S;
}

/** One consistent look at sing-box's counters: all taken from the instance `instance`. */
export interface Reading {
  instance: InstanceMarker;
  /** Counter values per source and key; a counter that is absent is 0. */
  sources: Map<string, Map<string, Pair>>;
}

/** The user a counter belongs to: SSM usernames are `<name>@<inbound tag>`. */
export function userOf(source: string, key: string): string {
  if (source.startsWith('ssm:')) {
    const suffix = `@${source.slice(4)}`;
    if (key.endsWith(suffix) && key.length > suffix.length) return key.slice(0, -suffix.length);
  }
  return key;
}

const ZERO: Pair = [0, 0];

/**
 * Deltas per user (sources summed, zero deltas left out, sorted by user) and the baseline patch.
 *
 * Per source: a source seen for the first time, or from another sing-box instance than its
 * baselines, counts its whole current values. The V2Ray counters only go down when sing-box
 * restarts (nothing here resets them), so a V2Ray counter that went down also counts as a restart
 * of the whole source. An SSM counter can go down alone (the user was deleted and added again), so
 * only that counter starts over. Sources not read this time keep their baselines, unless sing-box
 * restarted since: then their counters are gone and so are their baselines.
 */
export function computeDeltas(
  baselines: ReadonlyMap<string, SourceBaseline>,
  reading: Reading,
): { deltas: Delta[]; patch: BaselinePatch } {
  const patch: BaselinePatch = {};
  const byUser = new Map<string, Pair>();
  const add = (source: string, key: string, up: number, down: number) => {
    if (up === 0 && down === 0) return;
    const user = userOf(source, key);
    const sum = byUser.get(user);
    if (sum) {
      sum[0] += up;
      sum[1] += down;
    } else byUser.set(user, [up, down]);
  };

  for (const [source, current] of reading.sources) {
    const previous = baselines.get(source);
    let restarted = !previous || !sameInstance(previous.instance, reading.instance);
    if (!restarted && source === V2RAY_SOURCE) {
      for (const [key, [up, down]] of previous!.counters) {
        const now = current.get(key) ?? ZERO;
        if (now[0] < up || now[1] < down) restarted = true;
      }
    }
    if (restarted) {
      const counters: Record<string, Pair> = {};
      for (const [key, [up, down]] of current) {
        add(source, key, up, down);
        if (up > 0 || down > 0) counters[key] = [up, down];
      }
      patch[source] = { reset: reading.instance, counters };
      continue;
    }
    const changed: Record<string, Pair | null> = {};
    for (const key of new Set([...previous!.counters.keys(), ...current.keys()])) {
      const [wasUp, wasDown] = previous!.counters.get(key) ?? ZERO;
      const [up, down] = current.get(key) ?? ZERO;
      if (up === wasUp && down === wasDown) continue;
      add(source, key, up >= wasUp ? up - wasUp : up, down >= wasDown ? down - wasDown : down);
      changed[key] = up > 0 || down > 0 ? [up, down] : null;
    }
    if (Object.keys(changed).length > 0) patch[source] = { counters: changed };
  }

  for (const [source, previous] of baselines) {
    if (!reading.sources.has(source) && !sameInstance(previous.instance, reading.instance)) patch[source] = null;
  }

  const deltas = [...byUser]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([user, [up, down]]) => ({ user, upload_bytes: up, download_bytes: down }));
  return { deltas, patch };
}
