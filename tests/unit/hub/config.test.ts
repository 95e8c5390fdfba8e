// Hub settings as an operator meets them: `boxfleet hub --help` lists every one, flags win over
// variables over defaults, a bad value is refused naming the setting and its variable, and a
// mistyped BOXFLEET_* variable is pointed out.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HUB_SETTINGS, SETTING_GROUPS, envName, resolveHubConfig, unknownVariables } from '../../../hub/config.js';

const exec = promisify(execFile);
/** The built CLI (npm test builds it first), as an operator runs it. */
const boxfleet = (args: string[]) => exec(process.execPath, ['dist/cli.js', ...args], { env: { PATH: process.env.PATH } });

describe('boxfleet hub --help', () => {
  it('lists every setting under its group, with its flag, variable and default, in lines of at most 100 characters', async () => {
    const { stdout } = await boxfleet(['hub', '--help']);
    for (const line of stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    const headings = stdout.split('\n').filter((line) => /^[A-Z][a-z ]+:$/.test(line));
    expect(headings).toEqual(['Options:', 'Commands:', ...Object.values(SETTING_GROUPS).map((title) => `${title}:`)]);
    expect(stdout).toMatch(/^  backup \[options\]/m);
    expect(stdout).toMatch(/^  restore \[options\] <file>/m);
    for (const [key, setting] of Object.entries(HUB_SETTINGS)) {
      const fallback = String(setting.schema.default);
      const head = `  ${'flag' in setting ? `${setting.flag}, ` : ''}${envName(key)} (default: ${fallback === '' ? 'empty' : fallback})`;
      expect(stdout).toContain(head);
      // Under its own group's heading: the nearest heading above it.
      const above = stdout.slice(0, stdout.indexOf(head)).split('\n').filter((line) => headings.includes(line));
      expect(above.at(-1), key).toBe(`${SETTING_GROUPS[setting.group]}:`);
    }
    expect(stdout).toContain('  --port <port>, BOXFLEET_PORT (default: 8080)\n      port to listen on (0: any free port)\n');
    expect(stdout).toContain('  --skywalking <host:port>, BOXFLEET_SKYWALKING_COLLECTOR (default: empty)\n');
  });

  it('refuses a bad flag value before starting, naming the setting and its variable', async () => {
    const error = await boxfleet(['hub', '--port', 'eighty']).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 1, stderr: 'boxfleet: port (--port or BOXFLEET_PORT): must be integer, not "eighty"\n' });
  });
});

