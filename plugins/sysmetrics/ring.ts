// A fixed-size ring of numeric samples, one Float64Array column per field, allocated once: the
// history's memory is known at start and never grows (null is stored as NaN).
export class SampleRing<Field extends string> {
  private readonly times: Float64Array;
  private readonly columns: Float64Array[];
  private next = 0;
  private size = 0;

  constructor(
    readonly fields: readonly Field[],
    readonly capacity: number,
  ) {
    this.times = new Float64Array(capacity);
    this.columns = fields.map(() => new Float64Array(capacity));
  }

  get length(): number {
    return this.size;
  }

  push(time: number, values: Record<Field, number | null>): void {
    this.times[this.next] = time;
    this.fields.forEach((field, k) => (this.columns[k]![this.next] = values[field] ?? Number.NaN));
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  /** Samples with from ≤ time ≤ to, oldest first. */
  range(from = -Infinity, to = Infinity): { time: number; values: Record<Field, number | null> }[] {
    const out: { time: number; values: Record<Field, number | null> }[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let k = 0; k < this.size; k++) {
      const i = (start + k) % this.capacity;
      const time = this.times[i]!;
      if (time >= from && time <= to) out.push(this.at(i));
    }
    return out;
  }

  latest(): { time: number; values: Record<Field, number | null> } | undefined {
    return this.size === 0 ? undefined : this.at((this.next - 1 + this.capacity) % this.capacity);
  }

  private at(i: number): { time: number; values: Record<Field, number | null> } {
    const values = {} as Record<Field, number | null>;
    this.fields.forEach((field, c) => {
      const v = this.columns[c]![i]!;
      values[field] = Number.isNaN(v) ? null : v;
    });
    return { time: this.times[i]!, values };
  }
}
