// How deeply JSON may nest, for the hub's request bodies and the agent's command input. Validators,
// clones and serialisers recurse, so a value nested thousands deep overflows the stack inside them;
// these checks walk iteratively and refuse such input before anything recursive sees it.

/** Far more than any config or command needs (a sing-box config nests about 10 levels). */
export const MAX_JSON_DEPTH = 64;

/** True when the JSON text opens more than `limit` arrays/objects inside each other; reads it once, without parsing. */
export function textNestsDeeper(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** True when `value` holds arrays/objects more than `limit` levels deep (a cycle counts as too deep). */
export function valueNestsDeeper(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}
