// Reads sing-box's per-user counters (V2Ray stats API, and the SSM API of each managed
// Shadowsocks inbound) into one Reading, all from one sing-box instance, without resetting them.
import { readFile } from 'node:fs/promises';
import { httpRequest, UnavailableError, wallClock } from '../../agent-core/sdk.js';
import { reasonOf } from './clash-api.js';
import { PRECISE_UPTIME_CALL_S, V2RAY_SOURCE, sameInstance, ssmSource, type Reading } from './deltas.js';
import type { InstanceMarker, Pair } from './ledger-record.js';
import { openV2RayStats } from './v2ray-stats.js';

export interface SsmEndpoint {
  inbound: string;
  url: string;
}

/** The kernel's id for this boot: CLOCK_MONOTONIC readings are comparable only within one. */
export async function readBootId(): Promise<string | null> {
  try {
    const id = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    return id || null;
  } catch {
    return null;
  }
}

/** CLOCK_MONOTONIC in seconds: the clock Go's time.Since (and so sing-box's uptime) runs on. */
const monotonicSeconds = () => Number(process.hrtime.bigint() / 1000n) / 1e6;
const ms = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** Now, on the clocks instance starts are estimated on: what a sing-box starting now would be given. */
export function clockNow(bootId: string | null): InstanceMarker {
  return { boot: bootId, mono: ms(monotonicSeconds()), wall: ms(wallClock() / 1000) };
}

/** Every user's counters, about 100 bytes each: room for a few hundred thousand. */
const MAX_SSM_BODY = 32 * 1024 * 1024;

/** GET <url>/server/v1/stats (never `?clear`), as SSM username → [uplink, downlink]. */
export async function readSsmCounters(url: string, timeoutMs: number, signal?: AbortSignal): Promise<Map<string, Pair>> {
  const target = `${url.replace(/\/+$/, '')}/server/v1/stats`;
  let body: unknown;
  try {
    const response = await httpRequest(target, { signal, timeoutMs, maxBody: MAX_SSM_BODY });
    if (response.status !== 200) throw new Error(`answered ${response.status}`);
    body = JSON.parse(response.body);
  } catch (error) {
    throw new UnavailableError(`SSM API at ${target}: ${reasonOf(error)}`, { cause: error });
  }
  const users = (body as { users?: unknown } | null)?.users;
  if (users !== null && !Array.isArray(users)) throw new UnavailableError(`SSM API at ${target} answered with an unexpected body`);
  const counters = new Map<string, Pair>();
  for (const user of users ?? []) {
    const { username, uplinkBytes, downlinkBytes } = (user ?? {}) as Record<string, unknown>;
    if (typeof username !== 'string' || !Number.isSafeInteger(uplinkBytes) || !Number.isSafeInteger(downlinkBytes)) {
      throw new UnavailableError(`SSM API at ${target} answered with an unexpected user entry`);
    }
    counters.set(username, [Math.max(0, uplinkBytes as number), Math.max(0, downlinkBytes as number)]);
  }
  return counters;
}

export interface ReadOptions {
  v2rayListen: string;
  endpoints: SsmEndpoint[];
  bootId: string | null;
  timeoutMs: number;
  signal?: AbortSignal;
  /** An SSM endpoint that could not be read: its source is left out of this reading. */
  onSourceError(source: string, error: Error): void;
}

/**
 * One reading, bracketed by two uptime calls so that every counter in it comes from the same
 * sing-box instance; `precise` is false when an uptime answer was slow.
 * Throws UnavailableError when the V2Ray API cannot be read or sing-box restarted in between:
 * then nothing is to be recorded.
 */
export async function readCounters(options: ReadOptions): Promise<Reading> {
  const v2ray = openV2RayStats(options.v2rayListen, options.timeoutMs);
  // An uptime answer slower than PRECISE_UPTIME_CALL_S places the instance's start too early by up
  // to the delay. That is harmless for comparing against a stored start (an earlier start never
  // looks like a restart), but such an estimate must not become a stored start.
  let precise = true;
  const instanceNow = async (): Promise<InstanceMarker> => {
    const now = clockNow(options.bootId);
    const uptime = await v2ray.uptime();
    if (monotonicSeconds() - now.mono > PRECISE_UPTIME_CALL_S) precise = false;
    // The clock read before the call: the estimate can be early by the call's time, late by at
    // most the 1 s that uptime's whole seconds drop.
    return { boot: now.boot, mono: ms(now.mono - uptime), wall: ms(now.wall - uptime) };
  };
  try {
    const before = await instanceNow();
    const sources = new Map<string, Map<string, Pair>>([[V2RAY_SOURCE, await v2ray.userCounters()]]);
    await Promise.all(
      options.endpoints.map(async ({ inbound, url }) => {
        const source = ssmSource(inbound);
        try {
          sources.set(source, await readSsmCounters(url, options.timeoutMs, options.signal));
        } catch (error) {
          options.onSourceError(source, error as Error);
        }
      }),
    );
    const after = await instanceNow();
    if (!sameInstance(before, after)) throw new UnavailableError('sing-box restarted while its counters were being read');
    return { instance: before, sources, precise };
  } finally {
    v2ray.close();
  }
}
