// The node's inventory (OS, kernel, virtualization, CPU, memory, disks, file systems, network
// interfaces), read with systeminformation. Run as the plugin's `inventory` task, in a process of its
// own (the package is large), so this module and the package are loaded only there.
import os from 'node:os';
import type { Inventory } from './contract.js';

type SystemInformation = typeof import('systeminformation');

const count = (n: number | null | undefined) => (Number.isFinite(n) && n! > 0 ? Math.round(n!) : 0);

export async function gatherInventory(): Promise<Inventory> {
  // A CommonJS module: its exports are the namespace's `default` once bundled.
  const loaded = (await import('systeminformation')) as SystemInformation & { default?: SystemInformation };
  const si = loaded.default ?? loaded;
  const [system, osInfo, cpu, memory, disks, filesystems, interfaces] = await Promise.all([
    si.system(),
    si.osInfo(),
    si.cpu(),
    si.mem(),
    si.diskLayout(),
    si.fsSize(),
    si.networkInterfaces(),
  ]);
  // systeminformation gives one address per family; the node's own table has them all.
  const addresses = os.networkInterfaces();
  return {
    os: {
      platform: osInfo.platform,
      distro: osInfo.distro,
      release: osInfo.release,
      codename: osInfo.codename,
      kernel: osInfo.kernel,
      arch: osInfo.arch,
      hostname: osInfo.hostname,
    },
    virtualization: { virtual: system.virtual, host: system.virtualHost ?? '', system: [system.manufacturer, system.model].filter(Boolean).join(' ') },
    cpu: { manufacturer: cpu.manufacturer, brand: cpu.brand, cores: count(cpu.cores), physical_cores: count(cpu.physicalCores), speed_ghz: cpu.speed || 0 },
    memory: { total_bytes: count(memory.total), swap_total_bytes: count(memory.swaptotal) },
    disks: disks.map((d) => ({ device: d.device, name: d.name, type: d.type, size_bytes: count(d.size) })),
    filesystems: filesystems.map((f) => ({ fs: f.fs, type: f.type, mount: f.mount, size_bytes: count(f.size), used_bytes: count(f.used) })),
    interfaces: (Array.isArray(interfaces) ? interfaces : [interfaces]).map((i) => ({
      name: i.iface,
      mac: i.mac,
      addresses: (addresses[i.iface] ?? []).map((a) => a.cidr ?? a.address),
      internal: i.internal,
      virtual: i.virtual,
      speed_mbps: i.speed !== null && i.speed > 0 ? i.speed : null,
    })),
    gathered_at: new Date().toISOString(),
  };
}
