// `boxfleet agent init`: writes agent.yaml, a TLS key and self-signed certificate, and a random
// token into one folder, and returns the enrollment string for the hub.
import { randomBytes, X509Certificate } from 'node:crypto';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { BUILTIN_PLUGINS } from './builtin-plugins.js';
import { splitAddress } from './config.js';
import { formatEnrollment } from './enrollment.js';
import { FailedPreconditionError } from './errors.js';

export interface InitOptions {
  dir: string;
  nodeId?: string;
  listen?: string;
  /** host:port the hub dials; default: this machine's first external IPv4 and the listen port. */
  address?: string;
  insecure?: boolean;
  force?: boolean;
}

export interface InitResult {
  configFile: string;
  enrollment: string;
}

function defaultNodeId(): string {
  return os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63) || 'node';
}

function externalIPv4(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

export async function initAgent(options: InitOptions): Promise<InitResult> {
  const dir = path.resolve(options.dir);
  const configFile = path.join(dir, 'agent.yaml');
  if (!options.force && (await exists(configFile))) {
    throw new FailedPreconditionError(`${configFile} already exists; pass --force to replace it (the hub must then be re-enrolled)`);
  }
  const nodeId = options.nodeId ?? defaultNodeId();
  const listen = options.listen ?? '0.0.0.0:7443';
  const { host: listenHost, port } = splitAddress(listen);
  const wildcard = listenHost === '0.0.0.0' || listenHost === '::' || listenHost === '';
  const address = options.address ?? `${wildcard ? (externalIPv4() ?? '127.0.0.1') : listenHost}:${port}`;
  const { host: addressHost } = splitAddress(address);

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  await writeFile(path.join(dir, 'token'), `${token}\n`, { mode: 0o600 });

  let fingerprint: string | undefined;
  if (!options.insecure) {
    const notAfter = new Date();
    notAfter.setFullYear(notAfter.getFullYear() + 10);
    const pems = await selfsigned.generate([{ name: 'commonName', value: `boxfleet-agent ${nodeId}` }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [isIP(addressHost) ? { type: 7, ip: addressHost } : { type: 2, value: addressHost }, { type: 2, value: nodeId }],
        },
      ],
    });
    await writeFile(path.join(dir, 'agent.key'), pems.private, { mode: 0o600 });
    await writeFile(path.join(dir, 'agent.crt'), pems.cert);
    fingerprint = new X509Certificate(pems.cert).fingerprint256.replace(/:/g, '').toLowerCase();
  }

  const plugins = BUILTIN_PLUGINS.map((p) => `  ${p.id}:\n    enabled: true`).join('\n');
  await writeFile(
    configFile,
    `# boxfleet agent — written by \`boxfleet agent init\`. Relative paths are relative to this file.
# SIGHUP (or saving this file) re-reads it: plugins start and stop without restarting the agent.
node_id: ${nodeId}
listen: ${JSON.stringify(listen)}
${options.insecure ? 'insecure: true   # plaintext gRPC: loopback tests only\n' : ''}tls:
  cert: agent.crt
  key: agent.key
token_file: token
state_dir: state
command_timeout_ms: 5000
log:
  level: error    # error | warn | info | debug
  # file: agent.log
plugins:
${plugins}
`,
    { mode: 0o600 },
  );
  return {
    configFile,
    enrollment: formatEnrollment({ address, nodeId, token, fingerprint, insecure: options.insecure ?? false }),
  };
}
