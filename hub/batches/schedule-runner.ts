// The `batch-schedules` job: every second, under the jobs' fleet lease, each enabled schedule's
// fire times since it last looked (checked_until) are either fired or recorded missed.
//
// A fire time is claimed by inserting its batch_schedule_fires row; UNIQUE(schedule_id, fire_at)
// lets only one insert through, so even two hubs ticking at once (a lease that lapsed mid-tick)
// never both create its batch. The row is written as failed ("the hub stopped…") and turned into
// `ran` with the batch id once the batch exists, so a hub that dies in between leaves the truth.
//
// A fire time that no hub reached within schedule_missed_after_s (every hub was down, say) is
// recorded `missed` and never run late: a restart at 09:00 does not run the 04:00 restart of
// sing-box. Each look that finds missed times writes one audit record (batch-schedule.missed) and
// a warning in the log, with how many and which.
import type { Knex } from 'knex';
import type { AppLogger } from '../../agent-core/common/logger.js';
import { recordAudit, type Actor } from '../audit.js';
import { Admin, BatchSchedule, iso } from '../db/models.js';
import { isUniqueViolation } from '../db/queries.js';
import { HubError } from '../errors.js';
import type { BatchCreator, BatchDeps, BatchSpec } from './index.js';
import { withCron } from './schedule-cron.js';

export const JOB = 'batch-schedules';
const FIRE_ACTION = 'batch-schedule.fire';
const MISSED_ACTION = 'batch-schedule.missed';
const JOB_ACTOR: Actor = { id: null, name: JOB };

/** How far back missed fire times are looked for after an outage: the walk costs some 30 ms a day. */
const LOOKBACK_MS = 7 * 24 * 3600_000;
/** Missed fire times recorded as rows per schedule and look (the newest); the audit record counts them all. */
const MISSED_ROWS = 100;
const INTERRUPTED = 'the hub stopped before it created the batch';
export const MISSED = 'no hub fired it within schedule_missed_after_s (every hub was down, say); not run late';

export interface ScheduleRunnerDeps {
  db: Knex;
  now(): number;
  logger: AppLogger;
  /** hub/batches' createBatch (a test's stand-in records instead). */
  createBatch(deps: BatchDeps, spec: BatchSpec, by: BatchCreator, origin: { schedule_id: number }): Promise<{ id: number }>;
  /** A fire time not reached within this many ms is missed, not run. */
  missedAfterMs: number;
}

export interface ScheduleTickResult {
  ran: number;
  failed: number;
  missed: number;
  /** Schedules whose look failed (logged; looked at again next tick). */
  errors: number;
}


export async function runSchedulesJob(deps: ScheduleRunnerDeps): Promise<ScheduleTickResult> {
  const result: ScheduleTickResult = { ran: 0, failed: 0, missed: 0, errors: 0 };
  const now = deps.now();
  for (const schedule of await BatchSchedule.query(deps.db).where({ enabled: true }).orderBy('id')) {
    try {
      await look(deps, schedule, now, result);
    } catch (error) {
      result.errors += 1;
      deps.logger.error('batch schedule failed', { schedule_id: schedule.id, error: (error as Error).message });
    }
  }
  return result;
}

/** Fire times in (checked_until, now]: those too old are missed, the others due now. */
function dueAndMissed(schedule: BatchSchedule, now: number, missedAfterMs: number) {
  const since = Number(schedule.checked_until);
  const from = Math.max(since, now - LOOKBACK_MS);
  const due: number[] = [];
  const missed = { count: 0, first: 0, newest: [] as number[], unexamined: from > since ? { after: since, before: from } : null };
  withCron(schedule.cron, schedule.timezone, (cron) => {
    for (const at of cron.fireTimes(from, now)) {
      if (now - at <= missedAfterMs) {
        due.push(at);
        continue;
      }
      if (missed.count === 0) missed.first = at;
      missed.count += 1;
      missed.newest.push(at);
      if (missed.newest.length > MISSED_ROWS) missed.newest.shift();
    }
  });
  return { due, missed };
}

