// Turns one reading of sing-box's per-user counters into byte deltas against the ledger's
// baselines, and the baseline changes that go with them. Pure: no I/O, no clock.
import type { BaselinePatch, Delta, InstanceMarker, Pair, SourceBaseline } from './ledger-record.js';

/** The V2Ray stats API: one counter pair per user name listed in `experimental.v2ray_api.stats.users`. */
export const V2RAY_SOURCE = 'v2ray';
/** One managed Shadowsocks inbound's SSM API; its counters are keyed by SSM username (`<name>@<tag>`). */
export const ssmSource = (inbound: string): string => `ssm:${inbound}`;

/**
 * An instance's start is estimated as (clock read before the uptime call − uptime). Uptime drops
 * its fraction of a second, so an estimate is less than 1 s late; it is early by up to the call's
 * time. A start more than 2 s after the stored one is a new instance (the contract's "uptime <
 * previous uptime + elapsed − 2"). An earlier estimate is never taken for a restart: a false
 * restart would count every counter again.
 *
 * For the same reason no estimate of the instance a source's counters come from may be more than
 * 2 s after the start stored with them, so the stored start must be less than 1 s before that
 * instance's real start. A start recorded from a prompt call (PRECISE_UPTIME_CALL_S) is. But a
 * restart less than 2 s after the stored start goes unseen when no counter went down (sing-box
 * reloaded twice in a row before any traffic): the baselines go on with the new instance's
 * counters while the stored start is the old instance's, up to 2 s earlier. So the stored start
 * follows the readings (INSTANCE_MOVE_S): otherwise, depending on when a sample happens within
 * the second, the new instance's estimates pass the 2 s mark and its whole counters are counted
 * again.
 */
export const RESTART_TOLERANCE_S = 2;

/**
 * An uptime answer slower than this gives no start to record (a new instance's, or a move): its
 * estimate may be early by as much as the call took. Such a reading is still counted when it
 * records no start.
 */
export const PRECISE_UPTIME_CALL_S = 0.5;

/**
 * A reading taken for the same instance whose start estimate is more than this after the stored
 * start moves the stored start to it. One that does not move it and came from a prompt call is
 * from an instance that started at most 0.4 + 0.5 s after the stored start: under the 1 s allowed,
 * with 0.1 s to spare for clock and rounding noise. A move is a line in the ledger; one instance's
 * prompt estimates span less than 1.5 s, so its start moves at most three times.
 */
export const INSTANCE_MOVE_S = 0.4;

/**
 * How much later `later` puts sing-box's start than `earlier`, on the clock both can be compared
 * on: CLOCK_MONOTONIC within one boot, the wall clock without a boot id, Infinity across boots.
 */
function startGap(earlier: InstanceMarker, later: InstanceMarker): number {
  if (earlier.boot !== null && later.boot !== null) {
    // Another boot id: the machine rebooted, so sing-box started again.
    return earlier.boot === later.boot ? later.mono - earlier.mono : Infinity;
  }
  return later.wall - earlier.wall;
}

export function sameInstance(earlier: InstanceMarker, later: InstanceMarker): boolean {
  return startGap(earlier, later) <= RESTART_TOLERANCE_S;
}

/** One consistent look at sing-box's counters: all taken from the instance `instance`. */
export interface Reading {
  instance: InstanceMarker;
  /** Every uptime call was answered within PRECISE_UPTIME_CALL_S: `instance` may become a stored start. */
  precise: boolean;
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

/** A source's counters as a baseline: the ones with bytes (an absent counter is 0). */
function countersOf(current: Map<string, Pair>): Record<string, Pair> {
  const counters: Record<string, Pair> = {};
  for (const [key, [up, down]] of current) if (up > 0 || down > 0) counters[key] = [up, down];
  return counters;
}

/**
 * Whether `instance` started more than RESTART_TOLERANCE_S before the ledger was created, so its
 * counters up to now may already be in a ledger that is gone. The error that must not happen is
 * taking a sing-box started after the ledger for an older one: its bytes would be lost with
 * nobody else counting them. A prompt estimate is at most PRECISE_UPTIME_CALL_S early, well within
 * the tolerance, so that cannot happen; the price is that an instance started within 2 s before
 * the ledger is counted in full (in practice the one the same agent start launched). Across boots
 * startGap is Infinity: the ledger is from an earlier boot than the running sing-box, which started
 * after it.
 */
function startedBeforeLedger(instance: InstanceMarker, ledgerCreated: InstanceMarker): boolean {
  return startGap(ledgerCreated, instance) < -RESTART_TOLERANCE_S;
}

/**
 * Deltas per user (sources summed, zero deltas left out, sorted by user) and the baseline patch.
 *
 * Per source: a source seen for the first time, or from another sing-box instance than its
 * baselines, counts its whole current values. The V2Ray counters only go down when sing-box
 * restarts (nothing here resets them), so a V2Ray counter that went down also counts as a restart
 * of the whole source. An SSM counter can go down alone (the user was deleted and added again), so
 * only that counter starts over. Otherwise the source counts what grew, and its stored start moves
 * to this reading's when that is more than INSTANCE_MOVE_S later (the patch's `instance`; see
 * RESTART_TOLERANCE_S). Sources not read this time keep their baselines, unless sing-box
 * restarted since: then their counters are gone and so are their baselines.
 *
 * With `ledgerCreated` (the ledger's creation marker; a ledger older than clash-stats 0.5.0 has
 * none), a source without a baseline whose instance started before the ledger (see
 * startedBeforeLedger) counts nothing: its current values become the baseline. They were counted,
 * if at all, by the ledger this one replaced. That decision needs a precise reading: from any
 * other the source is left out (no baseline, no deltas) until a precise one comes.
 *
 * A patch with `reset` or `instance` records this reading's start: only a precise reading may be
 * used for it.
 */
export function computeDeltas(
  baselines: ReadonlyMap<string, SourceBaseline>,
  reading: Reading,
  ledgerCreated?: InstanceMarker,
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
    if (!previous && ledgerCreated) {
      // A slow answer makes the start estimate early, which could pass for "before the ledger".
      if (!reading.precise) continue;
      if (startedBeforeLedger(reading.instance, ledgerCreated)) {
        patch[source] = { reset: reading.instance, counters: countersOf(current) };
        continue;
      }
    }
    let restarted = !previous || !sameInstance(previous.instance, reading.instance);
    if (!restarted && source === V2RAY_SOURCE) {
      for (const [key, [up, down]] of previous!.counters) {
        const now = current.get(key) ?? ZERO;
        if (now[0] < up || now[1] < down) restarted = true;
      }
    }
    if (restarted) {
      for (const [key, [up, down]] of current) add(source, key, up, down);
      patch[source] = { reset: reading.instance, counters: countersOf(current) };
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
    // Taken for the same instance, but maybe one that started within RESTART_TOLERANCE_S of the
    // stored start without showing it: the start stays with the instance these counters are from.
    if (startGap(previous!.instance, reading.instance) > INSTANCE_MOVE_S) {
      patch[source] = { instance: reading.instance, counters: changed };
    } else if (Object.keys(changed).length > 0) patch[source] = { counters: changed };
  }

  for (const [source, previous] of baselines) {
    if (!reading.sources.has(source) && !sameInstance(previous.instance, reading.instance)) patch[source] = null;
  }

  const deltas = [...byUser]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([user, [up, down]]) => ({ user, upload_bytes: up, download_bytes: down }));
  return { deltas, patch };
}
