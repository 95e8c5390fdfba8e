// The dashboard's schema forms: which input each schema gets, and the value read back from a form.
import { describe, expect, it } from 'vitest';
import { fieldsOf, FormValueError, initialText, initialValue, valueOf, type JsonSchema } from '../../../web-components/src/ui/json-schema.js';

const schema: JsonSchema = {
  type: 'object',
  required: ['host', 'port'],
  properties: {
    host: { type: 'string' },
    port: { type: 'integer', minimum: 1 },
    ratio: { type: 'number' },
    verbose: { type: 'boolean', default: true },
    mode: { anyOf: [{ const: 'fast' }, { const: 'slow' }] },
    tags: { type: 'array', items: { type: 'string' }, default: ['a', 'b'] },
    limits: { type: 'object', required: ['max'], properties: { max: { type: 'integer' }, deep: { type: 'object', properties: {} } } },
    extra: { type: 'array', items: { type: 'object' } },
  },
};

describe('schema forms', () => {
  it('gives each property the input its type needs, one object level deep', () => {
    const fields = fieldsOf(schema);
    expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['host', 'string', true],
      ['port', 'integer', true],
      ['ratio', 'number', false],
      ['verbose', 'boolean', false],
      ['mode', 'enum', false],
      ['tags', 'strings', false],
      ['limits', 'object', false],
      ['extra', 'json', false],
    ]);
    expect(fields[4]!.options).toEqual(['fast', 'slow']);
    expect(fields[6]!.children.map((f) => [f.name, f.kind, f.required])).toEqual([
      ['limits.max', 'integer', true],
      ['limits.deep', 'json', false],
    ]);
    expect(initialText(fields[5]!)).toBe('a, b');
  });

  it('starts each input at the given value, else at the schema default', () => {
    const fields = fieldsOf(schema);
    const given = { host: 'example.com', verbose: false, tags: ['x', 'y'], limits: { max: 5 } };
    expect(initialText(fields[0]!, given)).toBe('example.com');
    expect(initialText(fields[1]!, given)).toBe('');
    expect(initialValue(fields[3]!, given)).toBe(false);
    expect(initialValue(fields[3]!, {})).toBe(true);
    expect(initialText(fields[5]!, given)).toBe('x, y');
    expect(initialText(fields[6]!.children[0]!, given)).toBe('5');
    expect(initialText(fields[6]!.children[1]!, given)).toBe('');
  });

  it('reads typed values back and leaves out empty optional fields', () => {
    const form: Record<string, string> = { host: 'example.com', port: '443', ratio: '', verbose: 'on', mode: 'slow', tags: 'x, y\nz', 'limits.max': '5', extra: '[{"a":1}]' };
    expect(valueOf(fieldsOf(schema), (name) => form[name] ?? null)).toEqual({
      host: 'example.com',
      port: 443,
      verbose: true,
      mode: 'slow',
      tags: ['x', 'y', 'z'],
      limits: { max: 5 },
      extra: [{ a: 1 }],
    });
  });

  it('refuses a fraction for an integer and bad JSON', () => {
    expect(() => valueOf(fieldsOf(schema), (name) => ({ host: 'h', port: '1.5' })[name] ?? null)).toThrow(FormValueError);
    expect(() => valueOf(fieldsOf(schema), (name) => ({ host: 'h', port: '1', extra: '[' })[name] ?? null)).toThrow(FormValueError);
  });
});
