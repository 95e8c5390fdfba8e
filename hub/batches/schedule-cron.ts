// A schedule's cron expression in its time zone, read by node-cron: the fields it checks (5 of
// them, or 6 with seconds first), and which instants match. node-cron answers the next fire times
// from now but not those between two past instants, which the hub needs to find what it missed
// while no hub ran; those come from node-cron's own matcher walked over the span (see fireTimes).
import cron, { type ScheduledTask } from 'node-cron';
import { HubError } from '../errors.js';

/** node-cron's names of the fields, as an admin reads them in a message. */
const FIELD_NAMES: Record<string, string> = {
  expression: 'expression',
  second: 'second',
  minute: 'minute',
  hour: 'hour',
  dayOfMonth: 'day of month',
  month: 'month',
  dayOfWeek: 'day of week',
};

const MINUTE_MS = 60_000;

/** Throws HUB_ERR_BAD_REQUEST naming `field` and the cron field that is wrong. */
export function checkCron(expression: string, field: string): void {
  const { valid, errors } = cron.validateDetailed(expression);
  if (valid) return;
  const problems = errors.map((e) => (e.field === 'expression' ? e.message : `${FIELD_NAMES[e.field] ?? e.field} field: ${e.message}`));
  throw new HubError(
    'HUB_ERR_BAD_REQUEST',
    `${field}: ${problems.join('; ')} (5 fields: minute hour day-of-month month day-of-week, or 6 with seconds first)`,
  );
}

/** The IANA name as Intl spells it (`asia/shanghai` → `Asia/Shanghai`); HUB_ERR_BAD_REQUEST naming `field` for an unknown one. */
export function canonicalTimeZone(timeZone: string, field: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    throw new HubError('HUB_ERR_BAD_REQUEST', `${field}: unknown time zone ${JSON.stringify(timeZone)} (an IANA name such as Asia/Shanghai or UTC)`);
  }
}

/**
 * Runs `use` with node-cron's reading of a checked expression in a time zone. node-cron keeps every
 * task it creates in a registry until destroyed; this one is never started and is destroyed after.
 */
export function withCron<T>(expression: string, timeZone: string, use: (schedule: CronSchedule) => T): T {
  const task = cron.createTask(expression, () => undefined, { timezone: timeZone });
  try {
    // node-cron lists the second field's values in the order written ("30,10").
    const seconds = [...cron.parse(expression).second].sort((a, b) => a - b);
    return use(new CronSchedule(task, seconds));
  } finally {
    void task.destroy();
  }
}

export class CronSchedule {
  constructor(
    private readonly task: ScheduledTask,
    private readonly seconds: readonly number[],
  ) {}

  /** The next fire time after now, in ms. */
  next(): number {
    return this.task.getNextRuns(1)[0]!.getTime();
  }

  /**
   * The fire times in (after, until], ascending, in ms. Walked a minute at a time: a minute
   * matches at its first listed second exactly when it matches at every listed second (the other
   * fields do not depend on the second), so one node-cron match per minute finds them all, some
   * 30 ms per day of span. UTC minutes are the zone's minutes, as every zone's offset is whole minutes.
   */
  *fireTimes(after: number, until: number): Generator<number> {
    for (let minute = Math.floor(after / MINUTE_MS) * MINUTE_MS; minute <= until; minute += MINUTE_MS) {
      if (!this.task.match(new Date(minute + this.seconds[0]! * 1000))) continue;
      for (const second of this.seconds) {
        const at = minute + second * 1000;
        if (at > after && at <= until) yield at;
      }
    }
  }
}
