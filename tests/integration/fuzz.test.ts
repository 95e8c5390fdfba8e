// Fuzzing with a fixed seed: every route of the hub's OpenAPI document and every first-party
// plugin command's input schema get well-formed values, mutated values, deep nesting, huge strings,
// wrong types and prototype-ish keys. The hub must never answer 5xx or show a stack trace, and a
// refused request (4xx) must change nothing but the audit log; a plugin command must answer
// INVALID_ARGUMENT, never INTERNAL, for input that breaks its schema.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PLUGINS } from '../../agent-core/main.js';
import { AgentError } from '../../agent-core/common/errors.js';
import { createHarness, type Harness } from '../../agent-core/harness.js';
import { valueNestsDeeper } from '../../agent-core/common/json-depth.js';
import { validate } from '../../agent-core/common/schema.js';
import { FORMATS } from '../../hub/subscriptions/format.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';

const SEED = 20261206;
/** Cases per route and per plugin command; with the fixed cases below, a few thousand in all. */
const RUNS_PER_ROUTE = 40;
const RUNS_PER_COMMAND = 60;

type Schema = Record<string, any>;

/** Nested arrays and objects `depth` deep, as JSON text (built without recursion). */
const deepJson = (depth: number, open = '{"a":', close = '}') => `${open.repeat(depth)}1${close.repeat(depth)}`;

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/** Values that fit `schema` (its size limits respected, kept small). */
function wellFormed(schema: Schema | undefined): fc.Arbitrary<unknown> {
  if (!schema || Object.keys(schema).filter((k) => !['description', 'example', 'examples', 'default'].includes(k)).length === 0) {
    return fc.jsonValue({ maxDepth: 3 });
  }
  if (schema.enum) return fc.constantFrom(...(schema.enum as unknown[]));
  if (schema.const !== undefined) return fc.constant(schema.const);
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices) return fc.oneof(...(choices as Schema[]).map(wellFormed));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return wellFormedString(schema);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000_000, max: Math.min(schema.maximum ?? 1_000_000, Number.MAX_SAFE_INTEGER) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = wellFormed(schema.items);
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) };
      return schema.uniqueItems ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) }) : fc.array(items, constraints);
    }
    case 'object': {
      const properties: Record<string, Schema> = schema.properties ?? {};
      const required: string[] = schema.required ?? [];
      const record = fc.record(
        Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, wellFormed(v)])),
        { requiredKeys: required.filter((k) => k in properties) },
      );
      if (typeof schema.additionalProperties !== 'object') return record;
      const key = fc.string({ minLength: Math.max(schema.propertyNames?.minLength ?? 1, 1), maxLength: Math.min(schema.propertyNames?.maxLength ?? 16, 16) });
      return fc
        .tuple(record, fc.dictionary(key, wellFormed(schema.additionalProperties), { maxKeys: 3 }))
        .map(([known, extra]) => ({ ...extra, ...known }));
    }
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

function wellFormedString(schema: Schema): fc.Arbitrary<string> {
  const max = Math.min(schema.maxLength ?? 40, 40);
  const fits = (s: string) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? Infinity);
  if (schema.format === 'date-time') return fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === 'host') return fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6());
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
  return fc.string({ minLength: Math.min(schema.minLength ?? 0, max), maxLength: max });
}

/** JSON text of a value that is the wrong shape, too big, too deep or made of prototype keys. */
const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(null, true, 0, -1, 1e308, -0.5, '', [], {}, '0', 'null', 'true', '1e9999').map((v) => JSON.stringify(v)),
  fc.integer({ min: 300, max: 70_000 }).map((n) => JSON.stringify('x'.repeat(n))),
  fc.constantFrom('../../etc/passwd', "' OR 1=1 --", '%00', '\u0000', '\ud800', '<script>alert(1)</script>', '${7*7}', '%s%n').map((v) => JSON.stringify(v)),
  fc.constantFrom(...PROTO_KEYS).map((key) => `{"${key}":{"polluted":true}}`),
  // Deep enough to overflow the stack of anything that recurses (a few thousand levels do).
  fc.integer({ min: 60, max: 30_000 }).map((depth) => deepJson(depth)),
  fc.integer({ min: 60, max: 30_000 }).map((depth) => deepJson(depth, '[', ']')),
);
/** The same, parsed (JSON.parse does not recurse). */
const hostile: fc.Arbitrary<unknown> = hostileText.map((text) => JSON.parse(text) as unknown);

