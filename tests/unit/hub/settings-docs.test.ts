// README.md's table of hub settings is the one the declaration gives, so it never goes stale.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { HUB_SETTINGS, envName } from '../../../hub/config.js';
import { settingsTable, withSettingsTable } from '../../../hub/settings-docs.js';

describe("README's settings table", () => {
  it('is the table generated from the settings declaration', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme === withSettingsTable(readme), 'README.md has a stale settings table: run npm run docs:settings').toBe(true);
  });

  it('has a row for every setting with its variable, flag and default', () => {
    const table = settingsTable();
    for (const key of Object.keys(HUB_SETTINGS)) expect(table).toContain(`| \`${key}\`<br>\`${envName(key)}\` |`);
    expect(table).toContain('| **Server** | `host`<br>`BOXFLEET_HOST` | `--host <address>` | `0.0.0.0` | address to listen on |');
    expect(table).toContain('|  | `port`<br>`BOXFLEET_PORT` | `--port <port>` | `8080` |');
    expect(table).toContain('|  | `jwt_ttl_s`<br>`BOXFLEET_JWT_TTL_S` |  | `43200` |');
  });
});
