// A line diff of two texts (Myers' O(ND) algorithm) and its hunks with a few lines of context,
// as `diff -u` shows them: what the config editor shows between two versions.

export interface DiffLine {
  kind: 'same' | 'added' | 'removed';
  text: string;
  /** 1-based line in the old text (same, removed) and in the new one (same, added). */
  oldLine?: number;
  newLine?: number;
}

export interface Hunk {
  oldStart: number;
  newStart: number;
  lines: DiffLine[];
}

/** Every line of both texts, in order, each marked same, added or removed. */
export function diffLines(oldText: string, newText: string): DiffLine[] {
  const a = oldText.split('\n');
  const b = newText.split('\n');
  const max = a.length + b.length;
  const v = new Map<number, number>([[1, 0]]);
  const trace: Map<number, number>[] = [];
  search: for (let d = 0; d <= max; d++) {
    trace.push(new Map(v));
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && v.get(k - 1)! < v.get(k + 1)!);
      let x = down ? v.get(k + 1)! : v.get(k - 1)! + 1;
      let y = x - k;
      while (x < a.length && y < b.length && a[x] === b[y]) x++, y++;
      v.set(k, x);
      if (x >= a.length && y >= b.length) break search;
    }
  }
  // Walk the trace back from the end, collecting the edit script in reverse.
  const out: DiffLine[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const down = k === -d || (k !== d && vd.get(k - 1)! < vd.get(k + 1)!);
    const prevK = down ? k + 1 : k - 1;
    const prevX = vd.get(prevK)!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) out.push({ kind: 'same', text: a[--x]!, oldLine: x + 1, newLine: y-- });
    if (d === 0) break;
    if (down) out.push({ kind: 'added', text: b[--y]!, newLine: y + 1 });
    else out.push({ kind: 'removed', text: a[--x]!, oldLine: x + 1 });
  }
  return out.reverse();
}

/** The changed parts with `context` unchanged lines around each; none when the texts are equal. */
export function hunks(lines: DiffLine[], context = 3): Hunk[] {
  const changed = lines.flatMap((line, i) => (line.kind === 'same' ? [] : [i]));
  const shown = new Set(changed.flatMap((i) => Array.from({ length: 2 * context + 1 }, (_, j) => i - context + j)));
  const result: Hunk[] = [];
  // The line each side is at, counted as we go, so a hunk that starts with an added or removed line
  // still knows where it is in both texts.
  let oldLine = 1;
  let newLine = 1;
  let current: Hunk | null = null;
  lines.forEach((line, i) => {
    if (shown.has(i)) {
      if (!current) result.push((current = { oldStart: oldLine, newStart: newLine, lines: [] }));
      current.lines.push(line);
    } else {
      current = null;
    }
    if (line.kind !== 'added') oldLine++;
    if (line.kind !== 'removed') newLine++;
  });
  return result;
}