/** A body: well-formed, a field of it replaced, a prototype key added, or something else entirely. */
function bodyText(schema: Schema | undefined): fc.Arbitrary<string | undefined> {
  const good = wellFormed(schema);
  const MARK = '\u0000hole';
  const HOLE = JSON.stringify(MARK);
  return fc.oneof(
    good.map((v) => JSON.stringify(v)),
    fc.tuple(good, fc.string({ maxLength: 12 }), hostileText).map(([v, key, bad]) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad;
      const keys = Object.keys(v as object);
      const field = keys.length > 0 ? keys[key.length % keys.length]! : key;
      return JSON.stringify({ ...(v as object), [field]: MARK }).replace(HOLE, () => bad);
    }),
    fc.tuple(good, fc.constantFrom(...PROTO_KEYS)).map(([v, key]) => {
      const text = JSON.stringify(v) ?? '{}';
      return text.startsWith('{') ? `{"${key}":{"polluted":true}${text === '{}' ? '' : ','}${text.slice(1)}` : text;
    }),
    hostileText,
    fc.constantFrom('', '{', '{"a":1,}', 'not json', '[]', 'null', '{"a":"\\ud800"}'),
    fc.constant(undefined),
  );
}

/** A path or query value: well-formed, or a hostile string. */
const paramText = (schema: Schema | undefined): fc.Arbitrary<string> =>
  fc.oneof(
    wellFormed(schema).map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '')),
    fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer({ min: 300, max: 10_000 }).map((n) => 'y'.repeat(n)),
      fc.constantFrom(...PROTO_KEYS, '-1', '0', '1.5', '9'.repeat(30), '[]', '%', '..', ''),
    ),
  );

interface Operation {
  method: string;
  path: string;
  parameters: { in: string; name: string; schema: Schema; required?: boolean }[];
  body?: Schema;
}

interface Case {
  method: string;
  /** The route's path in the OpenAPI document. */
  route?: string;
  url: string;
  payload: string | undefined;
  auth: 'owner' | 'none' | 'bogus';
}

const caseOf = (op: Operation, ownerId: number): fc.Arbitrary<Case> => {
  const params = op.parameters.filter((p) => p.in === 'path' || p.in === 'query');
  return fc
    .record({
      values: fc.tuple(...params.map((p) => fc.option(paramText(p.schema), { freq: p.required ? 100 : 3, nil: undefined }))),
      payload: op.body ? bodyText(op.body) : fc.constant(undefined),
      // Signing out as the owner would end the session every later case is sent with.
      auth:
        op.path === '/api/v1/auth/logout'
          ? fc.constantFrom<Case['auth']>('none', 'bogus')
          : fc.constantFrom<Case['auth']>('owner', 'owner', 'owner', 'owner', 'owner', 'none', 'bogus'),
    })
    .map(({ values, payload, auth }) => {
      let path = op.path;
      const query = new URLSearchParams();
      params.forEach((p, i) => {
        let value = values[i];
        if (p.in === 'path') {
          // The signed-in owner is never the target, so that the fuzz keeps its token.
          if (path.startsWith('/api/v1/admins/') && value === String(ownerId)) value = String(ownerId + 1000);
          path = path.replace(`{${p.name}}`, encodeURIComponent(value || 'x'));
        } else if (value !== undefined) {
          query.set(p.name, value);
        }
      });
      const qs = query.toString();
      return { method: op.method, route: op.path, url: qs ? `${path}?${qs}` : path, payload, auth };
    });
};

