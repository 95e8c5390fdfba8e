import { describe, expect, it } from 'vitest';
import { isSecretField, redact } from '../../../hub/redact.js';

describe('redact', () => {
  it('names as secrets the fields sing-box, the SSM API, mihomo and the hub keep credentials in', () => {
    const secret = ['password', 'private_key', 'privateKey', 'secret', 'key', 'uuid', 'token', 'sub_token', 'ss_key', 'auth_str', 'auth', 'psk',
      'pre_shared_key', 'uPSK', 'obfs-password', 'api_key', 'enrollment', 'credentials', 'password_hash'];
    const open = ['public_key', 'publicKey', 'object_key', 'server_name', 'short_id', 'name', 'type', 'hash', 'certificate', 'method', 'passed'];
    expect(secret.filter((k) => !isSecretField(k))).toEqual([]);
    expect(open.filter((k) => isSecretField(k))).toEqual([]);
  });

  it('replaces secret strings, numbers and lists of them, walks objects under any name, and keeps the rest', () => {
    const config = {
      inbounds: [
        { type: 'vless', tls: { key: ['-----BEGIN PRIVATE KEY-----', 'abc'], reality: { private_key: 'priv', public_key: 'pub', short_id: ['01'] } } },
        { type: 'shadowsocks', password: 'psk', users: [{ name: 'a', password: 'upsk' }] },
      ],
      experimental: { clash_api: { external_controller: '127.0.0.1:9090', secret: 's' } },
      // A JSON Schema names secret fields without holding one: it stays usable.
      schema: { properties: { password: { type: 'string' } }, required: ['password'] },
      credentials: { uuid: 'u', enabled: true, token: null },
    };
    expect(redact(config)).toEqual({
      inbounds: [
        { type: 'vless', tls: { key: '[redacted]', reality: { private_key: '[redacted]', public_key: 'pub', short_id: ['01'] } } },
        { type: 'shadowsocks', password: '[redacted]', users: [{ name: 'a', password: '[redacted]' }] },
      ],
      experimental: { clash_api: { external_controller: '127.0.0.1:9090', secret: '[redacted]' } },
      schema: { properties: { password: { type: 'string' } }, required: ['password'] },
      credentials: { uuid: '[redacted]', enabled: true, token: null },
    });
    expect(config.inbounds[1]!.password).toBe('psk');
  });

  it('walks a value nested far deeper than the call stack allows, cutting it off at a bound', () => {
    let deep: unknown = { password: 'p' };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const text = JSON.stringify(redact(deep));
    expect(text).toContain('[redacted]');
    expect(text).not.toContain('"p"');
  });

  it('keeps a field named __proto__ as a plain field', () => {
    const out = redact(JSON.parse('{"__proto__": {"secret": "s", "polluted": true}}')) as Record<string, unknown>;
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"secret":"[redacted]","polluted":true}}');
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});
