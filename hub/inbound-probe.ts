// One check of one inbound from the hub, as a user's client would start a connection: a TCP
// connect to the host and port clients dial and, for a TLS inbound, a TLS handshake with the SNI
// and ALPN clients send, checking the certificate as they do (the pinned SHA-256 when the profile
// pins a self-signed certificate, else the usual chain and name check). Nothing is sent after it.
import net from 'node:net';
import tls from 'node:tls';
import type { InboundTarget } from './inbound-health.js';

export interface ProbeResult {
  ok: boolean;
  /** Until connected (TCP) or until the handshake ended (TLS). */
  latency_ms: number | null;
  error: string | null;
}

const hexOf = (fingerprint: string) => fingerprint.replace(/:/g, '').toLowerCase();

export function probeInbound(target: InboundTarget, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let socket: net.Socket;
    const finish = (error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: error === null, latency_ms: error === null ? Math.round(performance.now() - started) : null, error });
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    if (target.probe !== 'tls') {
      socket = net.connect({ host: target.host, port: target.port }, () => finish(null));
    } else {
      const pinned = target.certificateSha256;
      const name = target.serverName ?? target.host;
      socket = tls.connect(
        {
          host: target.host,
          port: target.port,
          // SNI carries no IP address (RFC 6066); the name check below still uses it.
          servername: net.isIP(name) ? undefined : name,
          ALPNProtocols: target.alpn,
          rejectUnauthorized: false,
        },
        () => {
          const secure = socket as tls.TLSSocket;
          if (pinned) {
            const got = secure.getPeerX509Certificate()?.fingerprint256;
            return finish(got && hexOf(got) === pinned ? null : `certificate ${got ? hexOf(got).slice(0, 16) : 'missing'}… is not the pinned ${pinned.slice(0, 16)}…`);
          }
          if (!secure.authorized) return finish(`certificate not trusted: ${String(secure.authorizationError)}`);
          const mismatch = tls.checkServerIdentity(name, secure.getPeerCertificate());
          finish(mismatch ? `certificate not valid for ${name}: ${mismatch.message}` : null);
        },
      );
    }
    socket.once('error', (error) => finish(error.message));
    // A server that closes before the handshake ends (REALITY refusing, a TLS port that is not TLS).
    socket.once('close', () => finish('closed by the server'));
  });
}
