// How an agent's certificate is named: the lower-case hex SHA-256 of its DER encoding, the form
// enrollment strings carry and the hub pins. One formula for init, the hub and the CLI.
import { X509Certificate } from 'node:crypto';

/** `AB:CD:…` (as Node and openssl print it) or any case of hex → lower-case hex without colons. */
export function normalizeFingerprint(fp: string): string {
  return fp.replace(/:/g, '').toLowerCase();
}

/** The fingerprint of a certificate given as DER bytes or PEM text. */
export function certificateFingerprint(certificate: Buffer | string): string {
  return normalizeFingerprint(new X509Certificate(certificate).fingerprint256);
}
