// The sing-box profile passes a real `sing-box check` (strict parsing: an unknown key, a legacy DNS
// string or a bad key fails it), for every protocol, and so does the node config it was made from
// once users are in it; and so does the stand-in profile a suspended user gets.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeholderEntry } from '../../../hub/subscriptions/entries.js';
import { renderSingbox } from '../../../hub/subscriptions/formats/singbox.js';
import { singboxBin } from '../../support/real-components.js';
import { makeFixture, RENDER_OPTIONS } from './subscription.helpers.js';

const run = promisify(execFile);

describe('sing-box check on the sing-box subscription', () => {
  const bin = singboxBin();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-sub-check-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const check = async (name: string, config: unknown) => {
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify(config, null, 2));
    const result = await run(bin, ['check', '-c', file]).then(
      () => ({ ok: true, stderr: '' }),
      (error: { stderr?: string }) => ({ ok: false, stderr: error.stderr ?? String(error) }),
    );
    expect(result.stderr, `${name}: ${result.stderr}`).toBe('');
    expect(result.ok, name).toBe(true);
  };

  it('accepts the client profile for every protocol (REALITY, ws, trojan, SS-2022, Hysteria2, TUIC, AnyTLS)', async () => {
    const { entries } = await makeFixture();
    expect(entries).toHaveLength(7);
    await check('client-all', renderSingbox(entries, RENDER_OPTIONS));
  });

  it('accepts the node config those entries were made from, with the user in it', async () => {
    const { base, user, ssServerKey } = await makeFixture();
    const userKey16 = Buffer.from(user.ss_key, 'base64').subarray(0, 16).toString('base64');
    const users: Record<string, object> = {
      vless: { name: 'alice', uuid: user.uuid, flow: '' },
      vmess: { name: 'alice', uuid: user.uuid, alterId: 0 },
      trojan: { name: 'alice', password: user.password },
      shadowsocks: { name: 'alice', password: userKey16 },
      hysteria2: { name: 'alice', password: user.password },
      tuic: { name: 'alice', uuid: user.uuid, password: user.password },
      anytls: { name: 'alice', password: user.password },
    };
    const server = structuredClone(base) as { inbounds: Record<string, unknown>[] };
    for (const inbound of server.inbounds) {
      const u = users[String(inbound.type)];
      if (u) inbound.users = [u];
    }
    expect(ssServerKey).toContain('+');
    await check('server-all', server);
  });

  it('accepts the stand-in profile of a user without usable nodes', async () => {
    await check('client-placeholder', renderSingbox([placeholderEntry('⛔ subscription expired')], RENDER_OPTIONS));
    await check('client-empty', renderSingbox([], RENDER_OPTIONS));
  });
});
