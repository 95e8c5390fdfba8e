// The dashboard and the end-user portal: static files built from web-components/ into dist/web (see
// web-components/build.mjs).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { HubError } from '../errors.js';
import { pageCsp } from '../security-headers.js';

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8' };

/** dist/web of this package, found from this module whether it runs from source or from dist. */
function webRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.join(dir, 'dist', 'web');
}

const routes: FastifyPluginAsync = async (app) => {
  const root = webRoot();
  const index = async () => {
    try {
      return await readFile(path.join(root, 'index.html'));
    } catch {
      throw new HubError('HUB_ERR_NOT_FOUND', 'the dashboard is not built: run `npm run build`');
    }
  };

  app.get('/', { config: { role: 'public', audit: false }, schema: { hide: true } }, async (request, reply) =>
    reply.type(TYPES['.html']!).header('cache-control', 'no-cache').header('content-security-policy', pageCsp(request)).send(await index()),
  );

  // The end-user portal. The same page for every token, valid or not: the page asks /sub/<token>
  // itself, so this route says nothing about a token and never touches the database.
  app.get('/portal/:token', { config: { role: 'public', audit: false }, schema: { hide: true } }, async (request, reply) => {
    const body = await readFile(path.join(root, 'portal.html')).catch(() => {
      throw new HubError('HUB_ERR_NOT_FOUND', 'the portal is not built: run `npm run build`');
    });
    return reply.type(TYPES['.html']!).header('cache-control', 'no-cache').header('content-security-policy', pageCsp(request)).send(body);
  });

  app.get<{ Params: { file: string } }>(
    '/assets/:file',
    { config: { role: 'public', audit: false }, schema: { hide: true } },
    async (request, reply) => {
      const { file } = request.params;
      if (!/^[A-Za-z0-9_-]+\.(?:js|css)$/.test(file)) throw new HubError('HUB_ERR_NOT_FOUND', `no asset ${file}`);
      const body = await readFile(path.join(root, 'assets', file)).catch(() => {
        throw new HubError('HUB_ERR_NOT_FOUND', `no asset ${file}`);
      });
      // Chunk names carry a content hash; the entry scripts (app.js, portal.js) and page.css do not, so they are revalidated.
      const cache = file.startsWith('chunk-') ? 'public, max-age=31536000, immutable' : 'no-cache';
      return reply.type(TYPES[path.extname(file)]!).header('cache-control', cache).send(body);
    },
  );
};

export default routes;
