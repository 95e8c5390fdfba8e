// The rule that turns the hub's inbound checks into a node's health, and which inbounds it checks.
import { describe, expect, it } from 'vitest';
import { inboundTargets, nextInboundHealth, type InboundHealth } from '../../../hub/inbound-health.js';
import { makeFixture, SERVER_NAME } from './subscription.helpers.js';

const THRESHOLDS = { unhealthyAfter: 3, healthyAfter: 2 };
const HEALTHY: InboundHealth = { failed: 0, good: 0, unhealthySince: null };

/** The health after each check of `checks` ('x' failed, 'o' good), starting healthy at t = 1. */
function run(checks: string, from: InboundHealth = HEALTHY): InboundHealth[] {
  const states: InboundHealth[] = [];
  let state = from;
  [...checks].forEach((c, i) => {
    state = nextInboundHealth(state, c === 'o', i + 1, THRESHOLDS);
    states.push(state);
  });
  return states;
}
const unhealthy = (states: InboundHealth[]) => states.map((s) => (s.unhealthySince === null ? '.' : 'U')).join('');

describe('node health from inbound checks', () => {
  it('turns unhealthy at the 3rd failed check in a row, and records when', () => {
    const states = run('xxx');
    expect(unhealthy(states)).toBe('..U');
    expect(states[2]).toEqual({ failed: 3, good: 0, unhealthySince: 3 });
  });

  it('stays unhealthy through more failures, keeping the time it turned', () => {
    expect(run('xxxxx').at(-1)).toEqual({ failed: 5, good: 0, unhealthySince: 3 });
  });

  it('turns healthy again at the 2nd good check in a row', () => {
    const states = run('xxxoo');
    expect(unhealthy(states)).toBe('..UU.');
    expect(states.at(-1)).toEqual({ failed: 0, good: 2, unhealthySince: null });
  });

  it('does not move on a node that flaps: a check that breaks a run starts the count again', () => {
    expect(unhealthy(run('xxoxxoxxo'))).toBe('.........');
    expect(unhealthy(run('xxxoxoxox'))).toBe('..UUUUUUU');
  });

  it('counts good checks of a healthy node without changing anything', () => {
    expect(run('ooo').at(-1)).toEqual({ failed: 0, good: 3, unhealthySince: null });
  });
});

describe('which inbounds the hub checks', () => {
  it('checks each TCP inbound /sub hands out, at the host and port clients dial, with their TLS; REALITY by TCP only; QUIC ones not', async () => {
    const { node, base } = await makeFixture({ publicHost: 'edge.example.net', overrides: { 'trojan-in': { host: 'cdn.example.org', port: 443 } } });
    const targets = inboundTargets(node, base);
    expect(targets.map((t) => [t.tag, t.host, t.port, t.probe])).toEqual([
      ['vless-reality', 'edge.example.net', 10443, 'reality'],
      ['vmess-ws', 'edge.example.net', 10001, 'tcp'],
      ['trojan-in', 'cdn.example.org', 443, 'tls'],
      ['ss-in', 'edge.example.net', 10003, 'tcp'],
      ['anytls-in', 'edge.example.net', 10006, 'tls'],
    ]);
    const trojan = targets.find((t) => t.tag === 'trojan-in')!;
    expect(trojan.serverName).toBe(SERVER_NAME);
    expect(trojan.certificateSha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
