import { describe, expect, it } from 'vitest';
import { auditInput, clip, MAX_AUDIT_INPUT_BYTES } from '../../../hub/auth.js';

// What counts as a secret, and walking deep input, is tested with the redaction itself (redact.test.ts).
describe('the audit record of a request', () => {
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
