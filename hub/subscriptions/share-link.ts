// Share links, one URI per entry in each scheme's convention (singbox.md §8c): what the links and
// base64 formats list, the portal shows and the QR codes carry. Pure.
import type { Entry } from './entries.js';

const enc = encodeURIComponent;
const hostPart = (host: string) => (host.includes(':') ? `[${host}]` : host);

function query(params: Record<string, string | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${enc(v!)}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** type/path/host/serviceName as v2rayN writes them. */
function transportParams(e: Entry): Record<string, string | undefined> {
  const t = e.transport;
  if (!t) return { type: 'tcp', headerType: 'none' };
  if (t.type === 'grpc') return { type: 'grpc', serviceName: t.service_name, mode: 'gun' };
  return { type: t.type === 'http' ? 'h2' : t.type, path: t.path, host: t.host };
}

/** security/sni/alpn/fp/pbk/sid; allowInsecure=1 when the server's certificate is self-signed. */
function tlsParams(e: Entry): Record<string, string | undefined> {
  const tls = e.tls;
  if (!tls) return { security: 'none' };
  if (tls.reality) {
    return { security: 'reality', sni: tls.server_name, fp: 'chrome', pbk: tls.reality.public_key, sid: tls.reality.short_id };
  }
  return { security: 'tls', sni: tls.server_name, alpn: tls.alpn?.join(','), fp: 'chrome', allowInsecure: tls.certificate ? '1' : undefined };
}

export function shareLink(e: Entry): string {
  const at = `${hostPart(e.server)}:${e.port}`;
  const name = `#${enc(e.name)}`;
  switch (e.type) {
    case 'vless':
      return `vless://${e.uuid}@${at}${query({ encryption: 'none', flow: e.flow || undefined, ...tlsParams(e), ...transportParams(e) })}${name}`;
    case 'vmess': {
      const t = e.transport;
      const body = {
        v: '2',
        ps: e.name,
        add: e.server,
        port: String(e.port),
        id: e.uuid,
        aid: '0',
        scy: 'auto',
        net: t ? (t.type === 'http' ? 'h2' : t.type) : 'tcp',
        type: 'none',
        host: t?.host ?? '',
        path: t?.type === 'grpc' ? (t.service_name ?? '') : (t?.path ?? ''),
        tls: e.tls ? 'tls' : '',
        sni: e.tls?.server_name ?? '',
        alpn: e.tls?.alpn?.join(',') ?? '',
        fp: e.tls ? 'chrome' : '',
        ...(e.tls?.certificate ? { insecure: '1' } : {}),
      };
      return `vmess://${Buffer.from(JSON.stringify(body)).toString('base64')}`;
    }
    case 'trojan':
      return `trojan://${enc(e.password!)}@${at}${query({ ...tlsParams(e), ...transportParams(e) })}${name}`;
    case 'shadowsocks': {
      // SIP002: 2022 methods take a plain, percent-encoded userinfo; the others base64url of method:password.
      const userinfo = e.method!.startsWith('2022-')
        ? `${enc(e.method!)}:${enc(e.password!)}`
        : Buffer.from(`${e.method}:${e.password}`).toString('base64url');
      return `ss://${userinfo}@${at}${name}`;
    }
    case 'hysteria2':
      return `hysteria2://${enc(e.password!)}@${at}/${query({
        obfs: e.obfs?.type,
        'obfs-password': e.obfs?.password,
        sni: e.tls?.server_name,
        alpn: e.tls?.alpn?.join(','),
        insecure: e.tls?.certificate ? '1' : '0',
        pinSHA256: e.tls?.certificate_sha256,
      })}${name}`;
    case 'tuic':
      // The ':' between uuid and password stays literal (mihomo reads a password-less userinfo as a v4 token).
      return `tuic://${e.uuid}:${enc(e.password!)}@${at}${query({
        congestion_control: e.congestion_control,
        alpn: (e.tls?.alpn ?? ['h3']).join(','),
        sni: e.tls?.server_name,
        udp_relay_mode: 'native',
        allow_insecure: e.tls?.certificate ? '1' : '0',
      })}${name}`;
    case 'anytls':
      return `anytls://${enc(e.password!)}@${at}${query({ security: 'tls', sni: e.tls?.server_name, insecure: e.tls?.certificate ? '1' : undefined })}${name}`;
  }
}
