// Whether an error means the database cannot be reached right now (stopped, restarting, the
// connection dropped) rather than that a query was wrong. The API answers those with 503
// HUB_ERR_DATABASE_UNAVAILABLE, so clients and load balancers retry instead of reporting a bug;
// the pool opens new connections by itself once the server is back, so no restart is needed.

/** mysql2 and Node socket codes for a server that is not there or went away mid-query. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
]);

/** MariaDB error numbers for a server shutting down or starting (1053 shutdown, 1927 connection killed, 2006/2013 gone). */
const SERVER_ERRNOS = new Set([1053, 1927, 2006, 2013]);

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error as { code?: unknown; errno?: unknown; name?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
    if (typeof e.errno === 'number' && SERVER_ERRNOS.has(e.errno)) return true;
    // The pool found no connection in time: every attempt to open one failed.
    if (e.name === 'KnexTimeoutError') return true;
    // A pooled connection mysql2 already closed after the server went away.
    if (typeof e.message === 'string' && /connection is in closed state/.test(e.message)) return true;
  }
  return false;
}
