// REALITY key pairs: X25519 keys as base64url without padding (32 bytes), as
// `sing-box generate reality-keypair` and `xray x25519` print them, and a short id. The hub derives
// the public key clients need from the private key in a node's base config (subscriptions/entries.ts).
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';

export interface RealityKeyPair {
  /** For the inbound's `tls.reality.private_key`. */
  private_key: string;
  /** What clients put in their `reality.public_key` (`pbk` in share links). */
  public_key: string;
  /** 16 hex characters (8 bytes, the most REALITY takes), for the inbound's `tls.reality.short_id`. */
  short_id: string;
}

/** The X25519 public key (base64url, 43 chars) of a REALITY private key. */
export function realityPublicKey(privateKey: string): string {
  const raw = Buffer.from(privateKey, 'base64url');
  // PKCS#8 wrapping of a raw X25519 private key (RFC 8410).
  const der = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), raw]);
  const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return String(jwk.x);
}

/** A fresh key pair and short id. */
export function realityKeyPair(): RealityKeyPair {
  const raw = Buffer.from(String(generateKeyPairSync('x25519').privateKey.export({ format: 'jwk' }).d), 'base64url');
  // Clamped, as sing-box (wgtypes) and Xray print their keys; X25519 clamps on use, so the public key is the same.
  raw[0]! &= 248;
  raw[31] = (raw[31]! & 127) | 64;
  const privateKey = raw.toString('base64url');
  return { private_key: privateKey, public_key: realityPublicKey(privateKey), short_id: randomBytes(8).toString('hex') };
}
