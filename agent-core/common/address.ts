import { InvalidArgumentError } from './errors.js';

/** Splits `host:port` (IPv6 in brackets) for net APIs. */
export function splitAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (!match) throw new InvalidArgumentError(`address ${JSON.stringify(address)} must be host:port`);
  return { host: match[1]!, port: Number(match[2]) };
}
