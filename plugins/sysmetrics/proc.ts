// Readings straight from /proc and statfs: a few small file reads per sample, no child processes,
// so periodic sampling stays within the agent's idle budget (architecture §7). Linux only.
import { existsSync, readdirSync } from 'node:fs';
import { readFile, statfs } from 'node:fs/promises';

export interface CpuTimes {
  /** Clock ticks spent doing anything but idling or waiting for I/O. */
  busy: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat; guest time is already inside user/nice. */
export async function readCpuTimes(): Promise<CpuTimes> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const total = user! + nice! + system! + idle! + iowait + irq + softirq + steal;
  return { busy: total - idle! - iowait, total };
}

/** Percentage of CPU time busy between two readings, 0–100, one decimal; null without progress. */
export function cpuPercent(now: CpuTimes, before: CpuTimes): number | null {
  const total = now.total - before.total;
  if (total <= 0) return null;
  return Math.round(Math.min(Math.max((now.busy - before.busy) / total, 0), 1) * 1000) / 10;
}

export interface MemoryReading {
  total_bytes: number;
  available_bytes: number;
}

export async function readMemory(): Promise<MemoryReading> {
  const text = await readFile('/proc/meminfo', 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { total_bytes: kb('MemTotal'), available_bytes: kb('MemAvailable') };
}

export interface ByteCounters {
  rx: number;
  tx: number;
}

/** Bytes received and sent over every interface but loopback (the agent talking to itself). */
export async function readNetwork(): Promise<ByteCounters> {
  const lines = (await readFile('/proc/net/dev', 'utf8')).split('\n').slice(2);
  let rx = 0;
  let tx = 0;
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() === 'lo') continue;
    const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    rx += fields[0] ?? 0;
    tx += fields[8] ?? 0;
  }
  return { rx, tx };
}

let physicalDisks: Set<string> | undefined;
/** Whole physical disks (sda, vda, nvme0n1): partitions, loop, dm and md devices would count bytes twice. */
function disks(): Set<string> {
  if (!physicalDisks) {
    let names: string[] = [];
    try {
      names = readdirSync('/sys/block').filter((name) => existsSync(`/sys/block/${name}/device`));
    } catch {
      // No /sys (some containers): no disk I/O figures.
    }
    physicalDisks = new Set(names);
  }
  return physicalDisks;
}

/** Bytes read (`rx`) and written (`tx`) on physical disks; /proc/diskstats counts 512-byte sectors. */
export async function readDiskIo(): Promise<ByteCounters> {
  const wanted = disks();
  let rx = 0;
  let tx = 0;
  for (const line of (await readFile('/proc/diskstats', 'utf8')).split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || !wanted.has(fields[2]!)) continue;
    rx += Number(fields[5]) * 512;
    tx += Number(fields[9]) * 512;
  }
  return { rx, tx };
}

export interface DiskUsage {
  total_bytes: number;
  used_bytes: number;
}

/** Size and use of the filesystem holding `path`, counted as `df` does (blocks − free). */
export async function readDiskUsage(path: string): Promise<DiskUsage> {
  const s = await statfs(path);
  return { total_bytes: s.blocks * s.bsize, used_bytes: (s.blocks - s.bfree) * s.bsize };
}

/** Bytes per second between two readings; null when a counter went back (reset) or no time passed. */
export function rate(now: number, before: number, seconds: number): number | null {
  if (seconds <= 0 || now < before) return null;
  return Math.round((now - before) / seconds);
}
