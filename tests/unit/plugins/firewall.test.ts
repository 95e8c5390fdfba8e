import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../../agent-core/harness.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../../agent-core/common/errors.js';
import firewall from '../../../plugins/firewall/index.js';

interface Listing {
  blocked_ips: string[];
  blocked_ports: { port: number; protocol: 'tcp' | 'udp' }[];
  block_bittorrent: boolean;
  table: string;
  nftables: { available: boolean; table_present: boolean; message: string };
}

let tmp: string;
let harness: Harness | undefined;
const originalPath = process.env.PATH;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'firewall-test-'));
});
afterEach(async () => {
  process.env.PATH = originalPath;
  await harness?.close();
  harness = undefined;
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function start(config: Record<string, unknown> = {}): Promise<Harness> {
  harness = await createHarness(firewall, { config: { firewall: config } });
  return harness;
}

/**
 * Puts a stand-in `nft` first on PATH that prints `stderr` and exits with `code`, so the ways a real
 * nft answers (present, missing table, no permission) can be checked on machines without root.
 */
async function fakeNft(code: number, stderr = ''): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, 'bin-'));
  const argsFile = path.join(dir, 'args');
  await writeFile(
    path.join(dir, 'nft'),
    `#!/bin/sh\necho "$@" > ${argsFile}\n${stderr ? `echo '${stderr}' >&2\n` : ''}exit ${code}\n`,
  );
  await chmod(path.join(dir, 'nft'), 0o755);
  process.env.PATH = dir;
  return argsFile;
}

describe('firewall.list', () => {
  it('lists the configured blocks with their defaults filled in', async () => {
    const h = await start({ blocked_ips: ['203.0.113.7', '198.51.100.0/24', '2001:db8::/32'], blocked_ports: [{ port: 25, protocol: 'tcp' }] });
    const listing = await h.execute<Listing>('firewall.list');
    expect(listing).toMatchObject({
      blocked_ips: ['203.0.113.7', '198.51.100.0/24', '2001:db8::/32'],
      blocked_ports: [{ port: 25, protocol: 'tcp' }],
      block_bittorrent: false,
      table: 'boxfleet',
    });
  });

  it('says nftables is unavailable, without failing, when there is no nft on PATH', async () => {
    process.env.PATH = tmp; // no nft here
    const listing = await (await start()).execute<Listing>('firewall.list');
    expect(listing.nftables).toEqual({
      available: false,
      table_present: false,
      message: 'nft not found on PATH; nftables blocks cannot be applied',
    });
  });

  it('asks nft for the configured table in the inet family', async () => {
    const argsFile = await fakeNft(0);
    const listing = await (await start({ table: 'edge_fw' })).execute<Listing>('firewall.list');
    expect(listing.nftables).toEqual({ available: true, table_present: true, message: 'table inet edge_fw is present' });
    expect(await readFile(argsFile, 'utf8')).toBe('-j list table inet edge_fw\n');
  });

  it('reports a missing table as not present yet', async () => {
    await fakeNft(1, 'Error: No such file or directory; did you mean table boxfleet in family ip?');
    const listing = await (await start()).execute<Listing>('firewall.list');
    expect(listing.nftables).toEqual({ available: true, table_present: false, message: 'table inet boxfleet does not exist yet' });
  });

  it('explains, without failing, when nft is not permitted', async () => {
    await fakeNft(1, 'Error: cache initialization failed: Operation not permitted');
    const listing = await (await start()).execute<Listing>('firewall.list');
    expect(listing.nftables.available).toBe(true);
    expect(listing.nftables.table_present).toBe(false);
    expect(listing.nftables.message).toMatch(/not permitted.*CAP_NET_ADMIN/);
  });
});

describe('firewall config', () => {
  it('refuses to run with an address that is not an IP or CIDR, naming the entry', async () => {
    const h = await start({ blocked_ips: ['10.0.0.1', '10.0.0.0/33'] });
    const [status] = await h.describe();
    expect(status).toMatchObject({ state: 'failed', healthy: false });
    expect(status!.message).toContain('plugins.firewall.blocked_ips.1: "10.0.0.0/33" is not an IP address or CIDR');
    await expect(h.execute('firewall.list')).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it('refuses an unknown protocol at load, naming the field', async () => {
    await expect(start({ blocked_ports: [{ port: 25, protocol: 'icmp' }] })).rejects.toThrow(
      new InvalidArgumentError('plugins.firewall.blocked_ports.0.protocol: must be one of tcp, udp'),
    );
  });

  it('refuses a table name nft would not accept', async () => {
    await expect(start({ table: 'x; flush ruleset' })).rejects.toThrow(/^plugins\.firewall\.table: must match pattern/);
  });
});

describe('firewall.singbox-contribution', () => {
  it('rejects the blocked IPs and, when enabled, BitTorrent', async () => {
    const h = await start({ blocked_ips: ['203.0.113.7', '2001:db8::/32'], block_bittorrent: true });
    expect(await h.execute('firewall.singbox-contribution')).toEqual({
      route_rules: [
        { ip_cidr: ['203.0.113.7', '2001:db8::/32'], action: 'reject' },
        { protocol: 'bittorrent', action: 'reject' },
      ],
    });
  });

  it('contributes no rules when nothing is blocked at the proxy level', async () => {
    const h = await start({ blocked_ports: [{ port: 25, protocol: 'tcp' }] });
    expect(await h.execute('firewall.singbox-contribution')).toEqual({ route_rules: [] });
  });
});
