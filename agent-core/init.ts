// `boxfleet agent init`: writes agent.yaml, a TLS key and self-signed certificate, and a random
// token into one folder, and returns the enrollment string for the hub.
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { splitAddress } from './common/address.js';
import { readAgentConfig } from './config.js';
import { formatEnrollment } from './common/enrollment.js';
import { certificateFingerprint } from './common/fingerprint.js';
import { FailedPreconditionError } from './common/errors.js';

export interface InitOptions {
  dir: string;
  nodeId?: string;
  listen?: string;
  /** host:port the hub dials; default: this machine's first external IPv4 and the listen port. */
  address?: string;
  insecure?: boolean;
  force?: boolean;
  /** Where plugins keep their state (the traffic ledger among it); default `state` beside agent.yaml. */
  stateDir?: string;
  /** singbox-config's settings for a sing-box installed with the agent (install.sh passes them). */
  singbox?: { binary: string; configPath: string; systemdUnit?: string };
  /** The built-in plugins agent.yaml enables, by id (the agent entry point's list). */
  plugins: readonly string[];
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

/** The address the hub dials when none is given: this host's first external IPv4 on a wildcard listen. */
function defaultAddress(listen: string): string {
  const { host, port } = splitAddress(listen);
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  return `${wildcard ? (externalIPv4() ?? '127.0.0.1') : host}:${port}`;
}

/** The enrollment string of an agent already set up, e.g. to add it to the hub again after an upgrade. */
export async function enrollmentOf(configFile: string, address?: string): Promise<string> {
  const config = await readAgentConfig(configFile);
  const token = (await readFile(config.token_file, 'utf8')).trim();
  const fingerprint = config.insecure ? undefined : certificateFingerprint(await readFile(config.tls.cert));
  return formatEnrollment({ address: address ?? defaultAddress(config.listen), nodeId: config.node_id, token, fingerprint, insecure: config.insecure });
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Refuses a listen address another process holds, before anything is written. */
async function checkListenFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new FailedPreconditionError(
          error.code === 'EADDRINUSE'
            ? `${host}:${port} is already in use by another process; choose another --listen port`
            : `cannot listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
    server.listen({ host: host || '0.0.0.0', port, exclusive: true }, () => server.close(() => resolve()));
  });
}

function singboxSettings(singbox: NonNullable<InitOptions['singbox']>): string {
  const lines = [`    binary: ${JSON.stringify(singbox.binary)}`, `    config_path: ${JSON.stringify(singbox.configPath)}`];
  if (singbox.systemdUnit) lines.push('    mode: systemd', `    systemd_unit: ${JSON.stringify(singbox.systemdUnit)}`);
  return lines.map((line) => `\n${line}`).join('');
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
  const address = options.address ?? defaultAddress(listen);
  const { host: addressHost } = splitAddress(address);
  await checkListenFree(listenHost, port);

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
    fingerprint = certificateFingerprint(pems.cert);
  }

  const plugins = options.plugins.map(
    (id) => `  ${id}:\n    enabled: true${id === 'singbox-config' && options.singbox ? singboxSettings(options.singbox) : ''}`,
  ).join('\n');
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
state_dir: ${JSON.stringify(options.stateDir ?? 'state')}
command_timeout_ms: 5000
log:
  level: error    # error | warn | info | debug
  # file: /var/log/boxfleet/agent.log   # SIGUSR1 reopens it (deploy/logrotate/boxfleet)
  # max_file_mb: 50                      # the file stops growing here until it is rotated
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
