import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../../hub/db/unavailable.js';

describe('a database error the API answers with 503', () => {
  it('is a server that is not there, went away mid-query, or is shutting down', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED', errno: -111 });
    const lost = Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST' });
    const shutdown = Object.assign(new Error('Server shutdown in progress'), { code: 'ER_SERVER_SHUTDOWN', errno: 1053 });
    const pool = Object.assign(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'), { name: 'KnexTimeoutError' });
    const closed = new Error("Can't add new command when connection is in closed state");
    const wrapped = new Error('insert failed', { cause: refused });
    for (const error of [refused, lost, shutdown, pool, closed, wrapped]) expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('is not a query the database refused, which stays a 500 (a bug to look at)', () => {
    const syntax = Object.assign(new Error("You have an error in your SQL syntax"), { code: 'ER_PARSE_ERROR', errno: 1064 });
    const duplicate = Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY', errno: 1062 });
    const sqlite = Object.assign(new Error('SQLITE_CONSTRAINT: FOREIGN KEY constraint failed'), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
    for (const error of [syntax, duplicate, sqlite, new Error('boom'), undefined, 'text']) expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
