// A node's own network for fault tests: a network namespace joined to this (the hub's) namespace
// by a veth pair, so a test can cut or spoil the link between them with nftables inside the node,
// as a router between hub and node would. Needs root (.ci/run runs the real set as root).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface NodeNetwork {
  /** The namespace's name, for `ip netns exec` (startAgentProcess's netns option). */
  name: string;
  /** This side's end of the veth pair: where the node reaches the hub and servers of the test. */
  hostAddress: string;
  /** The node's end. */
  nodeAddress: string;
  /** Loads an nftables script inside the node's namespace (`nft -f -`). */
  nft(script: string): Promise<void>;
  /** Deletes the nftables table `name` there, if it exists. */
  dropTable(name: string): Promise<void>;
  /** Deletes every nftables table there: the link is whole again. */
  heal(): Promise<void>;
  /** Kills every process still in the namespace (sing-box outlives its agent by design), then deletes it. */
  close(): Promise<void>;
}

async function sh(...args: string[]): Promise<string> {
  return (await run(args[0]!, args.slice(1))).stdout;
}

/** `label` (up to 4 characters) tells namespaces of one process apart; a /24 of 10.219.x.0 per namespace. */
export async function createNodeNetwork(label: string, subnet: number): Promise<NodeNetwork> {
  if (!/^[a-z0-9]{1,4}$/.test(label)) throw new Error(`label ${label}: 1 to 4 lower-case letters or digits (interface names have 15 characters)`);
  const name = `faultsnet-${label}-${process.pid}`;
  const [hostEnd, nodeEnd] = [`fn${process.pid}${label}h`, `fn${process.pid}${label}n`];
  const [hostAddress, nodeAddress] = [`10.219.${subnet}.1`, `10.219.${subnet}.2`];
  await sh('ip', 'netns', 'add', name);
  try {
    await sh('ip', 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nodeEnd, 'netns', name);
    await sh('ip', 'addr', 'add', `${hostAddress}/24`, 'dev', hostEnd);
    await sh('ip', 'link', 'set', hostEnd, 'up');
    await sh('ip', '-n', name, 'addr', 'add', `${nodeAddress}/24`, 'dev', nodeEnd);
    await sh('ip', '-n', name, 'link', 'set', nodeEnd, 'up');
    await sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
  } catch (error) {
    await sh('ip', 'netns', 'del', name).catch(() => undefined);
    throw error;
  }
  return {
    name,
    hostAddress,
    nodeAddress,
    async nft(script) {
      await new Promise<void>((resolve, reject) => {
        const child = execFile('ip', ['netns', 'exec', name, 'nft', '-f', '-'], (error, _stdout, stderr) => (error ? reject(new Error(`nft: ${stderr || error.message}`)) : resolve()));
        child.stdin!.end(script);
      });
    },
    async dropTable(table) {
      await sh('ip', 'netns', 'exec', name, 'nft', 'delete', 'table', 'inet', table).catch(() => undefined);
    },
    async heal() {
      await sh('ip', 'netns', 'exec', name, 'nft', 'flush', 'ruleset');
    },
    async close() {
      const pids = (await sh('ip', 'netns', 'pids', name).catch(() => '')).split('\n').filter(Boolean).map(Number);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      // Deleting the namespace takes the node's end of the veth pair, and with it this end.
      await sh('ip', 'netns', 'del', name).catch(() => undefined);
    },
  };
}
