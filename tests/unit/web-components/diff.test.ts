import { describe, expect, it } from 'vitest';
import { diffLines, hunks, type DiffLine } from '../../../web-components/src/ui/diff.js';

/** The diff as `diff -u` body lines, for readable expectations. */
const unified = (lines: DiffLine[]) => lines.map((l) => `${l.kind === 'added' ? '+' : l.kind === 'removed' ? '-' : ' '}${l.text}`);

/** Applying the diff's kept and added lines must give the new text, its kept and removed the old. */
function sides(lines: DiffLine[]) {
  return {
    old: lines.filter((l) => l.kind !== 'added').map((l) => l.text).join('\n'),
    new: lines.filter((l) => l.kind !== 'removed').map((l) => l.text).join('\n'),
  };
}

/** The length of a longest common subsequence, by dynamic programming. */
function lcs(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diagonal = 0;
    b.forEach((y, j) => {
      const above = row[j + 1]!;
      row[j + 1] = x === y ? diagonal + 1 : Math.max(above, row[j]!);
      diagonal = above;
    });
  }
  return row[b.length]!;
}

describe('line diff', () => {
  it('marks a changed line as removed then added, keeping the rest', () => {
    const lines = diffLines('a\nb\nc', 'a\nB\nc');
    expect(unified(lines)).toEqual([' a', '-b', '+B', ' c']);
    expect(lines.map((l) => [l.oldLine, l.newLine])).toEqual([[1, 1], [2, undefined], [undefined, 2], [3, 3]]);
  });

  it('handles insertions and deletions at either end, and empty texts', () => {
    expect(unified(diffLines('b\nc', 'a\nb\nc\nd'))).toEqual(['+a', ' b', ' c', '+d']);
    expect(unified(diffLines('a\nb\nc', 'b'))).toEqual(['-a', ' b', '-c']);
    expect(unified(diffLines('same', 'same'))).toEqual([' same']);
    expect(unified(diffLines('', 'x'))).toEqual(['-', '+x']);
  });

  it('reproduces both texts for random edits, with a minimal number of changes', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const a = Array.from({ length: Math.floor(random() * 30) }, () => String(Math.floor(random() * 6)));
      const b = a.filter(() => random() > 0.2).flatMap((x) => (random() > 0.8 ? [x, String(Math.floor(random() * 6))] : [x]));
      const lines = diffLines(a.join('\n'), b.join('\n'));
      expect(sides(lines)).toEqual({ old: a.join('\n'), new: b.join('\n') });
      // Minimal: the lines kept are a longest common subsequence.
      expect(lines.filter((l) => l.kind === 'same').length).toBe(lcs(a.join('\n').split('\n'), b.join('\n').split('\n')));
    }
  });
});

describe('hunks', () => {
  const old = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);

  it('shows each change with three lines of context and the line numbers of both sides', () => {
    const changed = [...old];
    changed[1] = 'LINE 2';
    changed.splice(15, 1);
    const result = hunks(diffLines(old.join('\n'), changed.join('\n')));
    expect(result).toHaveLength(2);
    expect(result[0]).toMatchObject({ oldStart: 1, newStart: 1 });
    expect(unified(result[0]!.lines)).toEqual([' line 1', '-line 2', '+LINE 2', ' line 3', ' line 4', ' line 5']);
    expect(result[1]).toMatchObject({ oldStart: 13, newStart: 13 });
    expect(unified(result[1]!.lines)).toEqual([' line 13', ' line 14', ' line 15', '-line 16', ' line 17', ' line 18', ' line 19']);
  });

  it('joins changes whose context touches, and gives none for equal texts', () => {
    const changed = [...old];
    changed[4] = 'x';
    changed[10] = 'y';
    expect(hunks(diffLines(old.join('\n'), changed.join('\n')))).toHaveLength(1);
    expect(hunks(diffLines(old.join('\n'), old.join('\n')))).toEqual([]);
  });
});