describe('resolveHubConfig', () => {
  it('takes a flag over its variable, a variable over the default, and converts text to the setting type', () => {
    const config = resolveHubConfig(
      { port: '9000', data_dir: 'hub-data' },
      { BOXFLEET_PORT: '7000', BOXFLEET_HOST: '127.0.0.1', BOXFLEET_JOBS_ENABLED: 'off', BOXFLEET_TRAFFIC_INTERVAL_S: '2.5', BOXFLEET_LOG_LEVEL: '' },
    );
    expect(config).toMatchObject({ port: 9000, host: '127.0.0.1', jobs_enabled: false, traffic_interval_s: 2.5, log_level: 'info', quota_interval_s: 60 });
    expect(config.data_dir).toBe(path.resolve('hub-data'));
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('keeps the release folder under the data dir unless it is set, and as an absolute path', () => {
    expect(resolveHubConfig({ data_dir: '/srv/boxfleet' }, {}).release_dir).toBe('/srv/boxfleet/releases');
    expect(resolveHubConfig({}, { BOXFLEET_RELEASE_DIR: 'releases' }).release_dir).toBe(path.resolve('releases'));
    expect(resolveHubConfig({}, {}).install_token_ttl_s).toBe(3600);
  });

  it('refuses a bad value with a message naming the setting, its flag or variable, and the value', () => {
    const refused = (flags: Record<string, string>, env: Record<string, string> = {}) => {
      try {
        resolveHubConfig(flags, env);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused({}, { BOXFLEET_PORT: '70000' })).toBe('port (--port or BOXFLEET_PORT): must be <= 65535, not "70000"');
    expect(refused({}, { BOXFLEET_JWT_TTL_S: '5' })).toBe('jwt_ttl_s (BOXFLEET_JWT_TTL_S): must be >= 60, not "5"');
    expect(refused({}, { BOXFLEET_JOBS_ENABLED: 'maybe' })).toBe('jobs_enabled (BOXFLEET_JOBS_ENABLED): must be boolean, not "maybe"');
    expect(refused({ log_level: 'loud' })).toBe('log_level (--log-level or BOXFLEET_LOG_LEVEL): must be one of error, warn, info, debug, not "loud"');
    expect(refused({}, { BOXFLEET_INSTALL_TOKEN_TTL_S: '30' })).toBe('install_token_ttl_s (BOXFLEET_INSTALL_TOKEN_TTL_S): must be >= 60, not "30"');
    expect(refused({ trust_proxy: '10.0.0.1, proxy.local' })).toBe(
      'trust_proxy (--trust-proxy or BOXFLEET_TRUST_PROXY): "proxy.local" is not an IP address or CIDR (e.g. 10.0.0.1 or 10.0.0.0/8)',
    );
    expect(refused({ trust_proxy: '10.0.0.0/33' })).toContain('"10.0.0.0/33" is not an IP address or CIDR');
    expect(refused({ tls_cert: '/etc/boxfleet/hub.crt' })).toBe(
      'tls_key (--tls-key or BOXFLEET_TLS_KEY): HTTPS needs both tls_cert and tls_key; set the other one too, or neither',
    );
    expect(refused({}, { BOXFLEET_TLS_KEY: '/etc/boxfleet/hub.key' })).toContain('tls_cert (--tls-cert or BOXFLEET_TLS_CERT): HTTPS needs both');
    expect(refused({ public_url: 'panel.example.com' })).toBe(
      'public_url (--public-url or BOXFLEET_PUBLIC_URL): must be an http(s) address such as https://panel.example.com, not "panel.example.com"',
    );
    expect(refused({ public_url: 'ftp://panel.example.com' })).toContain('not ftp:');
    expect(refused({ public_url: 'https://panel.example.com/?x=1' })).toContain('without a query');
    expect(refused({ public_url: 'https://example.com/panel' })).toContain('without a path: the hub is served from the root of its host');
    expect(refused({}, { BOXFLEET_RESET_TIMEZONE: 'Mars/Olympus' })).toBe(
      'reset_timezone (BOXFLEET_RESET_TIMEZONE): unknown time zone "Mars/Olympus" (an IANA name such as Asia/Shanghai or UTC)',
    );
    expect(refused({}, { BOXFLEET_USER_EVENT_USAGE_THRESHOLDS: '80,0' })).toBe(
      'user_event_usage_thresholds (BOXFLEET_USER_EVENT_USAGE_THRESHOLDS): must be whole percents from 1 to 100, comma-separated (e.g. 80,95), not "80,0"',
    );
  });

  it('takes the reset time zone as Intl spells it, UTC by default', () => {
    expect(resolveHubConfig({}, {}).reset_timezone).toBe('UTC');
    expect(resolveHubConfig({}, { BOXFLEET_RESET_TIMEZONE: 'asia/shanghai' }).reset_timezone).toBe('Asia/Shanghai');
  });

  it('accepts proxies as addresses, CIDRs and range names, and a public URL with a trailing slash', () => {
    const config = resolveHubConfig({ trust_proxy: '127.0.0.1, 10.0.0.0/8,fd00::/8,loopback', public_url: 'https://Panel.Example.com:8443/' }, {});
    expect(config.trust_proxy).toBe('127.0.0.1, 10.0.0.0/8,fd00::/8,loopback');
    expect(config.public_url).toBe('https://panel.example.com:8443');
  });
});

describe('unknown BOXFLEET_* variables', () => {
  it('names each variable that is no hub setting, with the setting it most resembles when one is close', () => {
    expect(
      unknownVariables({
        BOXFLEET_PROT: '80',
        BOXFLEET_DATADIR: '/srv',
        BOXFLEET_DATABASE_ULR: 'mysql://x',
        BOXFLEET_COLOUR: 'blue',
        BOXFLEET_PORT: '80',
        BOXFLEET_TEST_MYSQL_URL: 'mysql://y',
        BOXFLEET_SINGBOX_BIN: '/usr/bin/sing-box',
        HOME: '/root',
      }),
    ).toEqual([
      { name: 'BOXFLEET_COLOUR' },
      { name: 'BOXFLEET_DATABASE_ULR', suggestion: 'BOXFLEET_DATABASE_URL' },
      { name: 'BOXFLEET_DATADIR', suggestion: 'BOXFLEET_DATA_DIR' },
      { name: 'BOXFLEET_PROT', suggestion: 'BOXFLEET_PORT' },
    ]);
  });
});
