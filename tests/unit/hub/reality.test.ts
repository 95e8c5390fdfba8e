// REALITY key pairs as the hub makes them for the config editor. The real sing-box derives the same
// public key from them: tests/e2e/reality-vision.singbox.test.ts.
import { describe, expect, it } from 'vitest';
import { realityKeyPair, realityPublicKey } from '../../../hub/reality.js';

describe('REALITY key pairs', () => {
  it('gives 32-byte X25519 keys in unpadded base64url, clamped as sing-box prints them, and a 16-hex short id', () => {
    const pair = realityKeyPair();
    for (const key of [pair.private_key, pair.public_key]) {
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(key, 'base64url')).toHaveLength(32);
    }
    const raw = Buffer.from(pair.private_key, 'base64url');
    expect(raw[0]! & 7).toBe(0);
    expect(raw[31]! & 0xc0).toBe(0x40);
    expect(pair.short_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('gives the public key clients get from the private key in the base config', () => {
    const pair = realityKeyPair();
    expect(realityPublicKey(pair.private_key)).toBe(pair.public_key);
  });

  it('gives a new pair and short id every time', () => {
    const [a, b] = [realityKeyPair(), realityKeyPair()];
    expect(a.private_key).not.toBe(b.private_key);
    expect(a.public_key).not.toBe(b.public_key);
    expect(a.short_id).not.toBe(b.short_id);
  });
});