/** Frames or file paths of this checkout in an answer mean a stack trace leaked. */
const STACK_TRACE = new RegExp(String.raw`^\s+at .+:\d+:\d+\)?$|node_modules|${process.cwd().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`, 'm');

describe('fuzzing the hub API and the plugin commands (fixed seed)', () => {
  let hub: TestHub;
  let operations: Operation[];
  /** End-user pages the OpenAPI document hides (subscriptions, QR codes, the portal), as their routes declare them. */
  let hidden: Operation[];
  let ownerId: number;
  let sent = 0;
  const statuses: Record<number, number> = {};
  const started = Date.now();

  /** A checksum of every table but the audit log (and SQLite's counter of its ids). */
  const snapshot = async (): Promise<Record<string, string>> => {
    const tables = (await hub.app.db.raw(`SELECT name FROM sqlite_master WHERE type = 'table'`)) as { name: string }[];
    const out: Record<string, string> = {};
    for (const { name } of tables) {
      if (['audit_log', 'sqlite_sequence'].includes(name)) continue;
      const rows = await hub.app.db(name).select();
      out[name] = `${rows.length}:${createHash('sha256').update(JSON.stringify(rows)).digest('hex').slice(0, 16)}`;
    }
    return out;
  };

  /** Routes that need a token ("METHOD /path"): a refusal of the others may be folded into a count. */
  const signedIn = new Set<string>();
  const auditCount = async () => Number((await hub.app.db('audit_log').count({ n: '*' }))[0]!.n);
  let before: Record<string, string>;
  /** Sends one case and checks it: no 5xx, no stack trace, and a refusal changes nothing. */
  const check = async (c: Case) => {
    const headers: Record<string, string> = c.auth === 'owner' ? { ...hub.auth } : c.auth === 'bogus' ? { authorization: 'Bearer x.y.z' } : {};
    if (c.payload !== undefined) headers['content-type'] = 'application/json';
    const audited = await auditCount();
    const res = await hub.app.inject({ method: c.method as 'GET', url: c.url, payload: c.payload, headers });
    sent += 1;
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    const what = `${c.method} ${c.url.slice(0, 200)} (${c.auth}) body ${String(c.payload).slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
    expect(res.statusCode, what).toBeLessThan(500);
    expect(STACK_TRACE.test(res.body), what).toBe(false);
    const after = await snapshot();
    if (res.statusCode >= 400) expect(after, what).toEqual(before);
    before = after;
    // A signed-in admin's change, or attempt at one, is always in the audit log (once the URL
    // reached the route: a path segment too long or `..` finds no route, and the not-found answer
    // may be a body parse error instead of "no route" when the body is bad too).
    const routed = res.statusCode !== 414 && !res.body.includes('"message":"no route ') && !c.url.split(/[/?]/).includes('..');
    if (c.auth === 'owner' && c.method !== 'GET' && signedIn.has(`${c.method} ${c.route}`) && routed) {
      await until(`the audit row of ${what}`, async () => (await auditCount()) > audited, 2_000);
    }
  };

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    // A release folder as `npm run release` lays it out, so that install commands can be created.
    const tarball = Buffer.from('not really a tarball');
    await mkdir(hub.config.release_dir, { recursive: true });
    await writeFile(path.join(hub.config.release_dir, 'boxfleet-agent-0.1.0-linux-amd64.tar.gz'), tarball);
    const sha256 = createHash('sha256').update(tarball).digest('hex');
    await writeFile(path.join(hub.config.release_dir, 'SHA256SUMS'), `${sha256}  boxfleet-agent-0.1.0-linux-amd64.tar.gz\n`);
    ownerId = (await hub.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: hub.auth })).json().id;
    // Rows for well-formed ids to find: user 1, plan 1, subscription 1.
    const post = (url: string, payload: object) => hub.app.inject({ method: 'POST', url, payload, headers: hub.auth });
    expect((await post('/api/v1/users', { name: 'fuzz-user' })).statusCode).toBe(201);
    expect((await post('/api/v1/plans', { name: 'fuzz-plan', traffic_limit_bytes: 1e9, duration_days: 30 })).statusCode).toBe(201);
    expect((await post('/api/v1/subscriptions', { user_id: 1, plan_id: 1 })).statusCode).toBe(201);
    const doc = (await hub.app.inject({ method: 'GET', url: '/docs/json' })).json();
    operations = Object.entries(doc.paths as Record<string, Record<string, Schema>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
      })),
    );
    const subToken = (await hub.app.inject({ method: 'GET', url: '/api/v1/users/1/credentials', headers: hub.auth })).json().sub_token;
    // Well-formed: the user's real token, so that the subscription is rendered.
    const token = { in: 'path', name: 'token', required: true, schema: { enum: [subToken] } };
    const link = { in: 'query', name: 'link', schema: { type: 'integer', minimum: 0, maximum: 10_000 } };
    hidden = [
      { method: 'GET', path: '/sub/{token}', parameters: [token, { in: 'query', name: 'format', schema: { enum: [...FORMATS] } }] },
      { method: 'GET', path: '/sub/{token}/info', parameters: [token] },
      { method: 'GET', path: '/sub/{token}/qr.svg', parameters: [token, link] },
      { method: 'GET', path: '/sub/{token}/qr.png', parameters: [token, link] },
      { method: 'GET', path: '/portal/{token}', parameters: [token] },
    ];
    for (const op of operations) {
      const probe = await hub.app.inject({ method: op.method as 'GET', url: op.path.replace(/\{[^}]+\}/g, 'x') });
      if (probe.statusCode === 401) signedIn.add(`${op.method} ${op.path}`);
    }
    before = await snapshot();
  });
  afterAll(async () => {
    await hub?.close();
    console.log(`fuzz: ${sent} hub requests and ${commandCases} plugin command cases in ${((Date.now() - started) / 1000).toFixed(1)} s; hub statuses ${JSON.stringify(statuses)}`);
  });

  it('bounds every string and array a route takes', () => {
    const unbounded: string[] = [];
    const walk = (schema: Schema | undefined, where: string) => {
      if (!schema || typeof schema !== 'object') return;
      if (schema.type === 'string' && schema.maxLength === undefined && !schema.enum) unbounded.push(where);
      if (schema.type === 'array' && schema.maxItems === undefined) unbounded.push(where);
      for (const [k, v] of Object.entries(schema.properties ?? {})) walk(v as Schema, `${where}.${k}`);
      for (const v of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) walk(v, where);
      walk(schema.items, `${where}[]`);
      if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, `${where}.*`);
    };
    for (const op of operations) {
      for (const p of op.parameters) walk(p.schema, `${op.method} ${op.path} ${p.in}.${p.name}`);
      walk(op.body, `${op.method} ${op.path} body`);
    }
    expect(unbounded).toEqual([]);
  });

  it('answers every route without 5xx or a stack trace, and a refused request changes nothing', async () => {
    // The interactive docs are not part of the API.
    const fuzzed = [...operations.filter((op) => !op.path.startsWith('/docs')), ...hidden];
    expect(fuzzed.length).toBeGreaterThan(50);
    for (const [i, op] of fuzzed.entries()) {
      await fc.assert(fc.asyncProperty(caseOf(op, ownerId), check), { seed: SEED + i, numRuns: RUNS_PER_ROUTE, endOnFailure: true });
    }
    expect(Object.keys(Object.prototype)).toEqual([]);
  }, 120_000);

  it('refuses what the black-box probe found: deep, huge and unauthenticated bodies', async () => {
    const cases: Case[] = [
      { method: 'POST', url: '/api/v1/configs', payload: `{"config":${deepJson(4_000)}}`, auth: 'owner' },
      { method: 'POST', url: '/api/v1/configs', payload: `{"config":${deepJson(5_000)}}`, auth: 'owner' },
      { method: 'POST', url: '/api/v1/configs', payload: `{"config":${deepJson(200_000, '[', ']')}}`, auth: 'owner' },
      { method: 'POST', url: '/api/v1/nodes/n1/commands/singbox-config.users.sync', payload: deepJson(2_000), auth: 'owner' },
      { method: 'POST', url: '/api/v1/auth/login', payload: JSON.stringify({ username: 'a', password: 'b', extra: 'z'.repeat(15 << 20) }), auth: 'none' },
      { method: 'POST', url: '/api/v1/auth/login', payload: JSON.stringify({ username: 'u'.repeat(1 << 20), password: 'b' }), auth: 'none' },
      { method: 'PATCH', url: '/api/v1/users/1', payload: JSON.stringify({ note: 'n'.repeat(1 << 20) }), auth: 'owner' },
      { method: 'POST', url: '/api/v1/nodes', payload: JSON.stringify({ enrollment: 'e', address: `${'a'.repeat(1 << 20)}:1` }), auth: 'owner' },
      ...Array.from({ length: 100 }, (): Case => ({ method: 'POST', url: '/api/v1/plans', payload: '{}', auth: 'none' })),
    ];
    for (const c of cases) {
      await check(c);
    }
    const page = await hub.app.inject({ method: 'GET', url: '/api/v1/audit?per_page=50', headers: hub.auth });
    expect(page.statusCode).toBe(200);
    expect(page.body.length).toBeLessThan(1 << 20);
  }, 60_000);

  let commandCases = 0;
  describe('plugin commands, in the plugin host a node runs', () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await createHarness([...BUILTIN_PLUGINS]);
    });
    afterAll(async () => {
      await harness?.close();
    });

    /** Input that breaks the command's schema (the schema's own validator says so). */
    const breaking = (schema: Schema) =>
      fc
        .oneof(
          hostile,
          fc.tuple(wellFormed(schema), fc.string({ maxLength: 12 }), hostile).map(([v, key, bad]) =>
            v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...(v as object), [Object.keys(v as object)[0] ?? key]: bad } : bad,
          ),
          fc.tuple(wellFormed(schema), fc.constantFrom(...PROTO_KEYS)).map(([v, key]) =>
            JSON.parse(`{"${key}":{"polluted":true}${JSON.stringify(v)?.startsWith('{') && JSON.stringify(v) !== '{}' ? `,${JSON.stringify(v).slice(1)}` : '}'}`),
          ),
        )
        .filter((input) => {
          if (valueNestsDeeper(input)) return true;
          try {
            // As the plugin host takes it: no input is {}.
            validate(schema, structuredClone(input ?? {}), 'input');
            return false;
          } catch {
            return true;
          }
        });

    it('answers INVALID_ARGUMENT, never INTERNAL, for input that breaks the schema', async () => {
      const commands = (await harness.describe()).flatMap((p) => p.commands);
      expect(commands.length).toBeGreaterThan(20);
      for (const [i, command] of commands.entries()) {
        await fc.assert(
          fc.asyncProperty(breaking(command.input as Schema), async (input) => {
            commandCases += 1;
            const outcome = await harness.execute(command.name, input).then(
              (result) => ({ result }),
              (error: unknown) => ({ error }),
            );
            const what = `${command.name} ${valueNestsDeeper(input) ? '(deeply nested input)' : JSON.stringify(input)?.slice(0, 200)}`;
            expect('error' in outcome, `${what} ran`).toBe(true);
            const error = (outcome as { error: AgentError }).error;
            expect(error.status, `${what}: ${error.message}`).toBe('INVALID_ARGUMENT');
            expect(error.message, what).toMatch(/^input/);
          }),
          { seed: SEED + 1000 + i, numRuns: RUNS_PER_COMMAND, endOnFailure: true },
        );
      }
      expect(Object.keys(Object.prototype)).toEqual([]);
    }, 60_000);
  });
});
