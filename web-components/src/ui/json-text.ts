// Where things are in a JSON text, so the config editor can put an error on its line: the place a
// parse error points at, and the line of a path such as `inbounds[0].users` that the hub or
// sing-box names in its message.

import { sortKeys } from '../../../agent-core/common/canonical-json.js';

export type JsonPath = (string | number)[];

export interface TextPosition {
  line: number;
  column: number;
}

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string; at: TextPosition };

/** 1-based line and column of a character offset. */
export function positionOf(text: string, offset: number): TextPosition {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/**
 * JSON.parse with the failure's line and column. Browsers name the offset as "position N"; one
 * that does not gets the end of the text (the usual place of a missing bracket).
 */
export function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const message = (error as Error).message;
    const offset = /position (\d+)/.exec(message)?.[1];
    return { ok: false, message: message.replace(/ \(line \d+ column \d+\)$/, ''), at: positionOf(text, offset === undefined ? text.length : Number(offset)) };
  }
}

/**
 * The first path in a message: `config.inbounds[0].users: …` (the hub, which adds `body.`) or
 * `… decode config at /x.json: inbounds[0].no_such_field: json: unknown field …` (sing-box).
 */
export function pathInMessage(message: string): JsonPath | null {
  // A word before ": " with at least one step ([0] or .key), so "config: " or "json: " is no path.
  const match = /(?:^|[\s:])([A-Za-z_][\w-]*(?:\[\d+\]|\.[A-Za-z_][\w-]*)+)(?=: )/.exec(message);
  if (!match) return null;
  const text = match[1]!.replace(/^body\./, '').replace(/^config\./, '');
  const path: JsonPath = [];
  for (const [, key, index] of text.matchAll(/([A-Za-z_][\w-]*)|\[(\d+)\]/g)) path.push(index === undefined ? key! : Number(index));
  return path;
}

/**
 * The line where `path`'s value (or, for a key the text lacks, its nearest existing parent) starts
 * in a valid JSON text; null when the text does not parse.
 */
export function lineOfPath(text: string, path: JsonPath): number | null {
  if (!parseJson(text).ok) return null;
  return positionOf(text, new Scanner(text).find(path)).line;
}

/** A small reader of valid JSON that only tracks offsets: it walks to a path, skipping every other value. */
class Scanner {
  private i = 0;
  constructor(private readonly text: string) {}

  find(path: JsonPath): number {
    this.space();
    let found = this.i;
    for (const step of path) {
      const inner = typeof step === 'number' ? this.toIndex(step) : this.toKey(step);
      if (inner === null) return found;
      found = inner;
    }
    return found;
  }

  /** In an array at `i`, moves to element `n`; null if there is none. */
  private toIndex(n: number): number | null {
    if (this.text[this.i] !== '[') return null;
    this.i++;
    for (let k = 0; ; k++) {
      this.space();
      if (this.text[this.i] === ']') return null;
      if (k === n) return this.i;
      this.skipValue();
      this.space();
      if (this.text[this.i] === ',') this.i++;
      else return null;
    }
  }

  /** In an object at `i`, moves to the value of `key`; null if there is none. */
  private toKey(key: string): number | null {
    if (this.text[this.i] !== '{') return null;
    this.i++;
    for (;;) {
      this.space();
      if (this.text[this.i] !== '"') return null;
      const keyAt = this.i;
      const name = JSON.parse(this.text.slice(keyAt, this.skipString())) as string;
      this.space();
      this.i++; // ':'
      this.space();
      if (name === key) return this.i;
      this.skipValue();
      this.space();
      if (this.text[this.i] === ',') this.i++;
      else return null;
    }
  }

  private space() {
    while (/\s/.test(this.text[this.i] ?? '')) this.i++;
  }

  /** Moves past the string at `i` and returns the offset after it. */
  private skipString(): number {
    this.i++;
    while (this.i < this.text.length && this.text[this.i] !== '"') this.i += this.text[this.i] === '\\' ? 2 : 1;
    return ++this.i;
  }

  private skipValue() {
    let depth = 0;
    do {
      const c = this.text[this.i];
      if (c === '"') {
        this.skipString();
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
      this.i++;
    } while (depth > 0 || !/[,\]}\s]/.test(this.text[this.i] ?? ','));
  }
}

/** JSON with two-space indentation and every object's keys sorted, as the hub stores configs. */
export const prettyJson = (value: unknown): string => JSON.stringify(sortKeys(value), null, 2);
