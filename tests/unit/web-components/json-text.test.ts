// The config editor's error placement: a parse error's line, and the line of the path a hub or
// sing-box message names.
import { describe, expect, it } from 'vitest';
import { lineOfPath, parseJson, pathInMessage } from '../../../web-components/src/ui/json-text.js';

const config = JSON.stringify(
  {
    log: { level: 'warn' },
    inbounds: [
      { type: 'vless', tag: 'vless-in', listen_port: 443, tls: { enabled: true, server_name: 'a "quoted" }{ name' } },
      { type: 'shadowsocks', tag: 'ss-in', method: '2022-blake3-aes-128-gcm', users: [{ name: 'x' }] },
    ],
    outbounds: [{ type: 'direct', tag: 'direct' }],
  },
  null,
  2,
);
const lines = config.split('\n');
const lineWith = (text: string) => lines.findIndex((l) => l.includes(text)) + 1;

describe('parseJson', () => {
  it('gives the value of valid JSON', () => {
    expect(parseJson('{"a": [1]}')).toEqual({ ok: true, value: { a: [1] } });
  });

  it('gives the line and column of a syntax error', () => {
    const broken = '{\n  "a": 1,\n  "b": 2\n  "c": 3\n}';
    const parsed = parseJson(broken);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.at).toEqual({ line: 4, column: 3 });
    expect(parsed.message).not.toMatch(/line \d+ column/);
  });

  it('points at the end of the text when the input stops early', () => {
    const parsed = parseJson('{\n  "a": [1, 2');
    expect(parsed.ok || parsed.at.line).toBe(2);
  });
});

describe('pathInMessage', () => {
  it('reads the path the hub names, without body. and config.', () => {
    expect(pathInMessage('body.config.inbounds[1].users: users are managed by users.sync; remove them from the base config')).toEqual(['inbounds', 1, 'users']);
    expect(pathInMessage('body.config.experimental.clash_api: managed by clash-stats; remove it')).toEqual(['experimental', 'clash_api']);
  });

  it("reads the path in sing-box's own message", () => {
    const message =
      'node web-1 refused config version 3: sing-box check refused the config: FATAL[0000] decode config at /tmp/x/config.json: inbounds[0].no_such_field: json: unknown field "no_such_field"';
    expect(pathInMessage(message)).toEqual(['inbounds', 0, 'no_such_field']);
  });

  it('finds no path in a message without one', () => {
    expect(pathInMessage('the node is offline')).toBeNull();
  });
});

describe('lineOfPath', () => {
  it('finds the line of a nested value, past strings holding brackets and quotes', () => {
    expect(lineOfPath(config, ['inbounds', 1, 'users'])).toBe(lineWith('"users"'));
    expect(lineOfPath(config, ['inbounds', 0, 'tls', 'server_name'])).toBe(lineWith('server_name'));
    expect(lineOfPath(config, ['outbounds', 0])).toBe(lineWith('"outbounds"') + 1);
  });

  it('falls back to the nearest existing parent for a key the text lacks', () => {
    expect(lineOfPath(config, ['inbounds', 0, 'no_such_field'])).toBe(lineWith('"type": "vless"') - 1);
    expect(lineOfPath(config, ['inbounds', 7])).toBe(lineWith('"inbounds"'));
  });

  it('works on compact JSON and gives null for text that does not parse', () => {
    expect(lineOfPath('{"a":{"b":[1,{"c":2}]}}', ['a', 'b', 1, 'c'])).toBe(1);
    expect(lineOfPath('{"a": "unterminated', ['a', 'b'])).toBeNull();
  });
});
