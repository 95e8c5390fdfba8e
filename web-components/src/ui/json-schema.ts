// The part of JSON Schema the dashboard renders as forms: strings, integers, numbers, booleans,
// enums, arrays of strings and objects one level deep. Anything else is edited as JSON text.

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  /** `password` hides what is typed (OpenAPI's convention). */
  format?: string;
}

export type FieldKind = 'string' | 'integer' | 'number' | 'boolean' | 'enum' | 'strings' | 'object' | 'json';

export interface Field {
  /** The property path, `a` or `a.b` for a property of an object. */
  name: string;
  key: string;
  kind: FieldKind;
  schema: JsonSchema;
  required: boolean;
  options: string[];
  /** The properties of an `object` field (one level: deeper objects are `json`). */
  children: Field[];
}

/** The values of an enum written as `enum` or as a union of constants (TypeBox's Literal union). */
function enumValues(schema: JsonSchema): string[] | null {
  if (schema.enum) return schema.enum.map(String);
  if (schema.anyOf?.length && schema.anyOf.every((s) => s.const !== undefined)) return schema.anyOf.map((s) => String(s.const));
  return null;
}

function kindOf(schema: JsonSchema, depth: number): FieldKind {
  if (enumValues(schema)) return 'enum';
  switch (schema.type) {
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      return schema.type;
    case 'array':
      return schema.items?.type === 'string' && !enumValues(schema.items) ? 'strings' : 'json';
    case 'object':
      return depth === 0 && schema.properties ? 'object' : 'json';
    default:
      return 'json';
  }
}

/** The fields of an object schema, in the order the schema lists them. */
export function fieldsOf(schema: JsonSchema, prefix = '', depth = 0): Field[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([key, property]) => {
    const name = prefix ? `${prefix}.${key}` : key;
    const kind = kindOf(property, depth);
    return {
      name,
      key,
      kind,
      schema: property,
      required: required.has(key),
      options: enumValues(property) ?? [],
      children: kind === 'object' ? fieldsOf(property, name, depth + 1) : [],
    };
  });
}

export class FormValueError extends Error {}

/**
 * The value of a form built from `fields`, read with `read(name)` (a checkbox reads 'on' or null).
 * Empty optional fields are left out, so the schema's defaults apply where the input is checked.
 */
export function valueOf(fields: Field[], read: (name: string) => string | null): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of fields) {
    if (field.kind === 'object') {
      const inner = valueOf(field.children, read);
      if (field.required || Object.keys(inner).length) value[field.key] = inner;
      continue;
    }
    const text = read(field.name);
    if (field.kind === 'boolean') {
      value[field.key] = text !== null;
      continue;
    }
    if (text === null || text.trim() === '') continue;
    switch (field.kind) {
      case 'integer':
      case 'number': {
        const n = Number(text);
        if (!Number.isFinite(n) || (field.kind === 'integer' && !Number.isInteger(n))) throw new FormValueError(`${field.name}: ${text}`);
        value[field.key] = n;
        break;
      }
      case 'strings':
        value[field.key] = text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
        break;
      case 'enum': {
        // Enum values of other types (numbers, booleans) go back as what the schema listed.
        const original = (field.schema.enum ?? field.schema.anyOf?.map((s) => s.const) ?? []).find((v) => String(v) === text);
        value[field.key] = original ?? text;
        break;
      }
      case 'json':
        try {
          value[field.key] = JSON.parse(text);
        } catch {
          throw new FormValueError(`${field.name}: JSON`);
        }
        break;
      default:
        value[field.key] = text;
    }
  }
  return value;
}

/** What a field starts with: its value in `initial` (found by the field's path), else the schema's default. */
export function initialValue(field: Field, initial: Record<string, unknown>): unknown {
  const given = field.name.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | null | undefined)?.[key], initial);
  return given === undefined ? field.schema.default : given;
}

/** The text an input starts with (see initialValue). */
export function initialText(field: Field, initial: Record<string, unknown> = {}): string {
  const value = initialValue(field, initial);
  if (value === undefined || value === null) return '';
  if (field.kind === 'strings' && Array.isArray(value)) return value.join(', ');
  if (field.kind === 'json') return JSON.stringify(value);
  return String(value);
}
