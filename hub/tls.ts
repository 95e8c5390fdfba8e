// HTTPS served by the hub itself (tls_cert and tls_key). The files are read and tried at start, so
// a wrong path or a key that does not belong to the certificate stops the hub with a message that
// names the setting, not at the first client's handshake.
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { InvalidArgumentError } from '../agent-core/common/errors.js';
import { settingName, type HubConfig } from './config.js';

/** Fastify's `https` option: the certificate and key, or null for plain HTTP. */
export async function httpsOptions(config: Pick<HubConfig, 'tls_cert' | 'tls_key'>): Promise<{ cert: Buffer; key: Buffer } | null> {
  if (!config.tls_cert) return null;
  const read = (key: 'tls_cert' | 'tls_key') =>
    readFile(config[key]).catch((error: Error) => {
      throw new InvalidArgumentError(`${settingName(key)}: cannot read ${config[key]}: ${error.message}`);
    });
  const [cert, key] = [await read('tls_cert'), await read('tls_key')];
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new InvalidArgumentError(
      `${settingName('tls_cert')} and ${settingName('tls_key')}: not a PEM certificate and its private key (${(error as Error).message})`,
    );
  }
  return { cert, key };
}