async function look(deps: ScheduleRunnerDeps, schedule: BatchSchedule, now: number, result: ScheduleTickResult): Promise<void> {
  const { db } = deps;
  const { due, missed } = dueAndMissed(schedule, now, deps.missedAfterMs);
  if (missed.count > 0) {
    const rows = missed.newest.map((at) => ({ schedule_id: schedule.id, fire_at: at, status: 'missed', batch_id: null, error: MISSED, recorded_at: now }));
    await db('batch_schedule_fires').insert(rows).onConflict(['schedule_id', 'fire_at']).ignore();
    result.missed += missed.count;
    const last = missed.newest[missed.newest.length - 1]!;
    const unexamined = missed.unexamined ? `; ${iso(missed.unexamined.after)} to ${iso(missed.unexamined.before)} was not examined` : '';
    const message = `${missed.count} fire time(s) of schedule ${schedule.name} missed (no hub fired them in time), from ${iso(missed.first)} to ${iso(last)}; not run late${unexamined}`;
    deps.logger.warn('batch schedule missed', { schedule_id: schedule.id, missed: missed.count, first: iso(missed.first), last: iso(last) });
    await recordAudit(db, deps.logger, {
      actor: JOB_ACTOR,
      action: MISSED_ACTION,
      target: `batch-schedule:${schedule.id}`,
      input: { schedule: schedule.name, missed: missed.count, first: iso(missed.first), last: iso(last) },
      started: performance.now(),
      error: new HubError('HUB_ERR_GONE', message),
    });
  }
  for (const at of due) {
    // Paused, edited or deleted since this tick read it: the next tick looks again with what it is now.
    const current = await BatchSchedule.query(db).findById(schedule.id);
    if (!current?.enabled || Number(current.updated_at) !== Number(schedule.updated_at)) return;
    const outcome = await fire(deps, schedule, at, now);
    if (outcome !== 'taken') result[outcome] += 1;
  }
  // Only forward: a resume or a new cron that moved it past this tick's `now` stands.
  await db('batch_schedules').where({ id: schedule.id }).andWhere('checked_until', '<', now).update({ checked_until: now });
}

/** Claims the fire time (its row) and creates the batch; 'taken' when another hub claimed it first. */
async function fire(deps: ScheduleRunnerDeps, schedule: BatchSchedule, at: number, now: number): Promise<'ran' | 'failed' | 'taken'> {
  const { db } = deps;
  try {
    await db('batch_schedule_fires').insert({ schedule_id: schedule.id, fire_at: at, status: 'failed', batch_id: null, error: INTERRUPTED, recorded_at: now });
  } catch (error) {
    if (isUniqueViolation(error)) return 'taken';
    throw error;
  }
  await db('batch_schedules').where({ id: schedule.id }).update({ last_fire_at: at });
  const started = performance.now();
  const row = () => db('batch_schedule_fires').where({ schedule_id: schedule.id, fire_at: at });
  const audit = (actor: Actor, batchId: number | null, error?: unknown) =>
    recordAudit(db, deps.logger, { actor, action: FIRE_ACTION, target: `batch-schedule:${schedule.id}`, input: { schedule: schedule.name, fire_at: iso(at), batch_id: batchId }, started, error });
  let creator: BatchCreator | undefined;
  try {
    creator = await creatorOf(db, schedule);
    const batch = await deps.createBatch({ db, now: deps.now }, schedule.batch_spec as BatchSpec, creator, { schedule_id: schedule.id });
    await row().update({ status: 'ran', batch_id: batch.id, error: null });
    await audit(creator, batch.id);
    return 'ran';
  } catch (error) {
    const message = (error as Error).message.slice(0, 1000);
    await row().update({ error: message });
    deps.logger.warn('batch schedule fire failed', { schedule_id: schedule.id, fire_at: iso(at), error: message });
    await audit(creator ?? { id: schedule.created_by_id, name: schedule.created_by }, null, error);
    return 'failed';
  }
}

/** The admin the schedule runs as, with the role they have now; refused when they are gone or disabled. */
async function creatorOf(db: Knex, schedule: BatchSchedule): Promise<BatchCreator> {
  const admin = schedule.created_by_id === null ? undefined : await Admin.query(db).findById(schedule.created_by_id);
  if (!admin) throw new HubError('HUB_ERR_FORBIDDEN', `the schedule runs as ${schedule.created_by}, who no longer exists; set its batch again to run it as yourself`);
  if (admin.disabled) throw new HubError('HUB_ERR_FORBIDDEN', `the schedule runs as ${admin.username}, who is disabled; set its batch again to run it as yourself`);
  return { id: admin.id, name: admin.username, role: admin.role };
}
