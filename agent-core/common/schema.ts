// JSON Schema validation for plugin config and command input. Defaults from the schema are filled
// in; a failure names the field (`input.host: must be string`) so an operator can fix it at once.
import { isIPv4, isIPv6 } from 'node:net';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import { InvalidArgumentError } from './errors.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * The `host` format: what a client dials, as a DNS name or an IP address, with no scheme, port,
 * path or brackets. A name whose last label is all digits is refused, so a mistyped IPv4 address
 * (`203.0.113.300`, `10.1.1`) is not taken for a name; an IPv6 zone (`%eth0`) means nothing to a
 * remote client.
 */
function isHost(text: string): boolean {
  if (isIPv4(text)) return true;
  if (text.includes(':')) return isIPv6(text) && !text.includes('%');
  const labels = text.split('.');
  return text.length <= 253 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!);
}

/** What a failed custom format means, for the error message. */
const FORMAT_MEANING: Record<string, string> = {
  host: 'must be a DNS name or an IP address, without scheme, port, path or brackets',
};

const addFormats = (ajv: Ajv): Ajv => (addFormatsModule as unknown as (ajv: Ajv) => Ajv)(ajv).addFormat('host', isHost);
const ajv = addFormats(new Ajv({ useDefaults: true, strict: false, allErrors: false }));
/**
 * For URL params and query strings, whose values arrive as text: only the hub has those, so it is
 * made on first use rather than in every agent, where an Ajv instance is a few hundred KB it would never use.
 */
let coercingAjv: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

/** Objects that list their properties reject unknown ones unless the schema says otherwise. */
export function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = closeObjects(value);
  if ((schema as { type?: unknown }).type === 'object' && 'properties' in schema && !('additionalProperties' in schema)) {
    out.additionalProperties = false;
  }
  return out;
}

/** `input.port: must be <= 65535` — the field first, dotted from `root`. */
export function describeError(error: ErrorObject, root: string): string {
  const path = root + error.instancePath.replace(/\//g, '.');
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') return `${path}.${String(params.missingProperty)}: is required`;
  if (error.keyword === 'additionalProperties') return `${path}.${String(params.additionalProperty)}: unknown field`;
  if (error.keyword === 'enum') return `${path}: must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
  if (error.keyword === 'format' && FORMAT_MEANING[String(params.format)]) return `${path}: ${FORMAT_MEANING[String(params.format)]}`;
  return `${path}: ${error.message ?? 'is invalid'}`;
}

/**
 * Validates `value` in place (defaults are filled in) and returns it; throws InvalidArgumentError
 * whose message starts with `root` and names the field.
 */
export function validate<T>(schema: TSchema | object, value: unknown, root: string): T {
  let check = compiled.get(schema);
  if (!check) {
    check = ajv.compile(closeObjects(schema) as object);
    compiled.set(schema, check);
  }
  return checked<T>(check, value, root);
}

function checked<T>(check: ValidateFunction, value: unknown, root: string): T {
  if (!check(value)) throw new InvalidArgumentError(describeError(check.errors![0]!, root));
  return value as T;
}

/**
 * `validate` for a schema read at run time (a file a plugin reads): compiled now, so a schema Ajv
 * cannot compile throws here with Ajv's reason, not at the first value. Compile once per schema:
 * Ajv keeps every schema it compiled.
 */
export function compileValidator<T>(schema: object, root: string): (value: unknown) => T {
  const check = ajv.compile(closeObjects(schema) as object);
  return (value) => checked<T>(check, value, root);
}

/** A compiled validator for schemas whose values may be text to coerce (`coerce`), objects closed. */
export function compileSchema(schema: object, options: { coerce: boolean }): ValidateFunction {
  const compiler = options.coerce ? (coercingAjv ??= addFormats(new Ajv({ useDefaults: true, strict: false, allErrors: false, coerceTypes: 'array' }))) : ajv;
  return compiler.compile(closeObjects(schema) as object);
}
