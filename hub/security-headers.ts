// Browser security headers on every response. Each HTML page sets its own Content-Security-Policy
// (pageCsp for the dashboard and the portal, DOCS_CSP for the API docs); everything else gets one
// that allows nothing, so a JSON or YAML answer opened as a page can neither run nor load anything.
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

const policy = (directives: Record<string, string>) =>
  Object.entries(directives)
    .map(([name, value]) => `${name} ${value}`)
    .join('; ');

/** A host as a CSP source may name it: a DNS name or an IP literal, with an optional port. */
const CSP_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The dashboard's and the portal's CSP: only the hub's own scripts (no inline script, no eval), its
 * own style sheets (Lit adopts constructed sheets, which CSP does not restrict; the pages bind no
 * inline style attribute), images from the hub (QR codes) and data: (the empty favicon). The
 * WebSocket is named by host as well as 'self', since some browsers do not count ws:/wss: as 'self'.
 */
export function pageCsp(request: FastifyRequest): string {
  const host = CSP_HOST.test(request.host) ? ` ws://${request.host} wss://${request.host}` : '';
  return policy({
    'default-src': "'self'",
    'script-src': "'self'",
    'style-src': "'self'",
    'img-src': "'self' data:",
    'connect-src': `'self'${host}`,
    'object-src': "'none'",
    'base-uri': "'none'",
    'form-action': "'self'",
    'frame-ancestors': "'none'",
  });
}

/**
 * swagger-ui runs only its own files too, but its bundle adds a <style> element of its own: inline
 * styles are allowed on this page (they cannot run script), and on no other.
 */
export const DOCS_CSP = policy({
  'default-src': "'self'",
  'script-src': "'self'",
  'style-src': "'self' 'unsafe-inline'",
  'img-src': "'self' data:",
  'connect-src': "'self'",
  'object-src': "'none'",
  'base-uri': "'none'",
  'form-action': "'self'",
  'frame-ancestors': "'none'",
});

const NOTHING_CSP = policy({ 'default-src': "'none'", 'base-uri': "'none'", 'form-action': "'none'", 'frame-ancestors': "'none'" });

/** One year; sent only over HTTPS, as browsers ignore it on plain HTTP anyway. */
const HSTS = 'max-age=31536000';

export const securityHeadersPlugin = fp(
  async (app) => {
    app.addHook('onSend', async (request, reply) => {
      if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', NOTHING_CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      // Portal and subscription URLs carry the user's secret token: no page of the hub names itself to another site.
      reply.header('referrer-policy', 'no-referrer');
      // https here means TLS to the hub itself, or X-Forwarded-Proto from a proxy in trust_proxy.
      if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
    });
  },
  { name: 'security-headers' },
);
