import { describe, expect, it } from 'vitest';
import { auditInput, clip, MAX_AUDIT_INPUT_BYTES, redact } from '../../../hub/auth.js';

describe('the audit record of a request', () => {
  it('redacts secret-looking fields at any depth, keeping the order of the keys', () => {
    const out = redact({ b: 1, password: 'p', a: [{ token: 't', keep: 'k' }], nested: { ss_key: 'x', key_list: ['stays'] } });
    expect(JSON.stringify(out)).toBe('{"b":1,"password":"[redacted]","a":[{"token":"[redacted]","keep":"k"}],"nested":{"ss_key":"[redacted]","key_list":["stays"]}}');
  });

  it('walks a value nested 100,000 deep without overflowing the stack, marking what is below 64 levels', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    let out = redact(deep);
    let depth = 0;
    while (Array.isArray(out)) {
      out = out[0];
      depth += 1;
    }
    expect([depth, out]).toEqual([64, '[nested too deep]']);
  });

  it('keeps a __proto__ key as a field, not as the prototype of the copy', () => {
    const out = redact(JSON.parse('{"__proto__":{"polluted":true}}')) as object;
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true}}');
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('keeps an input up to 16 KB of JSON whole and a bigger one as its size and first 4 KB', () => {
    const small = { note: 'n'.repeat(MAX_AUDIT_INPUT_BYTES - 20) };
    expect(auditInput(small)).toEqual(small);
    const big = { password: 'secret', note: 'n'.repeat(100_000) };
    const kept = auditInput(big) as { _truncated: boolean; bytes: number; head: string };
    expect(kept).toMatchObject({ _truncated: true, bytes: JSON.stringify({ password: '[redacted]', note: big.note }).length });
    expect(kept.head.startsWith('{"password":"[redacted]","note":"nnn')).toBe(true);
    expect(kept.head).toMatch(/…\[truncated 95971 bytes\]$/);
    expect(JSON.stringify(kept).length).toBeLessThan(4200);
    expect(auditInput(undefined)).toBeNull();
  });

  it('cuts a text to its limit, marker included, saying how many bytes went', () => {
    expect(clip('short', 64)).toBe('short');
    const cut = clip('é'.repeat(100), 64);
    expect(cut.length).toBeLessThanOrEqual(64);
    expect(cut).toBe(`${'é'.repeat(32)}…[truncated 136 bytes]`);
  });
});
