// One inbound check against loopback servers: what a client would see on connecting.
import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import selfsigned from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeInbound } from '../../../hub/inbound-probe.js';
import type { InboundTarget } from '../../../hub/inbound-health.js';

const NAME = 'node.boxfleet.test';

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('probing one inbound from the hub', () => {
  const servers: net.Server[] = [];
  let sha256: string;
  let tlsPort: number;
  let silentPort: number;
  let closingPort: number;
  let closedPort: number;

  beforeAll(async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: NAME }], {
      keyType: 'ec', curve: 'P-256', algorithm: 'sha256', extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: NAME }] }],
    });
    const der = Buffer.from(pems.cert.replace(/-----[^-]+-----|\s+/g, ''), 'base64');
    sha256 = createHash('sha256').update(der).digest('hex');
    const secure = tls.createServer({ cert: pems.cert, key: pems.private }, (s) => s.end());
    // Accepts TCP and never says a word: a TLS handshake to it waits.
    const silent = net.createServer(() => undefined);
    // Accepts TCP and hangs up: what a TLS client sees from a port that is not TLS.
    const closing = net.createServer((s) => s.destroy());
    servers.push(secure, silent, closing);
    [tlsPort, silentPort, closingPort] = [await listen(secure), await listen(silent), await listen(closing)];
    const gone = net.createServer();
    closedPort = await listen(gone);
    await new Promise((r) => gone.close(r));
  });

  afterAll(async () => {
    for (const s of servers) s.close();
  });

  const target = (port: number, extra: Partial<InboundTarget> = {}): InboundTarget => ({ tag: 't', host: '127.0.0.1', port, probe: 'tcp', ...extra });

  it('passes a TCP inbound that accepts, with its connect time', async () => {
    const r = await probeInbound(target(silentPort), 2000);
    expect(r).toMatchObject({ ok: true, error: null });
    expect(r.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('fails a closed port, saying the connection was refused', async () => {
    expect(await probeInbound(target(closedPort), 2000)).toMatchObject({ ok: false, latency_ms: null, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('passes a TLS inbound whose certificate is the pinned one, and fails another pin', async () => {
    expect(await probeInbound(target(tlsPort, { probe: 'tls', serverName: NAME, certificateSha256: sha256 }), 2000)).toMatchObject({ ok: true });
    const wrong = await probeInbound(target(tlsPort, { probe: 'tls', serverName: NAME, certificateSha256: '0'.repeat(64) }), 2000);
    expect(wrong).toMatchObject({ ok: false, error: expect.stringContaining('is not the pinned') });
  });

  it('fails a TLS inbound whose certificate no public CA signed when none is pinned', async () => {
    const r = await probeInbound(target(tlsPort, { probe: 'tls', serverName: NAME }), 2000);
    expect(r).toMatchObject({ ok: false, error: expect.stringContaining('certificate not trusted') });
  });

  it('fails a TLS inbound that accepts TCP but hangs up or never answers the handshake', async () => {
    expect(await probeInbound(target(closingPort, { probe: 'tls', serverName: NAME }), 2000)).toMatchObject({ ok: false });
    const started = Date.now();
    expect(await probeInbound(target(silentPort, { probe: 'tls', serverName: NAME }), 300)).toMatchObject({ ok: false, error: 'no answer within 300 ms' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('checks a REALITY inbound by TCP connect only', async () => {
    expect(await probeInbound(target(silentPort, { probe: 'reality' }), 300)).toMatchObject({ ok: true });
  });
});
