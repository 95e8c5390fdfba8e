import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, textNestsDeeper, valueNestsDeeper } from '../../../agent-core/common/json-depth.js';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('JSON nesting depth', () => {
  it('allows 64 levels of text and refuses 65, however deep the rest goes', () => {
    expect(textNestsDeeper(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(textNestsDeeper(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(textNestsDeeper(nested(1_000_000))).toBe(true);
    expect(textNestsDeeper(`{"a":${nested(40)},"b":${nested(40)}}`)).toBe(false);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(textNestsDeeper(JSON.stringify({ text: '['.repeat(1000), quoted: '"{{{{"\\' }))).toBe(false);
    expect(textNestsDeeper(JSON.stringify(['\\"', '['.repeat(100)]), 2)).toBe(false);
  });

  it('measures parsed values without recursion, cycles included', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(valueNestsDeeper(deep)).toBe(true);
    expect(valueNestsDeeper(JSON.parse(nested(MAX_JSON_DEPTH)))).toBe(false);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(valueNestsDeeper(cycle)).toBe(true);
    expect(valueNestsDeeper('text')).toBe(false);
  });
});
