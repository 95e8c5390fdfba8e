// A local HTTP (or HTTPS) server that serves exactly N bytes at /bytes/N, and clients that download
// through an HTTP proxy (a sing-box client's mixed inbound) and count every byte that crossed it.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

const BLOCK = randomBytes(64 * 1024); // random, so nothing on the way can compress it

export interface ByteServer {
  port: number;
  /**
   * Bytes this server handed to the kernel on every connection so far, headers included: what a
   * proxy relaying its downloads can have counted at most.
   */
  sent(): number;
  close(): Promise<void>;
}

/** Over HTTPS when given a key and certificate (TLS 1.3 only), else plain HTTP; on `host` (loopback unless given). */
export async function startByteServer(options: { tls?: { key: string; cert: string }; host?: string } = {}): Promise<ByteServer> {
  const serve: http.RequestListener = (req, res) => {
    const match = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (!match) return res.writeHead(404).end();
    let left = Number(match[1]);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
    const pump = () => {
      while (left > 0) {
        const chunk = BLOCK.subarray(0, Math.min(left, BLOCK.length));
        left -= chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  };
  const server = options.tls ? https.createServer({ ...options.tls, minVersion: 'TLSv1.3' }, serve) : http.createServer(serve);
  const open = new Set<net.Socket>();
  let closedSent = 0;
  server.on('connection', (socket: net.Socket) => {
    open.add(socket);
    socket.once('close', () => (open.delete(socket), (closedSent += socket.bytesWritten)));
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    sent: () => [...open].reduce((sum, socket) => sum + socket.bytesWritten, closedSent),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A download that did not complete; `received` still counts what arrived before it broke. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly received: number,
  ) {
    super(message);
  }
}

export interface Download {
  /** Every byte read from the proxy connection: status line, headers and body. */
  received: number;
  /** Every byte written to the proxy connection (the request). */
  sent: number;
  body: number;
}

/**
 * Downloads `bytes` from the byte server through an HTTP proxy on 127.0.0.1:proxyPort, over one
 * raw TCP connection so that exactly what crossed the proxy is counted. The byte server is on
 * `serverHost` (as the node sees it).
 */
export function downloadThroughProxy(proxyPort: number, serverPort: number, bytes: number, timeoutMs = 60_000, serverHost = '127.0.0.1'): Promise<Download> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    const request = `GET http://${serverHost}:${serverPort}/bytes/${bytes} HTTP/1.1\r\nHost: ${serverHost}:${serverPort}\r\nConnection: close\r\n\r\n`;
    let received = 0;
    let head = '';
    let headLength = -1;
    let failure: Error | undefined;
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`download timed out after ${timeoutMs} ms`)));
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (headLength < 0) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end >= 0) headLength = end + 4;
      }
    });
    socket.on('error', (error) => (failure = error));
    socket.on('close', () => {
      if (headLength < 0 || !/^HTTP\/1\.1 200/.test(head)) {
        const answer = head ? JSON.stringify(head.slice(0, 200)) : 'nothing';
        return reject(new DownloadError(`proxy answered ${answer}${failure ? ` (${failure.message})` : ''}`, received));
      }
      const body = received - headLength;
      if (body !== bytes) return reject(new DownloadError(`got ${body} of ${bytes} body bytes${failure ? ` (${failure.message})` : ''}`, received));
      resolve({ received, sent: Buffer.byteLength(request), body });
    });
  });
}

/**
 * Downloads `bytes` from an HTTPS byte server through a CONNECT tunnel of the HTTP proxy on
 * 127.0.0.1:proxyPort, with TLS inside the tunnel (as a browser does). `sent` and `received` are
 * what went through the tunnel (TLS records both ways), not the CONNECT exchange with the local proxy.
 */
export function downloadOverTls(proxyPort: number, serverPort: number, servername: string, ca: string, bytes: number, timeoutMs = 60_000): Promise<Download> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, '127.0.0.1');
    const connect = `CONNECT 127.0.0.1:${serverPort} HTTP/1.1\r\nHost: 127.0.0.1:${serverPort}\r\n\r\n`;
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`download timed out after ${timeoutMs} ms`)));
    socket.once('error', (error) => reject(new DownloadError(error.message, 0)));
    socket.on('connect', () => socket.write(connect));
    let answer = '';
    const onAnswer = (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onAnswer);
      if (!/^HTTP\/1\.[01] 200/.test(answer) || end + 4 !== answer.length) return socket.destroy(new Error(`proxy answered ${JSON.stringify(answer.slice(0, 200))}`));
      const [readBefore, writtenBefore] = [socket.bytesRead, socket.bytesWritten];
      const secure = tls.connect({ socket, servername, ca, minVersion: 'TLSv1.3' });
      let body = 0;
      let head = '';
      let headDone = false;
      secure.on('secureConnect', () => secure.write(`GET /bytes/${bytes} HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`));
      secure.on('data', (data: Buffer) => {
        if (headDone) return void (body += data.length);
        head += data.toString('latin1');
        const at = head.indexOf('\r\n\r\n');
        if (at >= 0) {
          headDone = true;
          body += Buffer.byteLength(head.slice(at + 4), 'latin1');
        }
      });
      secure.once('error', (error) => reject(new DownloadError(error.message, socket.bytesRead - readBefore)));
      secure.on('close', () => {
        const moved = { received: socket.bytesRead - readBefore, sent: socket.bytesWritten - writtenBefore, body };
        if (!/^HTTP\/1\.1 200/.test(head) || body !== bytes) return reject(new DownloadError(`got ${body} of ${bytes} body bytes over TLS`, moved.received));
        resolve(moved);
      });
    };
    socket.on('data', onAnswer);
  });
}
