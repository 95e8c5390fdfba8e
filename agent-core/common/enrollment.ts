// The enrollment string an agent prints at init and the hub takes to add the node:
//   boxfleet://<host:port>?node=<id>&fp=<sha256 of the certificate, hex>&token=<token>
// (`insecure=1` instead of `fp` for a plaintext agent).
import { InvalidArgumentError } from './errors.js';
import { normalizeFingerprint } from './fingerprint.js';

export interface Enrollment {
  address: string;
  nodeId: string;
  token: string;
  /** Lower-case hex SHA-256 of the agent's DER certificate; absent when insecure. */
  fingerprint?: string;
  insecure: boolean;
}

export function formatEnrollment(e: Enrollment): string {
  const params = new URLSearchParams({ node: e.nodeId });
  if (e.insecure) params.set('insecure', '1');
  else params.set('fp', e.fingerprint!);
  params.set('token', e.token);
  return `boxfleet://${e.address}?${params}`;
}

export function parseEnrollment(text: string): Enrollment {
  const fail = (why: string) => new InvalidArgumentError(`enrollment: ${why}`);
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw fail('not a boxfleet:// enrollment string (run `boxfleet agent init` on the node to get one)');
  }
  if (url.protocol !== 'boxfleet:') throw fail(`must start with boxfleet://, not ${url.protocol}//`);
  if (!url.host || !url.port) throw fail('the agent address must be host:port');
  const nodeId = url.searchParams.get('node') ?? '';
  const token = url.searchParams.get('token') ?? '';
  const insecure = url.searchParams.get('insecure') === '1';
  const fp = normalizeFingerprint(url.searchParams.get('fp') ?? '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(nodeId)) throw fail('node is missing or not a valid node id');
  if (token.length < 16) throw fail('token is missing or too short');
  if (!insecure && !/^[0-9a-f]{64}$/.test(fp)) throw fail('fp must be the 64-hex-digit SHA-256 of the agent certificate');
  return { address: url.host, nodeId, token, insecure, ...(insecure ? {} : { fingerprint: fp }) };
}
