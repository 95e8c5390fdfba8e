import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../agent-core/common/logger.js';
import { auditInput, clip, MAX_AUDIT_INPUT_BYTES, recordAudit } from '../../../hub/audit.js';
import { AuditEntry } from '../../../hub/db/models.js';
import { startTestHub } from '../../support/hub.js';

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

describe('the audit record of a job', () => {
  it('is redacted like a request, through the same writer', async () => {
    const hub = await startTestHub('sqlite');
    try {
      const logger = createLogger({ service: 'hub', level: 'error' });
      const started = performance.now();
      await recordAudit(hub.app.db, logger, {
        actor: { id: null, name: 'traffic' },
        action: 'node.ledger.replaced',
        target: 'n1',
        input: { reader: 'r1', token: 't0ps3cret' },
        started,
        error: new Error('x'.repeat(2000)),
      });
      const row = await AuditEntry.query(hub.app.db).where({ action: 'node.ledger.replaced' }).first();
      expect(row).toMatchObject({ admin: 'traffic', target: 'n1', input: { reader: 'r1', token: '[redacted]' }, result: 'error', status_code: 500 });
      expect(row!.error!.length).toBeLessThanOrEqual(1000);
    } finally {
      await hub.close();
    }
  });
});
