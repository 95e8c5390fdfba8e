// The config editor's shortcuts on VLESS and REALITY inbounds: where it offers them, and what they
// write into the config.
import { describe, expect, it } from 'vitest';
import { baseConfigProblem, visionProblem } from '../../../plugins/singbox-config/contract.js';
import { inboundTools, visionAllowed, withRealityKeys, withVisionFlow } from '../../../web-components/src/ui/inbound-tools.js';

const tls = { enabled: true, server_name: 'node.example.com', certificate_path: '/c.pem', key_path: '/k.pem' };
const reality = { enabled: true, server_name: 'www.example.com', reality: { enabled: true, handshake: { server: 'www.example.com', server_port: 443 } } };
const keys = { private_key: 'cHJpdmF0ZQ', short_id: '0123456789abcdef' };

describe('config editor: inbound shortcuts', () => {
  it('offers them on VLESS inbounds and on any inbound with a REALITY block, by tag', () => {
    const config = {
      inbounds: [
        { type: 'mixed', tag: 'local' },
        { type: 'vless', tag: 'vless-reality', tls: reality, flow: 'xtls-rprx-vision' },
        { type: 'vless', tls: { enabled: false } },
        { type: 'trojan', tag: 'trojan-reality', tls: reality },
        { type: 'trojan', tag: 'trojan-tls', tls },
      ],
    };
    expect(inboundTools(config)).toEqual([
      { index: 1, label: 'vless-reality', vless: true, vision: true, visionAllowed: true },
      { index: 2, label: 'inbounds[2]', vless: true, vision: false, visionAllowed: false },
      { index: 3, label: 'trojan-reality', vless: false, vision: false, visionAllowed: false },
    ]);
    expect(inboundTools('not a config')).toEqual([]);
  });

  it('offers the Vision flow exactly where the hub takes it', () => {
    const inbounds = [
      { type: 'vless', tls },
      { type: 'vless', tls: reality },
      { type: 'vless', tls, multiplex: { enabled: false } },
      { type: 'vless' },
      { type: 'vless', tls: { ...tls, enabled: false } },
      { type: 'vless', tls, transport: { type: 'ws' } },
      { type: 'vless', tls, multiplex: { enabled: true } },
      { type: 'trojan', tls },
    ];
    for (const inbound of inbounds) expect(visionAllowed(inbound), JSON.stringify(inbound)).toBe(visionProblem(inbound) === undefined);
    expect(inbounds.filter(visionAllowed)).toHaveLength(3);
  });

  it('writes REALITY keys into an existing REALITY block, keeping the rest', () => {
    const config = { inbounds: [{ type: 'mixed' }, { type: 'vless', tag: 'v', tls: reality }] };
    const out = withRealityKeys(config, 1, keys);
    expect(out.inbounds).toEqual([
      { type: 'mixed' },
      { type: 'vless', tag: 'v', tls: { ...reality, reality: { ...reality.reality, private_key: keys.private_key, short_id: [keys.short_id] } } },
    ]);
    expect(config.inbounds[1]).toEqual({ type: 'vless', tag: 'v', tls: reality });
  });

  it('gives a VLESS inbound without REALITY an enabled REALITY block on enabled TLS', () => {
    const out = withRealityKeys({ inbounds: [{ type: 'vless', tag: 'v' }] }, 0, keys);
    expect(out.inbounds).toEqual([{ type: 'vless', tag: 'v', tls: { enabled: true, reality: { enabled: true, private_key: keys.private_key, short_id: [keys.short_id] } } }]);
  });

  it('turns the Vision flow on and off, and the hub takes the result', () => {
    const config = { inbounds: [{ type: 'vless', tag: 'v', tls }] };
    const on = withVisionFlow(config, 0, true);
    expect(on.inbounds).toEqual([{ type: 'vless', tag: 'v', tls, flow: 'xtls-rprx-vision' }]);
    expect(baseConfigProblem(on)).toBeUndefined();
    expect(withVisionFlow(on, 0, false)).toEqual(config);
  });
});
