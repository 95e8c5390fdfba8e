// API authentication. For now one admin token (JWT and roles come with the admin accounts); every
// route under /api answers 401 without it.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fp from 'fastify-plugin';
import type { HubConfig } from './config.js';
import { HubError } from './errors.js';

/** The configured token, else the one in data_dir/admin-token, else a new one written there. */
export async function loadAdminToken(config: HubConfig): Promise<{ token: string; file?: string; created: boolean }> {
  if (config.admin_token) return { token: config.admin_token, created: false };
  const file = path.join(config.data_dir, 'admin-token');
  const existing = await readFile(file, 'utf8').then((t) => t.trim(), () => '');
  if (existing) return { token: existing, file, created: false };
  const token = randomBytes(32).toString('base64url');
  await mkdir(config.data_dir, { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { token, file, created: true };
}

export const authPlugin = fp<{ token: string }>(
  async (app, { token }) => {
    const expected = Buffer.from(`Bearer ${token}`);
    app.addHook('onRequest', async (request) => {
      if (!request.url.startsWith('/api/')) return;
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new HubError('HUB_ERR_UNAUTHORIZED', 'missing or wrong admin token (Authorization: Bearer <token>)');
      }
    });
  },
  { name: 'auth' },
);
