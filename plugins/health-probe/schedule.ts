// The scheduled probes' clock and memory: one timer for every task, armed for the earliest one due
// (nothing runs, and nothing is allocated, between two due times), and a ring of fixed size per
// probe, so the history's memory is set at start and never grows.

/** The newest `capacity` items, oldest first. */
export class Ring<T> {
  private readonly slots: (T | undefined)[];
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
  }

  push(item: T): void {
    this.slots[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  latest(): T | undefined {
    return this.size === 0 ? undefined : this.slots[(this.next - 1 + this.capacity) % this.capacity];
  }

  /** The newest `limit` (default all), oldest first. */
  list(limit = this.size): T[] {
    const count = Math.min(limit, this.size);
    const out: T[] = [];
    for (let k = count; k > 0; k--) out.push(this.slots[(this.next - k + this.capacity) % this.capacity]!);
    return out;
  }
}

export interface Task {
  intervalMs: number;
  /** When it first runs, in ms since the epoch. */
  firstAt: number;
  run(): Promise<void>;
}

/** Runs each task every intervalMs from firstAt; a task still running when due again is skipped that time. */
export class Schedule {
  private readonly due: number[];
  private readonly running: boolean[];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly tasks: readonly Task[],
    private readonly onError: (error: Error) => void,
  ) {
    this.due = tasks.map((t) => t.firstAt);
    this.running = tasks.map(() => false);
  }

  start(): void {
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private arm(): void {
    if (this.stopped || this.tasks.length === 0) return;
    const next = Math.min(...this.due);
    // setTimeout takes at most 2^31-1 ms; a longer wait re-arms when it ends.
    this.timer = setTimeout(() => this.tick(), Math.min(Math.max(next - Date.now(), 0), 2 ** 31 - 1));
    this.timer.unref();
  }

  private tick(): void {
    const now = Date.now();
    this.tasks.forEach((task, i) => {
      if (this.due[i]! > now) return;
      // Late (a busy loop, a suspended machine): the next run is an interval from now, not a burst.
      const next = this.due[i]! + task.intervalMs;
      this.due[i] = next > now ? next : now + task.intervalMs;
      if (this.running[i]) return;
      this.running[i] = true;
      task
        .run()
        .catch(this.onError)
        .finally(() => (this.running[i] = false));
    });
    this.arm();
  }
}
